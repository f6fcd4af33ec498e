-- Users, the two kinds of reviewable item, and the one row of pending counters.
-- Instants are Unix milliseconds; they are shown in the kitchen's time zone by the server.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('HEAD_CHEF', 'SOUS_CHEF', 'LINE_COOK', 'PREP_COOK')),
    password_hash TEXT    NOT NULL
);

CREATE TABLE ingredient_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    item_name    TEXT    NOT NULL,
    quantity     REAL    NOT NULL,
    unit         TEXT    NOT NULL,
    note         TEXT,
    status       TEXT    NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    requested_by INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    reviewed_by  INTEGER REFERENCES users (id),
    reviewed_at  INTEGER,
    review_note  TEXT
);
CREATE INDEX ingredient_requests_by_status ON ingredient_requests (status, id);
CREATE INDEX ingredient_requests_by_requester ON ingredient_requests (requested_by, id);

CREATE TABLE dish_suggestions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    requested_by INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    reviewed_by  INTEGER REFERENCES users (id),
    reviewed_at  INTEGER,
    review_note  TEXT
);
CREATE INDEX dish_suggestions_by_status ON dish_suggestions (status, id);
CREATE INDEX dish_suggestions_by_requester ON dish_suggestions (requested_by, id);

-- One row: the snapshot reads it in O(1), and every write bumps it in the item's transaction,
-- which also serializes the writers so that seq order is commit order.
CREATE TABLE pending_counters (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    seq                 INTEGER NOT NULL,
    ingredient_requests INTEGER NOT NULL CHECK (ingredient_requests >= 0),
    dish_suggestions    INTEGER NOT NULL CHECK (dish_suggestions >= 0)
);
INSERT INTO pending_counters (id, seq, ingredient_requests, dish_suggestions) VALUES (1, 0, 0, 0);

-- Several kitchens in one database (API.md section 9): every user and item belongs to one,
-- and each kitchen has its own pending counts and `seq` in a counter row of its own, so that
-- writers in different kitchens never wait for one row.

CREATE TABLE kitchens (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    -- An IANA zone name; NULL means the deployment's MISEOS_TIMEZONE.
    time_zone  TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE kitchen_counters (
    kitchen_id          INTEGER PRIMARY KEY REFERENCES kitchens (id),
    seq                 INTEGER NOT NULL,
    ingredient_requests INTEGER NOT NULL CHECK (ingredient_requests >= 0),
    dish_suggestions    INTEGER NOT NULL CHECK (dish_suggestions >= 0)
);

-- A database made before kitchens existed becomes kitchen 1, with its counts and seq. A
-- database of the demo users keeps the demo kitchen's name. An empty database gets no
-- kitchen: the demo seeding or `server kitchen add` makes the first.
INSERT INTO kitchens (id, name, time_zone, created_at)
SELECT 1,
       CASE WHEN EXISTS (SELECT 1 FROM users WHERE email = 'gordon@miseos.dk') THEN 'MiseOS Test Kitchen' ELSE 'Kitchen' END,
       NULL,
       CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE EXISTS (SELECT 1 FROM users);
INSERT INTO kitchen_counters (kitchen_id, seq, ingredient_requests, dish_suggestions)
SELECT 1, seq, ingredient_requests, dish_suggestions FROM pending_counters WHERE EXISTS (SELECT 1 FROM kitchens);
DROP TABLE pending_counters;

-- SQLite cannot make an added column NOT NULL: the triggers below refuse a row without a
-- kitchen instead.
ALTER TABLE users ADD COLUMN kitchen_id INTEGER REFERENCES kitchens (id);
ALTER TABLE ingredient_requests ADD COLUMN kitchen_id INTEGER REFERENCES kitchens (id);
ALTER TABLE dish_suggestions ADD COLUMN kitchen_id INTEGER REFERENCES kitchens (id);
UPDATE users SET kitchen_id = 1;
UPDATE ingredient_requests SET kitchen_id = 1;
UPDATE dish_suggestions SET kitchen_id = 1;

CREATE TRIGGER users_have_a_kitchen BEFORE INSERT ON users WHEN NEW.kitchen_id IS NULL
BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: users.kitchen_id'); END;
CREATE TRIGGER users_keep_their_kitchen BEFORE UPDATE OF kitchen_id ON users
BEGIN SELECT RAISE(ABORT, 'users.kitchen_id cannot change'); END;
CREATE TRIGGER ingredient_requests_have_a_kitchen BEFORE INSERT ON ingredient_requests WHEN NEW.kitchen_id IS NULL
BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: ingredient_requests.kitchen_id'); END;
CREATE TRIGGER dish_suggestions_have_a_kitchen BEFORE INSERT ON dish_suggestions WHEN NEW.kitchen_id IS NULL
BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: dish_suggestions.kitchen_id'); END;

-- Every list is one kitchen's: by status (the dashboard) and newest first (history).
DROP INDEX ingredient_requests_by_status;
DROP INDEX dish_suggestions_by_status;
CREATE INDEX ingredient_requests_by_kitchen_status ON ingredient_requests (kitchen_id, status, id);
CREATE INDEX ingredient_requests_by_kitchen ON ingredient_requests (kitchen_id, id);
CREATE INDEX dish_suggestions_by_kitchen_status ON dish_suggestions (kitchen_id, status, id);
CREATE INDEX dish_suggestions_by_kitchen ON dish_suggestions (kitchen_id, id);
CREATE INDEX users_by_kitchen ON users (kitchen_id);

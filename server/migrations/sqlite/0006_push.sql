-- Web Push (API.md section 10): the deployment's VAPID key, the browsers' subscriptions, and
-- the outbox of what leaves the server, written in the transaction of the change it tells of.

-- One key for every process: made by the first to start, replaced by `server push rotate-key`.
CREATE TABLE push_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    -- base64url (no padding) of the P-256 private scalar (32 bytes) and of the public point
    -- (65 bytes, uncompressed): the applicationServerKey pages subscribe with.
    private_key TEXT    NOT NULL,
    public_key  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- A browser's PushSubscription, bound to the sign-in that made it: it goes when that ends.
CREATE TABLE push_subscriptions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    session_id TEXT    NOT NULL REFERENCES sessions (id),
    endpoint   TEXT    NOT NULL UNIQUE,
    p256dh     TEXT    NOT NULL,
    auth       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id);
CREATE INDEX push_subscriptions_by_session ON push_subscriptions (session_id);

-- What is still to leave the server. `due_at` is when the next attempt may start; a process
-- that takes a row moves it to the end of its lease, so a process that dies mid-send leaves
-- the row to be taken again when the lease ends. Unix milliseconds of the database's clock.
CREATE TABLE outbox (
    id                   INTEGER PRIMARY KEY,
    push_subscription_id INTEGER REFERENCES push_subscriptions (id) ON DELETE CASCADE,
    payload              TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    due_at               INTEGER NOT NULL,
    attempts             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_by_due ON outbox (due_at);
CREATE INDEX outbox_by_push_subscription ON outbox (push_subscription_id);

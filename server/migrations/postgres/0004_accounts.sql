-- Accounts a kitchen runs itself: users can be disabled and made to change a temporary
-- password; every sign-in is a server-side session that can be ended; failed sign-ins are
-- remembered for throttling, shared by every process. Flags are 0/1 integers so both
-- databases read them alike.

ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1));

-- New users get the next id; the demo users keep theirs (the seeding moves the sequence past them).
CREATE SEQUENCE users_id_seq OWNED BY users.id;
SELECT setval('users_id_seq', COALESCE((SELECT MAX(id) FROM users), 0) + 1, false);
ALTER TABLE users ALTER COLUMN id SET DEFAULT nextval('users_id_seq');

CREATE TABLE sessions (
    id           TEXT   PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ended_at     BIGINT,
    end_reason   TEXT CHECK (end_reason IN ('signed_out', 'account_disabled', 'revoked', 'expired'))
);
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_by_end ON sessions (ended_at) WHERE ended_at IS NOT NULL;

-- One row per failed sign-in and key ('email:…' or 'address:…'), kept for 15 minutes.
CREATE TABLE sign_in_failures (
    key TEXT   NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key, at);

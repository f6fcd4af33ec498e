-- Idempotent submissions (API.md section 11): a create or review sent again with the same
-- Idempotency-Key is answered what the first was, for 24 hours, per user.
CREATE TABLE idempotency_keys (
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    key         TEXT    NOT NULL,
    -- SHA-256 (hex) of the method, the path and the body as parsed: the same key with another
    -- request is refused.
    fingerprint TEXT    NOT NULL,
    -- NULL while the first request is being handled; then its answer, written in the
    -- transaction of the change it answers.
    status      BIGINT,
    body        TEXT,
    -- Unix milliseconds of the database's clock: when it was first seen, or taken over.
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

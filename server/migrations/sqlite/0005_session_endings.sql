-- Session endings ordered by the database, not by a process's clock: every transaction that
-- ends sessions takes the next number of one counter row (locked until it commits, so the
-- numbers commit in order) and stamps it on the sessions it ends. A process reads the
-- endings after the last number it has seen, whatever the clocks of the processes say.
-- The end reasons are stored as the contract spells them (the 1008 close reason).

CREATE TABLE session_ending_counter (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO session_ending_counter (id, seq) VALUES (1, 0);

CREATE TABLE sessions_renewed (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ended_at     INTEGER,
    end_reason   TEXT CHECK (end_reason IN ('signed out', 'account disabled', 'session revoked', 'session expired')),
    ended_seq    INTEGER
);
INSERT INTO sessions_renewed (id, user_id, created_at, last_seen_at, ended_at, end_reason, ended_seq)
SELECT id, user_id, created_at, last_seen_at, ended_at,
       CASE end_reason
           WHEN 'signed_out' THEN 'signed out'
           WHEN 'account_disabled' THEN 'account disabled'
           WHEN 'revoked' THEN 'session revoked'
           WHEN 'expired' THEN 'session expired'
       END,
       NULL
FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_renewed RENAME TO sessions;
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_by_ending ON sessions (ended_seq) WHERE ended_seq IS NOT NULL;

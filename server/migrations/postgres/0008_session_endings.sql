-- Session endings ordered by the database, not by a process's clock: every transaction that
-- ends sessions takes the next number of one counter row (locked until it commits, so the
-- numbers commit in order) and stamps it on the sessions it ends. A process reads the
-- endings after the last number it has seen, whatever the clocks of the processes say.
-- The end reasons are stored as the contract spells them (the 1008 close reason).

CREATE TABLE session_ending_counter (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT  NOT NULL
);
INSERT INTO session_ending_counter (id, seq) VALUES (1, 0);

ALTER TABLE sessions DROP CONSTRAINT sessions_end_reason_check;
UPDATE sessions SET end_reason = CASE end_reason
    WHEN 'signed_out' THEN 'signed out'
    WHEN 'account_disabled' THEN 'account disabled'
    WHEN 'revoked' THEN 'session revoked'
    WHEN 'expired' THEN 'session expired'
END
WHERE end_reason IS NOT NULL;
ALTER TABLE sessions ADD CONSTRAINT sessions_end_reason_check
    CHECK (end_reason IN ('signed out', 'account disabled', 'session revoked', 'session expired'));
ALTER TABLE sessions ADD COLUMN ended_seq BIGINT;
DROP INDEX sessions_by_end;
CREATE INDEX sessions_by_ending ON sessions (ended_seq) WHERE ended_seq IS NOT NULL;

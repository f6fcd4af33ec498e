-- Committed events, kept for a few minutes: a NOTIFY carries only an event's seq (or a user
-- id), and every process reads what happened from here. Any database role may NOTIFY; only
-- the server's role can write this table, so a forged notification can name an event but
-- never invent one (a huge seq, a fake item, a fake session claim).
CREATE TABLE event_log (
    seq          BIGINT PRIMARY KEY,
    payload      TEXT   NOT NULL,
    committed_at BIGINT NOT NULL
);
CREATE INDEX event_log_by_time ON event_log (committed_at);

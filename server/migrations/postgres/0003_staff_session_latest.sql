-- The newest STAFF session claim per user, so that a process that was cut off from
-- LISTEN/NOTIFY can learn, when it reconnects, which of its sessions were replaced meanwhile.
CREATE TABLE staff_session_latest (
    user_id BIGINT PRIMARY KEY,
    claim   BIGINT NOT NULL
);

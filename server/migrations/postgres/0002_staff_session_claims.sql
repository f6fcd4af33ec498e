-- Orders STAFF WebSocket sessions of one user across server processes: the newest claim wins.
CREATE SEQUENCE staff_session_claims;

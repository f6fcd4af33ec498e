-- Webhooks (API.md section 14): a kitchen's receivers, the log of deliveries made to them, and
-- each pending delivery's place in the one outbox of what leaves the server.
CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kitchen_id    INTEGER NOT NULL REFERENCES kitchens (id),
    url           TEXT    NOT NULL,
    -- The events it takes, each between spaces (' item.approved item.rejected '), so that
    -- one LIKE finds the webhooks of an event.
    events        TEXT    NOT NULL,
    -- The signing secret, sealed (AES-256-GCM) with a key derived from the server's secret,
    -- which is not in the database: a dump alone cannot sign a delivery.
    sealed_secret TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX webhooks_by_kitchen ON webhooks (kitchen_id);
-- How many webhooks each kitchen has, on the row every item write updates anyway: a write of
-- a kitchen without webhooks learns it for free and records no delivery.
ALTER TABLE kitchen_counters ADD COLUMN webhooks INTEGER NOT NULL DEFAULT 0 CHECK (webhooks >= 0);

-- One row per event and webhook: what the head chef's deliveries log shows.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- The last answer's status code; NULL when none came (refused, timed out).
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;

-- A webhook's rows leave in id order, one at a time (commit order per webhook: see
-- store/webhooks.rs); the index finds each webhook's first.
ALTER TABLE outbox ADD COLUMN webhook_id INTEGER REFERENCES webhooks (id) ON DELETE CASCADE;
ALTER TABLE outbox ADD COLUMN webhook_delivery_id INTEGER REFERENCES webhook_deliveries (id) ON DELETE CASCADE;
CREATE INDEX outbox_by_webhook ON outbox (webhook_id, id) WHERE webhook_id IS NOT NULL;

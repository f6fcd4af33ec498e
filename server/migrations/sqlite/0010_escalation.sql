-- Escalation (API.md section 12): when an item still PENDING was announced as waiting too
-- long. Set by the one write that claims it, so every process and every restart sees it
-- claimed and it is announced once. The partial indexes hold only the items that may still
-- be escalated: the escalator's look costs what is waiting, not the history.
ALTER TABLE ingredient_requests ADD COLUMN escalated_at INTEGER;
ALTER TABLE dish_suggestions ADD COLUMN escalated_at INTEGER;
CREATE INDEX ingredient_requests_to_escalate ON ingredient_requests (created_at)
    WHERE status = 'PENDING' AND escalated_at IS NULL;
CREATE INDEX dish_suggestions_to_escalate ON dish_suggestions (created_at)
    WHERE status = 'PENDING' AND escalated_at IS NULL;

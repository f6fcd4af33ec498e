-- A kitchen's own settings (API.md section 12): the waiting-time colours and when a pending
-- item is escalated. NULL follows the deployment's variables (MISEOS_WAITING_AMBER_MINUTES,
-- MISEOS_WAITING_RED_MINUTES, MISEOS_ESCALATE_AFTER_MINUTES), as every kitchen made before
-- now does until its head chef changes it; a new kitchen gets their values written in.
ALTER TABLE kitchens ADD COLUMN amber_minutes INTEGER;
ALTER TABLE kitchens ADD COLUMN red_minutes INTEGER;
ALTER TABLE kitchens ADD COLUMN escalate_after_minutes INTEGER;
-- Every change takes the next version (the row is locked until it commits), so a process
-- keeps the newest settings whatever order it hears of them in.
ALTER TABLE kitchens ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 0;

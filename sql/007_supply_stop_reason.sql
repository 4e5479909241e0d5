-- Why central asked the engine to stop a supply (issue 21): a supply still
-- STOPPING when central restarts keeps the reason its ticket will carry, and
-- its STOP is sent again from it.
ALTER TABLE supplies ADD COLUMN stop_reason TEXT;

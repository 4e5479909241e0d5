-- Rows Postgres refused for what they hold (a constraint, bad data), set aside
-- so that one bad row never stops a writer: central's journal and every
-- service's audit sink split a refused batch until the bad row is alone, then
-- keep it here with the error, write everything else, and audit the quarantine
-- (category ERROR, action write_quarantined). An operator reads them with
-- ListAuditEvents (category ERROR) or in this table.
CREATE TABLE journal_quarantine (
  id BIGSERIAL PRIMARY KEY,
  at TIMESTAMPTZ NOT NULL DEFAULT now(),
  service TEXT NOT NULL,
  kind TEXT NOT NULL,
  cp_id TEXT NOT NULL DEFAULT '',
  payload JSONB NOT NULL,
  error TEXT NOT NULL
);
CREATE INDEX journal_quarantine_at ON journal_quarantine (at);

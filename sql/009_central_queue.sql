-- Queues at busy locations (issue 20): one row per queued driver, written
-- through central's journal like the rest of its state and restored when
-- central starts (or a replica takes over). A location is a site (city and
-- address) or a whole city (address ''). offered_cp: the freed CP held for
-- the driver until offer_expires_at ('' while waiting).
CREATE TABLE central_queue (
  driver_id TEXT PRIMARY KEY,
  city TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  joined_at TIMESTAMPTZ NOT NULL,
  requested_energy_wh BIGINT NOT NULL DEFAULT 0 CHECK (requested_energy_wh >= 0),
  offered_cp TEXT NOT NULL DEFAULT '',
  offer_expires_at TIMESTAMPTZ,
  CHECK ((offered_cp = '') = (offer_expires_at IS NULL))
);
CREATE INDEX central_queue_city ON central_queue (city, joined_at);

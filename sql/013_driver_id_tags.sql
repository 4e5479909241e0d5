-- RFID tags (OCPP idTag) a driver registered on their account: a charge
-- started with the tag at a CP is charged to them. A tag belongs to one
-- account; tags are kept in upper case (OCPP compares idTags
-- case-insensitively).
CREATE TABLE driver_id_tags (
  id_tag TEXT PRIMARY KEY CHECK (id_tag = upper(id_tag) AND length(id_tag) BETWEEN 1 AND 20),
  driver_id TEXT NOT NULL REFERENCES drivers (driver_id) ON DELETE CASCADE,
  added_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX driver_id_tags_driver ON driver_id_tags (driver_id);

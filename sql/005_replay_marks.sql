-- Central's replay high-water marks: per charging point, the largest counter
-- of a sealed engine->central envelope whose effects are durable, and the
-- Kafka position of that envelope. Loaded at start so an envelope captured
-- before a restart stays refused (issue 15, point 8).
CREATE TABLE replay_marks (
  cp_id TEXT PRIMARY KEY,
  -- uint64 counters (microseconds since the epoch, bumped).
  counter NUMERIC(20, 0) NOT NULL CHECK (counter >= 0),
  kafka_partition INTEGER NOT NULL,
  kafka_offset BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Core schema: charging points and their credentials (registry), drivers
-- (registry), CP tokens and keys (auth), supplies, telemetry and tickets
-- (central), audit events (every service).

CREATE TABLE charging_points (
  cp_id TEXT PRIMARY KEY CHECK (cp_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  address TEXT NOT NULL,
  city TEXT NOT NULL,
  country TEXT NOT NULL,
  price_millieuros_per_kwh BIGINT NOT NULL CHECK (price_millieuros_per_kwh > 0),
  max_power_w BIGINT NOT NULL CHECK (max_power_w > 0),
  registered_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX charging_points_city ON charging_points (lower(city));

-- Only a slow (scrypt) hash of each CP secret is kept.
CREATE TABLE cp_credentials (
  cp_id TEXT PRIMARY KEY REFERENCES charging_points (cp_id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,
  issued_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE drivers (
  driver_id TEXT PRIMARY KEY CHECK (driver_id ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
  name TEXT NOT NULL,
  email TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE cp_keys (
  key_id TEXT PRIMARY KEY,
  cp_id TEXT NOT NULL,
  key BYTEA NOT NULL CHECK (length(key) = 32),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at TIMESTAMPTZ
);
CREATE INDEX cp_keys_cp ON cp_keys (cp_id) WHERE revoked_at IS NULL;

-- Tokens are stored as SHA-256 of the token: a leaked table grants nothing.
CREATE TABLE cp_tokens (
  token_sha256 BYTEA PRIMARY KEY,
  cp_id TEXT NOT NULL,
  key_id TEXT NOT NULL REFERENCES cp_keys (key_id),
  issued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ
);
CREATE INDEX cp_tokens_cp ON cp_tokens (cp_id) WHERE revoked_at IS NULL;

CREATE TABLE supplies (
  supply_id TEXT PRIMARY KEY,
  cp_id TEXT NOT NULL,
  driver_id TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL DEFAULT '',
  price_millieuros_per_kwh BIGINT NOT NULL,
  phase TEXT NOT NULL,
  authorized_at TIMESTAMPTZ NOT NULL,
  started_at TIMESTAMPTZ,
  ended_at TIMESTAMPTZ,
  energy_wh BIGINT NOT NULL DEFAULT 0,
  power_w BIGINT NOT NULL DEFAULT 0,
  last_seq BIGINT NOT NULL DEFAULT 0,
  end_reason TEXT
);
-- At most one open supply per charging point, whatever happens in memory.
CREATE UNIQUE INDEX supplies_one_open_per_cp ON supplies (cp_id) WHERE ended_at IS NULL;
CREATE INDEX supplies_driver ON supplies (driver_id, authorized_at DESC);

-- Telemetry is sampled into this table in batches (one multi-row INSERT per
-- flush), never one statement per Kafka message.
CREATE TABLE supply_telemetry (
  supply_id TEXT NOT NULL REFERENCES supplies (supply_id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  energy_wh BIGINT NOT NULL,
  power_w BIGINT NOT NULL,
  PRIMARY KEY (supply_id, seq)
);

-- One ticket per supply (the primary key makes a second one impossible).
-- published_at is the outbox mark: a ticket is sent to the driver after it is
-- stored, and re-sent after a crash until marked.
CREATE TABLE tickets (
  supply_id TEXT PRIMARY KEY REFERENCES supplies (supply_id),
  cp_id TEXT NOT NULL,
  driver_id TEXT NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  ended_at TIMESTAMPTZ NOT NULL,
  energy_wh BIGINT NOT NULL,
  amount_millieuros BIGINT NOT NULL,
  price_millieuros_per_kwh BIGINT NOT NULL,
  end_reason TEXT NOT NULL,
  published_at TIMESTAMPTZ
);
CREATE INDEX tickets_driver ON tickets (driver_id, ended_at DESC);
CREATE INDEX tickets_unpublished ON tickets (ended_at) WHERE published_at IS NULL;

CREATE TABLE audit_events (
  id BIGSERIAL PRIMARY KEY,
  at TIMESTAMPTZ NOT NULL DEFAULT now(),
  category TEXT NOT NULL CHECK (category IN
    ('AUTH', 'CHARGE', 'INCIDENT', 'STATUS', 'ERROR', 'SECURITY', 'SYSTEM')),
  action TEXT NOT NULL,
  actor TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT '',
  cp_id TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL DEFAULT 'OK',
  details JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_cp ON audit_events (cp_id, at);

-- Holds of charging points (central) and the weather service's state.

-- Why a CP is out of service, one row per reason in force (operator stop,
-- weather alert), so holds survive a restart of central.
CREATE TABLE cp_holds (
  cp_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  since TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (cp_id, reason)
);

-- Every reading of every watched city, written in batches (one statement per
-- polling round).
CREATE TABLE weather_readings (
  id BIGSERIAL PRIMARY KEY,
  city TEXT NOT NULL,
  country TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  temperature_c DOUBLE PRECISION NOT NULL,
  feels_like_c DOUBLE PRECISION NOT NULL,
  humidity_pct DOUBLE PRECISION NOT NULL,
  wind_mps DOUBLE PRECISION NOT NULL,
  conditions TEXT NOT NULL DEFAULT '',
  provider TEXT NOT NULL
);
CREATE INDEX weather_readings_city ON weather_readings (lower(city), country, at DESC);

-- ALERT/CLEAR transitions. The latest row of a city is its alert state, which
-- the weather service rebuilds from here after a restart.
CREATE TABLE weather_alerts (
  id BIGSERIAL PRIMARY KEY,
  city TEXT NOT NULL,
  country TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('ALERT', 'CLEAR')),
  temperature_c DOUBLE PRECISION NOT NULL,
  min_c DOUBLE PRECISION NOT NULL,
  max_c DOUBLE PRECISION NOT NULL,
  cp_ids TEXT[] NOT NULL DEFAULT '{}'
);
CREATE INDEX weather_alerts_city ON weather_alerts (lower(city), country, id DESC);

-- Operator overrides of the simulated provider, kept across restarts.
CREATE TABLE weather_overrides (
  city TEXT NOT NULL,
  country TEXT NOT NULL,
  temperature_c DOUBLE PRECISION NOT NULL,
  set_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (city, country)
);

-- The live configuration (thresholds, periods): one row.
CREATE TABLE weather_config (
  id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
  config JSONB NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

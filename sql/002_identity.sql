-- Identity: driver and operator accounts with password hashes (registry),
-- token-signing keys, sessions and failed-login throttling (auth), CP key
-- rotation (auth).

-- Accounts keep the drivers table: a driver's id is their username.
ALTER TABLE drivers
  ADD COLUMN password_hash TEXT NOT NULL DEFAULT '',
  ADD COLUMN role TEXT NOT NULL DEFAULT 'driver' CHECK (role IN ('driver', 'operator')),
  ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
-- "Ana" and "ana" are the same account.
CREATE UNIQUE INDEX drivers_username_ci ON drivers (lower(driver_id));

-- Ed25519 keys that sign access tokens; the newest unretired one signs, the
-- public halves of all unretired ones verify.
CREATE TABLE signing_keys (
  key_id TEXT PRIMARY KEY,
  private_key BYTEA NOT NULL CHECK (length(private_key) = 32),
  public_key BYTEA NOT NULL CHECK (length(public_key) = 32),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  retired_at TIMESTAMPTZ
);

-- One row per login; the refresh token is kept as SHA-256 and rotates on
-- every refresh.
CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  role TEXT NOT NULL,
  refresh_sha256 BYTEA NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (username) WHERE revoked_at IS NULL;

-- Consecutive failed logins per account: past a threshold the account is
-- locked for a time that doubles with each further failure.
CREATE TABLE login_failures (
  username TEXT PRIMARY KEY,
  failures INT NOT NULL DEFAULT 0,
  last_failure_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  locked_until TIMESTAMPTZ
);

-- A rotated CP key keeps working until not_after (the grace period).
ALTER TABLE cp_keys ADD COLUMN not_after TIMESTAMPTZ;

-- CPs revoked as compromised: no authentication until new credentials.
CREATE TABLE cp_blocks (
  cp_id TEXT PRIMARY KEY,
  blocked_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

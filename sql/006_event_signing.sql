-- Ed25519 keys with which a service signs the events it publishes on Kafka
-- (the registry's evc.registry-events); consumers fetch the public halves
-- over gRPC and refuse events signed otherwise. One key per owner for now;
-- key_id lets a rotation add rows later.
CREATE TABLE event_signing_keys (
  owner TEXT NOT NULL,
  key_id TEXT PRIMARY KEY,
  private_key BYTEA NOT NULL CHECK (length(private_key) = 32),
  public_key BYTEA NOT NULL CHECK (length(public_key) = 32),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX event_signing_keys_owner ON event_signing_keys (owner);

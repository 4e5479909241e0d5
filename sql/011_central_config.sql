-- Central's live settings (issue 20, proto/evc/central/v1/config.proto): the
-- whole CentralConfig as protobuf JSON, written by the leader (fenced, like
-- every journal write) when an operator changes a setting, and loaded by each
-- replica when it starts leading. One row; absent until the first change, so
-- the flags are in force until then.
CREATE TABLE central_config (
  id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
  config JSONB NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

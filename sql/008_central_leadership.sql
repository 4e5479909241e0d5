-- Central's leader lease (issue 17): one row, the replica that may write
-- central's journal. A replica takes it when it is free, expired or its own
-- (a restarted replica), and each take-over raises the epoch, which never
-- goes down: every journal transaction locks this row FOR SHARE and checks
-- its own holder and epoch, so a superseded leader cannot write one row.
CREATE TABLE central_leader (
  id SMALLINT PRIMARY KEY CHECK (id = 1),
  holder TEXT NOT NULL DEFAULT '',
  advertise_address TEXT NOT NULL DEFAULT '',
  epoch BIGINT NOT NULL DEFAULT 0 CHECK (epoch >= 0),
  expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
  acquired_at TIMESTAMPTZ
);
INSERT INTO central_leader (id) VALUES (1);

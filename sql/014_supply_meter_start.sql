-- The CP's energy register when a supply began (an OCPP charger's meterStart),
-- so that a gateway that restarts while its charger keeps charging can bill
-- the rest of the supply from the charger's own meter.
ALTER TABLE supplies ADD COLUMN meter_start_wh BIGINT NOT NULL DEFAULT 0 CHECK (meter_start_wh >= 0);

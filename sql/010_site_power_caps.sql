-- Site power caps (issue 20): an operator's cap on the power shared by the
-- CPs of a site (the CPs sharing an address and city). Central loads them at
-- start and at every take-over and gives each open supply its share
-- (services/central/power_allocation.h); the shares themselves are not
-- stored, they are computed again. site_key is the address and city as
-- central compares them (lower case, trimmed); address and city as the
-- operator typed them.
CREATE TABLE site_power_caps (
  site_key TEXT PRIMARY KEY,
  address TEXT NOT NULL,
  city TEXT NOT NULL,
  cap_w BIGINT NOT NULL CHECK (cap_w > 0),
  updated_by TEXT NOT NULL DEFAULT '',
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

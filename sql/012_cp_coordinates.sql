-- Where each CP stands (issue 20): WGS 84 degrees, so the driver app can list
-- the nearest CPs first. Optional: both NULL for a CP enrolled without them
-- (every CP enrolled before this migration), never one without the other.
ALTER TABLE charging_points
  ADD COLUMN latitude DOUBLE PRECISION CHECK (latitude BETWEEN -90 AND 90),
  ADD COLUMN longitude DOUBLE PRECISION CHECK (longitude BETWEEN -180 AND 180),
  ADD CONSTRAINT charging_points_coordinates_paired
    CHECK ((latitude IS NULL) = (longitude IS NULL));

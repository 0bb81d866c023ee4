-- Calibration samples per slice (issue 18: "a slice uses its members"): each sampled observation keeps the slices it
-- is in (the keys of domain Slice: all, predicted:3, label:3, tag:k=v, pair:attacked), so that a slice's null is
-- resampled from the sample's members in that slice. Rows stored before this migration have none: they count for
-- the slice all only.
ALTER TABLE calibration_sample ADD COLUMN slices text[];

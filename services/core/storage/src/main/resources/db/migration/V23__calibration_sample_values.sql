-- A sampled observation's neuron values beside its projections (issue 18), from which the mean KS's null is
-- resampled: that statistic reads each neuron's values, which the projections cannot give back. Float32
-- little-endian, in neuron order. Kept only for taps stored as one block (no block of a wider tap sees a whole
-- observation), and only on the scope's smallest-ranked members that have them, as many as the aggregator's byte cap
-- per tap allows (CalibrationSampleStore's valueSize: a wide tap keeps fewer). Null on the other members, on taps of
-- several blocks, and on rows stored before this migration (those never gain values, and a reference frozen from
-- their hours resamples the mean KS from the members that have them).
ALTER TABLE calibration_sample ADD COLUMN activations bytea;

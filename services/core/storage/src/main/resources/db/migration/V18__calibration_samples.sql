-- Calibration samples (issue 18): per tap, for each hour window and each reference, the observations (whole rows of
-- the tap's neurons) whose rank, a hash of (model, instance id, minute), is among the smallest kept (2,000 by default,
-- fewer for a wide tap: a byte cap per tap). Every tap picks the same instances without a join, a union keeps the
-- smallest ranks whatever the order, and a replay inserts the same rows. The comparison service resamples a side's
-- sample to learn what its statistics read when nothing changed (the layer statistic's null).
CREATE TABLE calibration_sample (
    model_id text NOT NULL,
    model_version text NOT NULL,
    tap text NOT NULL,
    -- '' for an hour window's sample; else the reference whose tagged observations it holds
    reference text NOT NULL,
    -- the hour window's start; the epoch for a reference
    window_start timestamptz NOT NULL,
    rank bigint NOT NULL,
    instance_id text NOT NULL,
    -- the observation's values, float32 little-endian, in neuron order
    activations bytea NOT NULL,
    PRIMARY KEY (model_id, model_version, tap, reference, window_start, rank, instance_id)
);

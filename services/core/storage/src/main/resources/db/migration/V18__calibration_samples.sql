-- Calibration samples (issue 18): per tap, for each hour window and each reference, the observations whose rank, a
-- hash of (model, instance id, minute), is among the smallest kept (2,000 by default). Every tap picks the same
-- instances without a join, a union keeps the smallest ranks whatever the order, and a replay inserts the same rows.
-- An observation is kept as its projections on the layer statistic's 128 random directions (512 bytes whatever the
-- tap's width), from which its features at every bandwidth follow: the comparison service resamples a side's sample
-- to learn what the layer statistic reads when nothing changed.
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
    -- the observation's projections, float32 little-endian, in direction order
    projections bytea NOT NULL,
    PRIMARY KEY (model_id, model_version, tap, reference, window_start, rank, instance_id)
);

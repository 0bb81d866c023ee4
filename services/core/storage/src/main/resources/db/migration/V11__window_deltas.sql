-- Each window written once. A flush no longer reads and rewrites the minute rows its observations enter: it appends
-- what arrived since the last flush as delta rows (raw float32 values, RawRows) in the transaction that moves its
-- offsets. A minute's deltas are folded into its one tap_window row when the event-time watermark passes the minute's
-- end, and once more at finality only if late deltas came; hours and days are built once, from final minutes and
-- hours, and never amended. A reader takes a minute as its row plus its unfolded deltas.

-- Delta ids are unique across partitions: a fold marks exactly the ids it read.
CREATE SEQUENCE window_delta_id_seq;

-- Partitioned by the delta's minute, one partition per hour (the aggregator creates them ahead and attaches them;
-- see DeltaPartitions). Deltas are never deleted row by row: a partition whose minutes are final and folded is
-- detached and dropped. No foreign key to tap: its check would lock the tap row at every insert (a WAL record per
-- flush and tap for nothing: the flush registers the tap in the same transaction).
CREATE TABLE window_delta (
    delta_id          bigint      NOT NULL DEFAULT nextval('window_delta_id_seq'),
    model_id          text        NOT NULL,
    model_version     text        NOT NULL,
    tap               text        NOT NULL,
    slice             text        NOT NULL,
    window_start      timestamptz NOT NULL,
    observation_count integer     NOT NULL CHECK (observation_count > 0),
    activations       bytea       NOT NULL,
    folded            boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (window_start, delta_id)
) PARTITION BY RANGE (window_start);

-- What a reader merges and a fold takes: the unfolded deltas of one tap, slice and minute.
CREATE INDEX window_delta_unfolded ON window_delta (model_id, model_version, tap, slice, window_start)
    WHERE NOT folded;

-- Exemplars the same way: per flush, only the candidates that entered a neuron's top k as the flushing instance knew
-- its minute (TopExemplars, sparse), folded into the minute's one neuron_exemplars row when the minute completes.
CREATE SEQUENCE exemplar_delta_id_seq;
CREATE TABLE exemplar_delta (
    delta_id      bigint      NOT NULL DEFAULT nextval('exemplar_delta_id_seq'),
    model_id      text        NOT NULL,
    model_version text        NOT NULL,
    tap           text        NOT NULL,
    window_start  timestamptz NOT NULL,
    exemplars     bytea       NOT NULL,
    folded        boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (window_start, delta_id)
) PARTITION BY RANGE (window_start);
CREATE INDEX exemplar_delta_unfolded ON exemplar_delta (model_id, model_version, tap, window_start) WHERE NOT folded;

-- The event-time watermark per partition: the newest committed record timestamp, or the flush's time when the
-- partition was read to its end. Moved in the same fenced update as next_offset; null until the first flush.
ALTER TABLE consumer_offset ADD COLUMN watermark timestamptz;

-- A minute row is no longer marked when it is rolled up: an hour row exists once it is built, and is then complete.
-- Under the previous scheme an hour or day row was amended as its minutes closed, so the recent ones (and any whose
-- minutes were not all rolled up yet) are partial: they are removed here and built again, complete, from their
-- minutes and hours (which are all still stored: minutes are deleted only after their hour holds them).
DELETE FROM tap_window h WHERE h.granularity = 'hour' AND (h.window_start > now() - interval '3 hours'
    OR EXISTS (SELECT 1 FROM tap_window m WHERE m.granularity = 'minute' AND NOT m.rolled_up
        AND m.model_id = h.model_id AND m.model_version = h.model_version AND m.tap = h.tap AND m.slice = h.slice
        AND m.window_start >= h.window_start AND m.window_start < h.window_start + interval '1 hour'));
DELETE FROM tap_window d WHERE d.granularity = 'day' AND (d.window_start > now() - interval '2 days'
    OR EXISTS (SELECT 1 FROM tap_window m WHERE m.granularity = 'minute' AND NOT m.rolled_up
        AND m.model_id = d.model_id AND m.model_version = d.model_version AND m.tap = d.tap AND m.slice = d.slice
        AND m.window_start >= d.window_start AND m.window_start < d.window_start + interval '1 day'));
DROP INDEX tap_window_to_roll_up;
ALTER TABLE tap_window DROP COLUMN rolled_up;

-- Rows stay out of line without PostgreSQL's compression (STORAGE EXTERNAL): the codec compresses what LZ4 shrinks
-- (DistributionCodec). Measured with deploy/benchmark-compression.sh: pglz doubled the insert p95 of sketch rows and
-- of raw deltas, and gave up on dense ones after paying for the attempt.
ALTER TABLE window_delta ALTER COLUMN activations SET STORAGE EXTERNAL;

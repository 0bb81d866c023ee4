-- Retention by dropping partitions, never by deleting rows. tap_window, neuron_exemplars, the recent store
-- (recent_observation, captured_input) and late_label become partitioned by time (TimePartitions and
-- PartitionLayout say how; the aggregator makes partitions ahead and retires expired ones).
--
-- Online: nothing is copied. Each table as it was is renamed and attached whole as the first range of its new parent,
-- for everything before a cutover just after its newest row, so every row stays readable where it is. Later rows go
-- to partitions the aggregator makes. The old table is retired like a partition once what it holds has expired
-- (tap_window and neuron_exemplars: emptied by the batched deletes of before, then dropped). An empty table (a fresh
-- install) is dropped at once. What this migration costs is the scan of each old table that the attach validates
-- (its heap, not its out-of-line values) and, for the tables whose key gains its time column, building that index.
--
-- The partitioned tables have no foreign key to tap (as window_delta): attaching a partition would clone it, and
-- cloning one takes a lock on tap that every flush registering a tap holds; every row's tap is registered by the
-- flush that first wrote it, in the same transaction. The old tables lose theirs (dropping one later would lock tap).
--
-- The cutover lies just past the newest row, which is at most what Kafka accepts ahead of its clock
-- (message.timestamp.after.max.ms, an hour by default) plus the aggregator's future skew; for tap_window it is the
-- next month boundary, so until then new rows still go to the old table (deleted by the batched deletes there).
--
-- A key gains the partition column where it lacked it (PostgreSQL enforces uniqueness per partition only):
-- recent_observation (model_id, instance_id, tap, event_time), captured_input (model_id, instance_id, event_time),
-- late_label (model_id, instance_id, received_at). An observation is an instance id at an event time: a resent
-- record (same time) is still kept once, while an instance id reused at another time is a second observation, which
-- a late label joins as well (each was counted in its windows). "The first label wins" is kept by the flush, which
-- records a label only when its instance has none, under the instance locks the join already takes.

-- tap_window: by month, then granularity, then minutes by hour and hours by day
ALTER TABLE tap_window RENAME TO tap_window_unpartitioned;
ALTER TABLE tap_window_unpartitioned RENAME CONSTRAINT tap_window_pkey TO tap_window_unpartitioned_pkey;
ALTER INDEX tap_window_by_time RENAME TO tap_window_unpartitioned_by_time;
CREATE TABLE tap_window (
    LIKE tap_window_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS,
    PRIMARY KEY (model_id, model_version, tap, granularity, slice, window_start)
) PARTITION BY RANGE (window_start);
CREATE INDEX tap_window_by_time ON tap_window (model_id, model_version, granularity, window_start);

-- neuron_exemplars: by hour
ALTER TABLE neuron_exemplars RENAME TO neuron_exemplars_unpartitioned;
ALTER TABLE neuron_exemplars_unpartitioned RENAME CONSTRAINT neuron_exemplars_pkey
    TO neuron_exemplars_unpartitioned_pkey;
CREATE TABLE neuron_exemplars (
    LIKE neuron_exemplars_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE,
    PRIMARY KEY (model_id, model_version, tap, window_start)
) PARTITION BY RANGE (window_start);

-- recent_observation: by event time, ten minutes a partition
ALTER TABLE recent_observation RENAME TO recent_observation_unpartitioned;
ALTER TABLE recent_observation_unpartitioned RENAME CONSTRAINT recent_observation_pkey
    TO recent_observation_unpartitioned_pkey;
ALTER INDEX recent_observation_by_time RENAME TO recent_observation_unpartitioned_by_time;
ALTER INDEX recent_observation_by_pair RENAME TO recent_observation_unpartitioned_by_pair;
CREATE TABLE recent_observation (
    LIKE recent_observation_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE
        INCLUDING COMMENTS,
    PRIMARY KEY (model_id, instance_id, tap, event_time)
) PARTITION BY RANGE (event_time);
CREATE INDEX recent_observation_by_time ON recent_observation (event_time);
CREATE INDEX recent_observation_by_pair ON recent_observation (model_id, pair_id) WHERE pair_id IS NOT NULL;

-- captured_input: by event time, ten minutes a partition
ALTER TABLE captured_input RENAME TO captured_input_unpartitioned;
ALTER TABLE captured_input_unpartitioned RENAME CONSTRAINT captured_input_pkey TO captured_input_unpartitioned_pkey;
ALTER INDEX captured_input_by_time RENAME TO captured_input_unpartitioned_by_time;
CREATE TABLE captured_input (
    LIKE captured_input_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE,
    PRIMARY KEY (model_id, instance_id, event_time)
) PARTITION BY RANGE (event_time);
CREATE INDEX captured_input_by_time ON captured_input (event_time);

-- late_label: by receipt, ten minutes a partition
ALTER TABLE late_label RENAME TO late_label_unpartitioned;
ALTER TABLE late_label_unpartitioned RENAME CONSTRAINT late_label_pkey TO late_label_unpartitioned_pkey;
ALTER INDEX late_label_by_time RENAME TO late_label_unpartitioned_by_time;
CREATE TABLE late_label (
    LIKE late_label_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE,
    PRIMARY KEY (model_id, instance_id, received_at)
) PARTITION BY RANGE (received_at);
CREATE INDEX late_label_by_time ON late_label (received_at);

-- each old table: attached whole before a cutover past its newest row (aligned to its partitions' width), or dropped
-- when empty
DO $$
DECLARE
    t record;
    fk record;
    cutover timestamptz;
BEGIN
    -- key: the new primary key, where it gained the time column. tap_window's cutover is a month boundary: its
    -- partitions below are months, and one starting at the cutover would leave the rest of its month without a
    -- partition once the old table is gone
    FOR t IN SELECT * FROM (VALUES ('tap_window', 'window_start', 'month', NULL),
            ('neuron_exemplars', 'window_start', '1 hour', NULL),
            ('recent_observation', 'event_time', '10 minutes', 'model_id, instance_id, tap, event_time'),
            ('captured_input', 'event_time', '10 minutes', 'model_id, instance_id, event_time'),
            ('late_label', 'received_at', '10 minutes', 'model_id, instance_id, received_at'))
            AS v(name, col, width, key)
    LOOP
        IF t.width = 'month' THEN
            EXECUTE format('SELECT (date_trunc(''month'', greatest(now(), max(%I)) AT TIME ZONE ''UTC'') '
                    '+ interval ''1 month'') AT TIME ZONE ''UTC'' FROM %I', t.col, t.name || '_unpartitioned')
                    INTO cutover;
        ELSE
            EXECUTE format('SELECT date_bin(%L, greatest(now(), max(%I)), ''2000-01-01 00:00+00'') + %L::interval '
                    'FROM %I', t.width, t.col, t.width, t.name || '_unpartitioned') INTO cutover;
        END IF;
        EXECUTE format('SELECT CASE WHEN EXISTS (SELECT 1 FROM %I) THEN %L::timestamptz END',
                t.name || '_unpartitioned', cutover) INTO cutover;
        IF cutover IS NULL THEN
            EXECUTE format('DROP TABLE %I', t.name || '_unpartitioned');
        ELSE
            -- no foreign key to tap on a partition (see above): dropping this table later would lock tap too
            FOR fk IN SELECT conname FROM pg_constraint WHERE conrelid = (t.name || '_unpartitioned')::regclass
                    AND contype = 'f'
            LOOP
                EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t.name || '_unpartitioned', fk.conname);
            END LOOP;
            IF t.key IS NOT NULL THEN
                EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I, ADD PRIMARY KEY (%s)', t.name || '_unpartitioned',
                        t.name || '_unpartitioned_pkey', t.key);
            END IF;
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', t.name,
                    t.name || '_unpartitioned', cutover);
        END IF;
    END LOOP;
END
$$;

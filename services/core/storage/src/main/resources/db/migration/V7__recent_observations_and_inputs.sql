-- The recent-observation store. Until V7 only unlabelled observations were kept (for late labels); now every live
-- observation's taps are kept with their metadata, so that an instance can be inspected by its id, and the inputs
-- that inference captured (topic nd.inputs) sit beside them. Both are bounded by a TTL and a row cap, enforced by
-- the aggregator's eviction job (evictions counted).
ALTER TABLE recent_observation
    ADD COLUMN confidence real    NOT NULL DEFAULT 0,
    -- the observation's tags as a JSON object of strings
    ADD COLUMN tags       jsonb   NOT NULL DEFAULT '{}',
    ADD COLUMN pair_id    text,
    ADD COLUMN pair_role  text    CHECK (pair_role IN ('benign', 'attacked'));
COMMENT ON COLUMN recent_observation.true_label IS
    'known at prediction time, or set once a late label has been applied; NULL while waiting for one';

-- One input per instance, as a PNG of what the model was fed.
CREATE TABLE captured_input (
    model_id      text        NOT NULL,
    model_version text        NOT NULL,
    instance_id   text        NOT NULL,
    event_time    timestamptz NOT NULL,
    png           bytea       NOT NULL,
    PRIMARY KEY (model_id, instance_id)
);
CREATE INDEX captured_input_by_time ON captured_input (event_time);

-- The tag values admitted as slices, per model: the cardinality bound holds per model and across restarts and
-- instances (each instance admits at most the bound on top of what it found stored).
CREATE TABLE slice_tag_value (
    model_id   text        NOT NULL,
    tag_key    text        NOT NULL,
    tag_value  text        NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, tag_key, tag_value)
);

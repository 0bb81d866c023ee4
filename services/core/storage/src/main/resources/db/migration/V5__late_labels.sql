-- Late labels: observations without a true label are kept (per tap) for a bounded horizon, so that a LabelEvent
-- arriving later can add them to their true-label slice. Written in the flush's transaction, like everything the
-- aggregator derives from Kafka, so a crash neither loses a join nor makes it twice.
CREATE TABLE recent_observation (
    model_id        text        NOT NULL,
    model_version   text        NOT NULL,
    instance_id     text        NOT NULL,
    tap             text        NOT NULL,
    event_time      timestamptz NOT NULL,
    predicted_class integer     NOT NULL,
    -- set once the observation's late label has been applied
    true_label      integer,
    -- float32 little-endian, one per neuron
    activations     bytea       NOT NULL,
    PRIMARY KEY (model_id, instance_id, tap),
    FOREIGN KEY (model_id, model_version, tap) REFERENCES tap
);
CREATE INDEX recent_observation_by_time ON recent_observation (event_time);

-- Labels received; the first label of an instance wins.
CREATE TABLE late_label (
    model_id    text        NOT NULL,
    instance_id text        NOT NULL,
    true_label  integer     NOT NULL CHECK (true_label >= 0),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, instance_id)
);
CREATE INDEX late_label_by_time ON late_label (received_at);

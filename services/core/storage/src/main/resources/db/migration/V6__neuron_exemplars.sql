-- Per tap and minute, every neuron's top-k exemplar observations (TopExemplars), over all live traffic: the ids of
-- the inputs that excite each neuron most. One row per tap and minute, like tap_window.
CREATE TABLE neuron_exemplars (
    model_id      text        NOT NULL,
    model_version text        NOT NULL,
    tap           text        NOT NULL,
    window_start  timestamptz NOT NULL,
    exemplars     bytea       NOT NULL,
    PRIMARY KEY (model_id, model_version, tap, window_start),
    FOREIGN KEY (model_id, model_version, tap) REFERENCES tap
);

-- NeuralDivergence schema, version 1. Owned by the aggregator, which applies it at start (Flyway).

-- Every model version the aggregator has seen.
CREATE TABLE model_version (
    model_id      text        NOT NULL,
    model_version text        NOT NULL,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, model_version)
);

-- A model version's taps, in network order. A tap's layout never changes within a version: a batch that disagrees
-- is refused, because its neurons could not be merged with what is stored.
CREATE TABLE tap (
    model_id      text    NOT NULL,
    model_version text    NOT NULL,
    tap           text    NOT NULL,
    tap_index     integer NOT NULL CHECK (tap_index >= 0),
    shape         integer[] NOT NULL,
    neuron_count  integer NOT NULL CHECK (neuron_count > 0),
    reduction     text    NOT NULL CHECK (reduction IN ('none', 'max', 'mean')),
    PRIMARY KEY (model_id, model_version, tap),
    FOREIGN KEY (model_id, model_version) REFERENCES model_version
);

-- One row holds every neuron's distribution of one tap, slice and window (DistributionCodec), so that reading a
-- tap over a day is a few large reads rather than one per neuron per window.
CREATE TABLE tap_window (
    model_id          text        NOT NULL,
    model_version     text        NOT NULL,
    tap               text        NOT NULL,
    granularity       text        NOT NULL CHECK (granularity IN ('minute', 'hour', 'day')),
    slice             text        NOT NULL,
    window_start      timestamptz NOT NULL,
    observation_count bigint      NOT NULL CHECK (observation_count >= 0),
    distributions     bytea       NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, model_version, tap, granularity, slice, window_start),
    FOREIGN KEY (model_id, model_version, tap) REFERENCES tap
);
-- Sketch bytes hardly compress: store them out of line without trying.
ALTER TABLE tap_window ALTER COLUMN distributions SET STORAGE EXTERNAL;

-- Time coverage and "what changed lately" scan by window across slices.
CREATE INDEX tap_window_by_time ON tap_window (model_id, model_version, granularity, window_start);

-- The next Kafka offset to read per partition, written in the same transaction as the distributions it produced
-- (exactly once). Only moved from the exact offset a flushed delta started at, which fences out a stale owner.
CREATE TABLE consumer_offset (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    next_offset     bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, kafka_partition)
);

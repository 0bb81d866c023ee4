-- References: named, pinned distributions that live traffic is compared against. A reference belongs to one
-- model version (its tap layout is that version's, in the tap table); it has no time window.
CREATE TABLE reference (
    model_id      text        NOT NULL,
    name          text        NOT NULL,
    model_version text        NOT NULL,
    -- 'tagged': built by the aggregator from observations tagged reference=<name>;
    -- 'time_range': frozen from stored windows by the comparison service
    origin        text        NOT NULL CHECK (origin IN ('tagged', 'time_range')),
    source_from   timestamptz,
    source_to     timestamptz,
    source_slice  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, name),
    FOREIGN KEY (model_id, model_version) REFERENCES model_version
);

-- One row per reference, tap and slice holds every neuron's distribution (DistributionCodec), like tap_window.
CREATE TABLE reference_distribution (
    model_id          text        NOT NULL,
    name              text        NOT NULL,
    tap               text        NOT NULL,
    slice             text        NOT NULL,
    observation_count bigint      NOT NULL CHECK (observation_count >= 0),
    distributions     bytea       NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, name, tap, slice),
    FOREIGN KEY (model_id, name) REFERENCES reference ON DELETE CASCADE
);
ALTER TABLE reference_distribution ALTER COLUMN distributions SET STORAGE EXTERNAL;

-- Monitors evaluated once per complete minute by one replica at a time (issue 17's cadence): what a transition
-- carries to act on, the stored state every replica reads, the evaluations a changed threshold is decided again
-- from, and the lease that says which replica evaluates.

ALTER TABLE monitor_transition
    -- the state held from the back-fill's first evaluation on: it may have begun earlier
    ADD COLUMN since_lower_bound boolean NOT NULL DEFAULT false,
    -- why the new state is invalid
    ADD COLUMN reason text,
    -- the window of the evaluation that decided it, and the slice it was read in
    ADD COLUMN window_start timestamptz,
    ADD COLUMN window_end timestamptz,
    ADD COLUMN slice text,
    -- the tap's most drifted neurons in that window against the reference, most drifted first
    ADD COLUMN top_neurons integer[] NOT NULL DEFAULT '{}';

-- Each monitor's state on each tap, as the replica evaluating monitors last wrote it: every replica lists it and
-- exports it as gauges. One row per (monitor, tap), of the monitor's current generation.
CREATE TABLE monitor_state (
    monitor text NOT NULL REFERENCES monitor (name) ON DELETE CASCADE,
    generation bigint NOT NULL,
    tap text NOT NULL,
    state text NOT NULL CHECK (state IN ('ok', 'drifting', 'insufficient_data', 'invalid')),
    -- when the state began: the end of the first evaluation of the run that decided it (null: ok since the start)
    since timestamptz,
    -- the state held from the back-fill's first evaluation on: it may have begun earlier
    since_lower_bound boolean NOT NULL DEFAULT false,
    -- the newest evaluation: the minute it closed, the window it read, its counts, its value
    last_evaluated timestamptz NOT NULL,
    window_start timestamptz NOT NULL,
    window_observations bigint NOT NULL,
    reference_observations bigint NOT NULL,
    value double precision NOT NULL,
    threshold_applied double precision NOT NULL,
    -- calibrated monitors: the smallest effect detectable at the window's counts (null for fixed ones)
    smallest_detectable_effect double precision,
    -- why the state is invalid
    reason text,
    -- the lease epoch of the replica that wrote it (which evaluator decided what, after a takeover)
    epoch bigint NOT NULL,
    PRIMARY KEY (monitor, tap)
);

-- Every evaluation, kept 12 hours: a change of threshold or run length is decided again from them.
CREATE TABLE monitor_evaluation (
    monitor text NOT NULL REFERENCES monitor (name) ON DELETE CASCADE,
    generation bigint NOT NULL,
    tap text NOT NULL,
    window_end timestamptz NOT NULL,
    window_start timestamptz NOT NULL,
    window_observations bigint NOT NULL,
    reference_observations bigint NOT NULL,
    value double precision NOT NULL,
    threshold_applied double precision NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('over', 'under', 'insufficient_data', 'invalid')),
    -- the lease epoch of the replica that wrote it
    epoch bigint NOT NULL,
    PRIMARY KEY (monitor, generation, tap, window_end)
);

-- Exactly one replica evaluates monitors at a time: the holder of this lease. A holder renews it well within its
-- time to live; a new holder takes it with a higher epoch, and every write of a state, an evaluation or a
-- transition checks the epoch in its own statement, so that a holder paused past its lease writes nothing.
CREATE TABLE monitor_lease (
    name text PRIMARY KEY,
    holder text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL
);

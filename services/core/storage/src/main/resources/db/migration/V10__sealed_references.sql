-- Sealed references. A tagged reference is built by its replay and then sealed: SealReference records how many
-- observations each tap is complete with, the aggregator seals each tap when its count reaches that number (or,
-- after the seal timeout, with what it holds), and the reference once every tap of its model version is sealed.
-- Nothing merges into a sealed tap again: a reference-tagged record that arrives later is dead-lettered.
ALTER TABLE reference
    ADD COLUMN expected_observations bigint CHECK (expected_observations > 0),
    ADD COLUMN seal_requested_at     timestamptz,
    ADD COLUMN sealed_at             timestamptz,
    -- sealed by the timeout short of expected_observations: what the emptiest tap lacked
    ADD COLUMN shortfall             bigint CHECK (shortfall >= 0),
    -- when the seal reached nd.reference-seals (which inference follows); null: still to publish
    ADD COLUMN seal_published_at     timestamptz;

-- Per tap: set on every slice row of the tap at once, read on its "all" row.
ALTER TABLE reference_distribution ADD COLUMN sealed_at timestamptz;

-- References from before sealing existed were built by replays that ran to their end (the run command replayed
-- once, behind a done marker) or frozen from a time range: they are complete, and sealed now so that monitors
-- comparing against them keep a fixed reference.
UPDATE reference SET sealed_at = now();
UPDATE reference_distribution SET sealed_at = now();

-- The seal job looks for references waiting for a seal or for their seal to be published.
CREATE INDEX reference_seal_pending ON reference (seal_requested_at) WHERE sealed_at IS NULL
    AND seal_requested_at IS NOT NULL;
CREATE INDEX reference_seal_unpublished ON reference (sealed_at) WHERE sealed_at IS NOT NULL
    AND seal_published_at IS NULL;

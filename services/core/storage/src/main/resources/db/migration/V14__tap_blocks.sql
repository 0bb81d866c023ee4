-- Wide taps spread: a tap is stored in blocks of neurons (TapDescriptor), each block its own row in every table that
-- holds a tap's values, so that one flush, fold, roll-up or Kafka partition carries a bounded part of a tap of any
-- width. A tap's block size is fixed when it is first registered; readers assemble a tap's blocks.
--
-- Existing taps keep one block: their block size is their neuron count, and every existing row is block 0.
ALTER TABLE tap ADD COLUMN block_size integer;
UPDATE tap SET block_size = neuron_count;
ALTER TABLE tap ALTER COLUMN block_size SET NOT NULL;
ALTER TABLE tap ADD CONSTRAINT tap_block_size CHECK (block_size > 0 AND block_size <= neuron_count);

-- A new column with a constant default is a change of the catalog only (no table is rewritten, partitions
-- included); the keys that name a row gain the block, which builds each partition's key index again: that step
-- holds the tables for as long as the build of their largest partition (measured in the README's upgrade notes).
ALTER TABLE tap_window ADD COLUMN block integer NOT NULL DEFAULT 0 CHECK (block >= 0);
ALTER TABLE tap_window DROP CONSTRAINT tap_window_pkey;
ALTER TABLE tap_window ADD PRIMARY KEY (model_id, model_version, tap, granularity, slice, window_start, block);

ALTER TABLE window_delta ADD COLUMN block integer NOT NULL DEFAULT 0 CHECK (block >= 0);
ALTER TABLE exemplar_delta ADD COLUMN block integer NOT NULL DEFAULT 0 CHECK (block >= 0);

ALTER TABLE neuron_exemplars ADD COLUMN block integer NOT NULL DEFAULT 0 CHECK (block >= 0);
ALTER TABLE neuron_exemplars DROP CONSTRAINT neuron_exemplars_pkey;
ALTER TABLE neuron_exemplars ADD PRIMARY KEY (model_id, model_version, tap, window_start, block);

ALTER TABLE reference_distribution ADD COLUMN block integer NOT NULL DEFAULT 0 CHECK (block >= 0);
ALTER TABLE reference_distribution DROP CONSTRAINT reference_distribution_pkey;
ALTER TABLE reference_distribution ADD PRIMARY KEY (model_id, model_version, name, tap, slice, block);

ALTER TABLE recent_observation ADD COLUMN block integer NOT NULL DEFAULT 0 CHECK (block >= 0);
ALTER TABLE recent_observation DROP CONSTRAINT recent_observation_pkey;
ALTER TABLE recent_observation ADD PRIMARY KEY (model_id, instance_id, tap, event_time, block);

-- Each observation stored once per flush. A delta was one row per tap, slice and minute, so an observation's values
-- were written once for every slice it entered (all, its predicted class, its label, its tags: 3.7 times on average in
-- the wide-model benchmark). A delta is now one row per tap and minute: each observation once, with the slices it is
-- in (SlicedRows); the slices are listed beside the bytes, with how many of the delta's observations each holds, so
-- that SQL can still find and count a slice's deltas. observation_count counts observations, each once.
ALTER TABLE window_delta ADD COLUMN slices text[];
ALTER TABLE window_delta ADD COLUMN slice_counts integer[];
-- deltas written before: one slice each (their bytes, raw rows of version 1, decode as rows of that one slice)
UPDATE window_delta SET slices = ARRAY[slice], slice_counts = ARRAY[observation_count];
ALTER TABLE window_delta ALTER COLUMN slices SET NOT NULL;
ALTER TABLE window_delta ALTER COLUMN slice_counts SET NOT NULL;
ALTER TABLE window_delta ADD CONSTRAINT window_delta_slice_counts
    CHECK (cardinality(slices) > 0 AND cardinality(slices) = cardinality(slice_counts));

-- What a reader merges and a fold takes: the unfolded deltas of one tap minute (a reader keeps its slice's rows).
DROP INDEX window_delta_unfolded;
CREATE INDEX window_delta_unfolded ON window_delta (model_id, model_version, tap, window_start) WHERE NOT folded;
ALTER TABLE window_delta DROP COLUMN slice;

-- The layer null and the mean KS's null each have a construction of their own (LayerNullTable.CONSTRUCTION,
-- SampledMeanKsNull.CONSTRUCTION), so that a new mean KS's null never makes the layer nulls be computed again (a
-- reference frozen from hours past their retention could not compute its own). The release of 2026-12-05 stored both
-- under one string, 'resampled/2 (with the mean KS's, sides disjoint): ...', over the same computations: renamed
-- here to the strings those computations carry now, so that neither is computed again. Rows of any other
-- construction are left as they are (the aggregator computes them again when their construction is not today's).
UPDATE layer_null
   SET construction = 'resampled/1: '
       || substr(construction, length('resampled/2 (with the mean KS''s, sides disjoint): ') + 1)
 WHERE statistic = 'mmd2' AND construction LIKE 'resampled/2 (with the mean KS''s, sides disjoint): %';

UPDATE layer_null
   SET construction = 'mean-ks/1: 1000 replicates, sides disjoint 1:8 without replacement, buckets from 16, levels '
       || '[0.5, 0.9, 0.99, 0.999] and mean + 3 se, Stephens'' scaling'
 WHERE statistic = 'mean_ks' AND construction LIKE 'resampled/2 (with the mean KS''s, sides disjoint): %';

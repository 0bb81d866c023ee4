-- A kept observation's layer-statistic projections beside its block 0 (issue 18), for taps stored in several blocks:
-- no block sees the whole observation, so a late label joining the observation into its label's slice brings block
-- 0's 128 projections, as the producer sent them (little-endian float4), and that slice's minute keeps its layer
-- sums. Null on other blocks, on taps stored as one block (the fold projects those itself) and on rows kept before
-- this migration (their late joins stay without sums, as before).
ALTER TABLE recent_observation ADD COLUMN projections bytea;

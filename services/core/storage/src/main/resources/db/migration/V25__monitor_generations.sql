-- A monitor's generation fences what an evaluation run writes: a state or an evaluation is stored only when the
-- monitor's name and generation still match. A monitor deleted and made again under its name started at generation 1
-- again, so a run still in flight for the deleted one (a back-fill of hundreds of evaluations, read from one snapshot)
-- wrote into the new one, which then resumed from that state instead of back-filling. Every new generation (a
-- monitor made, or changed to measure something else) now comes from this sequence: never the same number twice.
CREATE SEQUENCE monitor_generation;
SELECT setval('monitor_generation', GREATEST(1, (SELECT coalesce(max(generation), 0) FROM monitor)));

-- Calibrated monitors (issue 18): each evaluation's threshold, part by part, so that the state shows what it was
-- made of and a changed minimum effect or false-alarm budget decides the stored evaluations again. Null for fixed
-- monitors and for evaluations without a value.

ALTER TABLE monitor_state
    -- the smallest effect worth an alert (delta), in mean KS
    ADD COLUMN minimum_effect double precision,
    -- the mean KS an unchanged tap exceeds with probability at most alpha at the window's counts
    ADD COLUMN null_quantile double precision,
    -- the most the sketches add to the mean KS (the mean of the neurons' ks_error_bound)
    ADD COLUMN sketch_bound double precision,
    -- the false-alarm rate of this evaluation of this tap: the budget over 30 days' evaluations of every tap
    ADD COLUMN alpha double precision;

ALTER TABLE monitor_evaluation
    ADD COLUMN minimum_effect double precision,
    ADD COLUMN null_quantile double precision,
    ADD COLUMN sketch_bound double precision,
    ADD COLUMN alpha double precision,
    ADD COLUMN smallest_detectable_effect double precision;

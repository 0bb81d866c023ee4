-- Layer nulls (issue 18): a sealed reference's resampled null of the layer statistic, per tap, computed once by an
-- aggregator in the background after the seal and read by every comparison replica. Until a tap's row holds
-- computed_at the reference is calibrating: comparisons and monitors use the analytic bound meanwhile and say so.
CREATE TABLE layer_null (
    model_id      text NOT NULL,
    model_version text NOT NULL,
    reference     text NOT NULL,
    tap           text NOT NULL,
    -- the slice whose sample it was resampled from; references keep samples of the slice all only
    slice         text NOT NULL DEFAULT 'all',
    -- the statistic whose null it is: 'mmd2', the layer statistic
    statistic     text NOT NULL DEFAULT 'mmd2',
    -- an aggregator computing it holds it until then; another takes it over after (a replica that died)
    claimed_until timestamptz,
    claimed_by    text,
    -- null while calibrating
    computed_at   timestamptz,
    -- how the numbers were made (LayerNullTable.CONSTRUCTION: replicates, buckets, summary levels, bandwidth grid):
    -- a row of another construction is computed again, and calibrating until then
    construction  text,
    -- usable observations in the calibration sample; below 100 nothing is resampled (the arrays are empty) and the
    -- analytic bound answers for good
    sample_size   integer CHECK (sample_size >= 0),
    -- per bandwidth grid point, per bucket (16, 32 ... 1,024 effective observations), the replicates' quantiles at
    -- 0.5, 0.9, 0.99, 0.999 and their mean plus three standard errors: flattened in that order
    quantiles     double precision[],
    -- per grid point, the eigenvalues of the features' covariance (256), flattened
    eigenvalues   double precision[],
    PRIMARY KEY (model_id, model_version, reference, tap, slice, statistic),
    FOREIGN KEY (model_id, model_version, reference) REFERENCES reference (model_id, model_version, name)
        ON DELETE CASCADE
);
-- what is left to compute, oldest claim first
CREATE INDEX layer_null_calibrating ON layer_null (claimed_until) WHERE computed_at IS NULL;

ALTER TABLE monitor_state ADD COLUMN calibrating boolean;
ALTER TABLE monitor_evaluation ADD COLUMN calibrating boolean;

-- A deleted reference's calibration sample goes with it, as its distributions and nulls do (those by their foreign
-- keys; a sample row's reference is '' for an hour, so it has none): a reference built again under the same name
-- must not inherit the old one's members, which would take rank slots in its sample and shape its null. The
-- comparison service deletes references but may not write samples: the delete runs as the tables' owner.
CREATE FUNCTION delete_reference_sample() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    -- the table is named with the trigger's own schema: nothing on a caller's search path (a temporary table of the
    -- same name) can stand in for it
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- per tap of the version, so that the primary key's (model, version, tap, reference) prefix finds the rows
    -- without walking the version's hour samples
    EXECUTE format('DELETE FROM %I.calibration_sample WHERE model_id = $1 AND model_version = $2 AND tap = ANY '
            '(ARRAY(SELECT tap FROM %I.tap WHERE model_id = $1 AND model_version = $2)) AND reference = $3',
            TG_TABLE_SCHEMA, TG_TABLE_SCHEMA)
        USING OLD.model_id, OLD.model_version, OLD.name;
    RETURN OLD;
END
$$;
REVOKE ALL ON FUNCTION delete_reference_sample() FROM PUBLIC;
CREATE TRIGGER reference_sample_deleted AFTER DELETE ON reference FOR EACH ROW
    EXECUTE FUNCTION delete_reference_sample();

-- A reference belongs to one model version: each version gets its own (a new model replays its own "training"),
-- and a name may repeat across versions.
ALTER TABLE reference_distribution ADD COLUMN model_version text;
UPDATE reference_distribution d SET model_version = r.model_version
    FROM reference r WHERE r.model_id = d.model_id AND r.name = d.name;
ALTER TABLE reference_distribution ALTER COLUMN model_version SET NOT NULL;
ALTER TABLE reference_distribution DROP CONSTRAINT reference_distribution_model_id_name_fkey;
ALTER TABLE reference_distribution DROP CONSTRAINT reference_distribution_pkey;
ALTER TABLE reference DROP CONSTRAINT reference_pkey;
ALTER TABLE reference ADD PRIMARY KEY (model_id, model_version, name);
ALTER TABLE reference_distribution ADD PRIMARY KEY (model_id, model_version, name, tap, slice);
ALTER TABLE reference_distribution ADD FOREIGN KEY (model_id, model_version, name) REFERENCES reference
    ON DELETE CASCADE;

-- A benign/attacked pair is looked up by its id (instance inspection, the UI's pair view).
CREATE INDEX recent_observation_by_pair ON recent_observation (model_id, pair_id) WHERE pair_id IS NOT NULL;

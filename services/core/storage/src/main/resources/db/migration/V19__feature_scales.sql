-- The layer statistic's neuron scales: what each neuron's value is divided by before the layer's random Fourier
-- features (TapDescriptor#featureScales, declared by the model's manifest). The map must be fixed before any data is
-- summed through it, and shared by every version of a layout, so the scales are kept per (model, tap, neuron count),
-- written once at the layout's first registration (first wins; NULL: 1 for every neuron) and never changed.
CREATE TABLE feature_scale (
    model_id     text    NOT NULL,
    tap          text    NOT NULL,
    neuron_count integer NOT NULL CHECK (neuron_count > 0),
    scales       real[]  CHECK (scales IS NULL OR cardinality(scales) = neuron_count),
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, tap, neuron_count)
);

-- layouts registered before: their sums went through scales of 1, which stay theirs
INSERT INTO feature_scale (model_id, tap, neuron_count)
SELECT DISTINCT model_id, tap, neuron_count FROM tap
ON CONFLICT DO NOTHING;

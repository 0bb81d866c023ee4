package ai.neuraldivergence.domain.query;

import ai.neuraldivergence.domain.TopExemplars;

/** The observations that excited one neuron most, at most {@code limit} (0 means every one kept). */
public record ExemplarQuery(ModelVersion model, String tap, int neuron, int limit) {

    public ExemplarQuery {
        Queries.requireText(tap, "tap");
        if (neuron < 0) {
            throw new IllegalArgumentException("neuron " + neuron + " does not exist: neurons count from 0");
        }
        int asked = limit;
        limit = limit == 0 ? TopExemplars.DEFAULT_K : limit;
        if (limit < 1 || limit > TopExemplars.DEFAULT_K) {
            throw new IllegalArgumentException("limit must be 1.." + TopExemplars.DEFAULT_K
                    + " (the exemplars kept per neuron), got " + asked);
        }
    }
}

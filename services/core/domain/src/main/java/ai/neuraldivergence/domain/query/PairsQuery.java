package ai.neuraldivergence.domain.query;

/** The newest pairs still kept of a model, at most {@code limit} (0 means 20). */
public record PairsQuery(String modelId, int limit) {

    public static final int DEFAULT_LIMIT = 20;
    public static final int MAX_LIMIT = 1000;

    public PairsQuery {
        Queries.requireText(modelId, "model_id");
        int asked = limit;
        limit = limit == 0 ? DEFAULT_LIMIT : limit;
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be 1.." + MAX_LIMIT + ", got " + asked);
        }
    }
}

package ai.neuraldivergence.domain.query;

/**
 * A benign/attacked pair side by side: per tap, the {@code topK} neurons the attack excited and inhibited most, with
 * percentiles against a selection when one is given ({@code against} may be null).
 */
public record PairQuery(ModelVersion model, String pairId, int topK, Selection against) {

    public static final int DEFAULT_TOP_K = 10;

    public PairQuery {
        Queries.requireText(pairId, "pair_id");
        if (topK == 0) {
            topK = DEFAULT_TOP_K;
        }
        if (topK < 1 || topK > CompareQuery.MAX_TOP_K) {
            throw new IllegalArgumentException("top_k must be 1.." + CompareQuery.MAX_TOP_K + ", got " + topK);
        }
    }
}

package ai.neuraldivergence.domain.query;

/** Every tap of a version A against B in network order, and the first tap whose drifted share passes the onset. */
public record LayerQuery(ModelVersion model, Selection a, Selection b, Verdict verdict, double onsetShare) {

    public LayerQuery {
        Queries.require(a, "a");
        Queries.require(b, "b");
        onsetShare = Verdict.onsetShare(onsetShare);
    }
}

package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.comparison.service.ByteBoundedCache;
import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.query.CompareQuery;
import ai.neuraldivergence.domain.query.Selection;
import ai.neuraldivergence.domain.query.Verdict;
import java.util.ArrayList;
import java.util.List;

/**
 * A against B, tap by tap: every neuron's divergence. Keeps the newest tap comparisons of cached selections, so
 * that a live query repeated between two commits (a view redrawn by several subscribers) is answered at once.
 */
public final class Comparisons {

    /**
     * What the kept comparisons may hold together. Sized in bytes, not entries: a 65,536-neuron tap's comparison
     * holds about 20 MB (64 of them were kept), a narrow tap's a few kilobytes.
     */
    static final long MAX_KEPT_BYTES = 32L << 20;
    /** A comparison's heap, estimated: a neuron's divergence with its bin edges, about 300 bytes, and the rest. */
    static final int BYTES_PER_NEURON = 320;

    private record Key(Object a, long versionA, Object b, long versionB, Divergence.Metric metric, int topK,
            double threshold, double familyWiseAlpha, double layerThreshold) {
    }

    /**
     * What a comparison of a version's taps found, in network order, the verdict it applied, and the onset tap (null
     * when no tap's drifted share passes the onset share).
     */
    public record Compared(String version, List<TapComparison> taps, Verdict verdict, TapDescriptor onset) {
    }

    private final Selections selections;
    private final ByteBoundedCache<Key, TapComparison> recent = new ByteBoundedCache<>(MAX_KEPT_BYTES,
            c -> 1024 + (long) BYTES_PER_NEURON * c.neurons().size());

    private final LayerNulls layerNulls;

    public Comparisons(Selections selections) {
        this(selections, null);
    }

    /** @param layerNulls the layer statistic's resampled nulls; null: the analytic bound only */
    public Comparisons(Selections selections, LayerNulls layerNulls) {
        this.selections = selections;
        this.layerNulls = layerNulls;
    }

    public Compared compare(CompareQuery query, Cancellation cancellation) {
        String version = selections.version(query.model());
        String modelId = query.model().modelId();
        List<TapDescriptor> taps = query.tap().isEmpty() ? selections.taps(modelId, version)
                : List.of(selections.tap(modelId, version, query.tap()));
        int neurons = taps.stream().mapToInt(TapDescriptor::neuronCount).sum();
        if (neurons > CompareQuery.MAX_NEURONS_PER_RESPONSE) {
            throw new IllegalArgumentException("the model's taps hold " + neurons + " neurons, more than one response "
                    + "carries (" + CompareQuery.MAX_NEURONS_PER_RESPONSE + "): name a tap");
        }
        Sides sides = bind(modelId, taps, query.a(), query.b());
        List<TapComparison> out = new ArrayList<>();
        TapDescriptor onset = null;
        for (TapDescriptor tap : taps) {
            cancellation.check();
            TapComparison c = compareTap(tap, sides, query.verdict(), query.topK());
            out.add(c);
            if (onset == null && c.crosses(query.onsetShare())) {
                onset = tap;
            }
        }
        return new Compared(version, out, query.verdict(), onset);
    }

    /** Both selections of a call, bound once and checked against every tap before any is read. */
    public record Sides(Selections.Bound a, Selections.Bound b) {
    }

    public Sides bind(String modelId, List<TapDescriptor> taps, Selection a, Selection b) {
        Sides sides = new Sides(selections.bind(modelId, a), selections.bind(modelId, b));
        for (TapDescriptor tap : taps) {
            selections.check(tap, sides.a());
            selections.check(tap, sides.b());
        }
        return sides;
    }

    /** One tap A against B, from the kept comparisons when both sides are cached and unchanged. */
    public TapComparison compareTap(TapDescriptor tap, Sides sides, Verdict verdict, int topK) {
        Selections.Read ra = selections.readTracked(tap, sides.a(), true);
        Selections.Read rb = selections.readTracked(tap, sides.b(), true);
        Key key = ra.cacheKey() == null || rb.cacheKey() == null ? null : new Key(ra.cacheKey(), ra.version(),
                rb.cacheKey(), rb.version(), verdict.metric(), topK, verdict.threshold(), verdict.familyWiseAlpha(),
                verdict.layerThreshold());
        TapComparison kept = key == null ? null : recent.get(key);
        if (kept != null) {
            return kept;
        }
        TapComparison c = of(tap, ra.distribution(), sides.a().selection(), rb.distribution(),
                sides.b().selection(), verdict, topK, layerNulls == null ? null
                        : layerNulls.sourceFor(tap, selections.sampleScope(tap, sides.a())));
        if (key != null) {
            recent.put(key, c);
        }
        return c;
    }

    /** One tap's distributions compared; a side without observations is a failed precondition naming it. */
    static TapComparison of(TapDescriptor tap, TapDistribution a, Selection sideA, TapDistribution b,
            Selection sideB, Verdict verdict, int topK) {
        return of(tap, a, sideA, b, sideB, verdict, topK, null);
    }

    /** {@link #of}, the layer statistic's null resampled where {@code layerNull} has a sample. */
    static TapComparison of(TapDescriptor tap, TapDistribution a, Selection sideA, TapDistribution b,
            Selection sideB, Verdict verdict, int topK, ai.neuraldivergence.domain.LayerNull.Source layerNull) {
        if (a.observationCount() == 0 || b.observationCount() == 0) {
            throw new FailedPreconditionException("selection " + (a.observationCount() == 0
                    ? "a (" + sideA.describe() + ")" : "b (" + sideB.describe() + ")")
                    + " holds no observations of tap '" + tap.tap() + "'");
        }
        return TapComparison.of(tap, a, b, verdict.metric(), topK, verdict.threshold(), verdict.familyWiseAlpha(),
                Divergence.DEFAULT_BINS, verdict.layerThreshold(), layerNull);
    }
}

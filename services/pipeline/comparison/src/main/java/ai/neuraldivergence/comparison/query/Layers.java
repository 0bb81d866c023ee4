package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.query.LayerQuery;
import java.util.ArrayList;
import java.util.List;

/** Every tap of a version A against B in network order, and where the divergence starts (the onset tap). */
public final class Layers {

    /** The taps' summaries, and the first tap whose drifted share passes the onset share (null when none does). */
    public record Overview(String version, List<TapComparison> taps, TapDescriptor onset) {
    }

    private final Comparisons comparisons;
    private final Selections selections;

    public Layers(Comparisons comparisons, Selections selections) {
        this.comparisons = comparisons;
        this.selections = selections;
    }

    public Overview overview(LayerQuery query, Cancellation cancellation) {
        String version = selections.version(query.model());
        List<TapDescriptor> taps = selections.taps(query.model().modelId(), version);
        Comparisons.Sides sides = comparisons.bind(query.model().modelId(), taps, query.a(), query.b());
        List<TapComparison> out = new ArrayList<>();
        TapDescriptor onset = null;
        for (TapDescriptor tap : taps) {
            cancellation.check();
            // top-k 0: an overview carries summaries only
            TapComparison c = comparisons.compareTap(tap, sides, query.verdict(), 0);
            out.add(c);
            if (onset == null && c.crosses(query.onsetShare())) {
                onset = tap;
            }
        }
        return new Overview(version, out, onset);
    }
}

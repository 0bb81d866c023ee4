package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.query.Selection;
import ai.neuraldivergence.domain.query.TimelineQuery;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Each window of a range against a reference, per tap: the drifted share and the onset tap per window. */
public final class Timelines {

    /** One window with observations: its taps' summaries and its onset tap (null when none crosses). */
    public record Point(Instant start, Granularity granularity, List<TapComparison> taps, String onsetTap) {
    }

    private final Selections selections;
    private final LayerNulls layerNulls;

    public Timelines(Selections selections) {
        this(selections, null);
    }

    /** @param layerNulls the layer statistic's nulls resampled from the reference's sample; null: analytic only */
    public Timelines(Selections selections, LayerNulls layerNulls) {
        this.selections = selections;
        this.layerNulls = layerNulls;
    }

    /** The windows that hold observations, in order; the others are left out. */
    public List<Point> timeline(TimelineQuery query, Cancellation cancellation) {
        String modelId = query.model().modelId();
        String version = selections.version(query.model());
        List<TapDescriptor> taps = new ArrayList<>();
        if (query.taps().isEmpty()) {
            taps.addAll(selections.taps(modelId, version));
        } else {
            for (String t : query.taps()) {
                taps.add(selections.tap(modelId, version, t));
            }
        }
        Selections.Bound reference = selections.bind(modelId,
                new Selection.Reference(query.reference(), query.range().slice()));
        Map<String, TapDistribution> referenceByTap = new LinkedHashMap<>();
        // every window of a tap is judged against the reference's one sample: its nulls are resampled once per bucket
        Map<String, ai.neuraldivergence.domain.LayerNull.Source> nullByTap = new LinkedHashMap<>();
        for (TapDescriptor tap : taps) {
            TapDistribution d = selections.read(tap, reference);
            if (d.observationCount() == 0) {
                throw new FailedPreconditionException("reference '" + query.reference() + "' holds no observations "
                        + "of tap '" + tap.tap() + "' in slice " + query.range().slice().key());
            }
            referenceByTap.put(tap.tap(), d);
            nullByTap.put(tap.tap(), layerNulls == null ? null
                    : layerNulls.sourceFor(tap, selections.sampleScope(tap, reference)));
        }
        List<Point> out = new ArrayList<>();
        for (TimelineQuery.Window w : selections.timelineWindows(query, version)) {
            cancellation.check();
            Instant start = w.start();
            Granularity g = w.granularity();
            Selections.Bound window = selections.bind(modelId, new Selection.Range(start, start.plus(g.length()),
                    query.range().slice()));
            List<TapComparison> compared = new ArrayList<>();
            String onset = null;
            for (TapDescriptor tap : taps) {
                // a sweep reads each window once: through the cache it would only evict what live views use
                TapDistribution d = selections.readUncached(tap, window);
                if (d.observationCount() == 0) {
                    continue;
                }
                TapComparison c = TapComparison.of(tap, referenceByTap.get(tap.tap()), d, query.verdict().metric(),
                        0, query.verdict().threshold(), query.verdict().familyWiseAlpha(),
                        ai.neuraldivergence.domain.Divergence.DEFAULT_BINS, query.verdict().layerThreshold(),
                        nullByTap.get(tap.tap()));
                // only the summary answers: every neuron of every point kept would grow with points x neurons
                compared.add(c.summaryOnly());
                if (onset == null && c.crosses(query.onsetShare())) {
                    onset = tap.tap();
                }
            }
            if (!compared.isEmpty()) {
                out.add(new Point(start, g, compared, onset));
            }
        }
        return out;
    }
}

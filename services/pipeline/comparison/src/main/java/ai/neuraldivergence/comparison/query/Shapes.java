package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.query.NeuronShapes;
import ai.neuraldivergence.domain.query.ShapesQuery;
import java.util.List;

/** Histograms and quantiles of chosen neurons for A (and B on the same bins), for plotting. */
public final class Shapes {

    public record Shaped(String version, TapDescriptor tap, List<NeuronShapes.NeuronShape> neurons) {
    }

    private final Selections selections;

    public Shapes(Selections selections) {
        this.selections = selections;
    }

    public Shaped shapes(ShapesQuery query) {
        String modelId = query.model().modelId();
        String version = selections.version(query.model());
        TapDescriptor tap = selections.tap(modelId, version, query.tap());
        NeuronShapes.Request request = NeuronShapes.Request.of(tap, query);
        Selections.Bound a = selections.bind(modelId, query.a());
        Selections.Bound b = query.b() == null ? null : selections.bind(modelId, query.b());
        selections.check(tap, a);
        if (b != null) {
            selections.check(tap, b);
        }
        TapDistribution da = selections.read(tap, a);
        TapDistribution db = b == null ? null : selections.read(tap, b);
        return new Shaped(version, tap, NeuronShapes.shapes(request, da, db));
    }
}

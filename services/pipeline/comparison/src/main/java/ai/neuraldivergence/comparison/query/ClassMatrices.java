package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.query.ClassMatrixQuery;
import java.util.ArrayList;
import java.util.List;

/**
 * Every pair of classes (predicted or true label) of one tap in one source, compared: each cell holds the metric's
 * mean over the tap's neurons and the share of drifted neurons. The metrics are symmetric, so each pair is computed
 * once and mirrored; classes without observations are left out.
 */
public final class ClassMatrices {

    /** One cell: class A's distribution against class B's. */
    public record Cell(int classA, int classB, double value, double driftedShare, long countA, long countB) {
    }

    /** The classes in order, and cells[i][j] = classes[i] against classes[j] (the diagonal: value 0). */
    public record Matrix(List<Integer> classes, Cell[][] cells) {
    }

    private final Selections selections;

    public ClassMatrices(Selections selections) {
        this.selections = selections;
    }

    public Matrix matrix(ClassMatrixQuery query, Cancellation cancellation) {
        String version = selections.version(query.model());
        TapDescriptor tap = selections.tap(query.model().modelId(), version, query.tap());
        Selections.Bound source = selections.bind(query.model().modelId(), query.source());
        selections.check(tap, source);
        List<Slice> classSlices = selections.slicesOf(tap, source).stream()
                .filter(s -> s.kind() == query.classBy()).toList();
        // counted before any is read: the matrix grows with the square of its classes
        if (classSlices.size() > ClassMatrixQuery.MAX_CLASSES) {
            throw new FailedPreconditionException("the source holds " + classSlices.size() + " classes of tap '"
                    + tap.tap() + "', more than a class matrix carries (" + ClassMatrixQuery.MAX_CLASSES + ")");
        }
        List<Integer> classes = new ArrayList<>();
        List<TapDistribution> distributions = new ArrayList<>();
        for (Slice s : classSlices) {
            TapDistribution d = selections.read(tap, source.withSlice(s));
            if (d.observationCount() > 0) {
                classes.add(Integer.parseInt(s.value()));
                distributions.add(d);
            }
        }
        Cell[][] cells = new Cell[classes.size()][classes.size()];
        for (int i = 0; i < classes.size(); i++) {
            long n = distributions.get(i).observationCount();
            cells[i][i] = new Cell(classes.get(i), classes.get(i), 0, 0, n, n);
            for (int j = i + 1; j < classes.size(); j++) {
                cancellation.check();
                TapComparison c = Comparisons.of(tap, distributions.get(i), source.selection(),
                        distributions.get(j), source.selection(), query.verdict(), 0);
                cells[i][j] = new Cell(classes.get(i), classes.get(j), c.mean(), c.driftedShare(), c.countA(),
                        c.countB());
                cells[j][i] = new Cell(classes.get(j), classes.get(i), c.mean(), c.driftedShare(), c.countB(),
                        c.countA());
            }
        }
        return new Matrix(classes, cells);
    }
}

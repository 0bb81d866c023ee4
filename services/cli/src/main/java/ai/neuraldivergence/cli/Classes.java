package ai.neuraldivergence.cli;

import static ai.neuraldivergence.cli.Text.percent;

import ai.neuraldivergence.proto.v1.ClassBy;
import ai.neuraldivergence.proto.v1.ClassMatrix;
import ai.neuraldivergence.proto.v1.ClassMatrixCell;
import ai.neuraldivergence.proto.v1.ClassMatrixRequest;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "classes", description = "Divergence between every pair of classes of one tap.")
final class Classes extends Call {

    @Mixin
    ModelVersion target;

    @Option(names = "--tap", required = true)
    String tap;

    @Option(names = "--source", required = true, description = "ref:NAME or a time range")
    String source;

    @Option(names = "--by", description = "predicted or label (default ${DEFAULT-VALUE})")
    String by = "predicted";

    @Mixin
    MetricOption metric;

    @Override
    public Integer call() throws Exception {
        ClassMatrixRequest.Builder request = ClassMatrixRequest.newBuilder().setModelId(target.model)
                .setModelVersion(target.version).setTap(tap).setMetric(metric.metric()).setClassBy(switch (by) {
                    case "predicted" -> ClassBy.CLASS_BY_PREDICTED;
                    case "label" -> ClassBy.CLASS_BY_TRUE_LABEL;
                    default -> throw new IllegalArgumentException("--by is predicted or label, got '" + by + "'");
                });
        var selection = Specs.selection(source);
        if (selection.hasSlice() && !selection.getSlice().getAll()) {
            // the matrix's rows and columns are the slices: a slice of the source would be dropped without a word
            throw new IllegalArgumentException("--source takes no slice (@...): the matrix compares the classes of "
                    + "all the source's observations");
        }
        if (selection.hasTimeRange()) {
            request.setTimeRange(selection.getTimeRange());
        } else {
            request.setReference(selection.getReference());
        }
        return call("comparing classes", s -> s.getClassMatrix(request.build()), (ClassMatrix m) -> {
            print(table(m));
            w().println("cells: mean " + metric.word + " over the tap's neurons (drifted share)");
        });
    }

    /** A row and a column per class; the diagonal is "-". */
    private static Table table(ClassMatrix m) {
        String[] header = new String[m.getClassesCount() + 1];
        header[0] = "CLASS";
        for (int i = 0; i < m.getClassesCount(); i++) {
            header[i + 1] = String.valueOf(m.getClasses(i));
        }
        Table t = new Table(header);
        int n = m.getClassesCount();
        for (int i = 0; i < n; i++) {
            Object[] row = new Object[n + 1];
            row[0] = m.getClasses(i);
            for (int j = 0; j < n; j++) {
                ClassMatrixCell c = m.getCells(i * n + j);
                row[j + 1] = i == j ? "-" : String.format(Locale.ROOT, "%.3f (%s)", c.getValue(),
                        percent(c.getDriftedShare()));
            }
            t.row(row);
        }
        return t;
    }
}

package ai.neuraldivergence.cli;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.MonitorDefinition;
import ai.neuraldivergence.wire.WireMapping;
import picocli.CommandLine.Option;

/**
 * What a monitor watches and when it fires, as options: create takes them over the defaults, update over the
 * monitor's current definition (an option not given keeps what is there).
 */
final class MonitorOptions {

    @Option(names = "--tap", description = "a tap, or * for every tap (default *)")
    String tap;

    @Option(names = "--reference", description = "the reference to compare with (default training)")
    String reference;

    @Option(names = "--slice", description = "all (default), predicted=3, label=3, tag:k=v, pair=benign")
    String slice;

    @Option(names = "--metric", description = "ks (default), wasserstein, jensen_shannon, psi, mean_shift")
    String metric;

    @Option(names = "--threshold", description = "the value above which a window counts as drifted (0.15)")
    Double threshold;

    @Option(names = "--windows-in-a-row", description = "evaluations in a row before the state changes (2)")
    Integer windowsInARow;

    @Option(names = "--min-observations", description = "observations an evaluation needs (200)")
    Long minObservations;

    @Option(names = "--max-span", description = "the longest window an evaluation may grow to, e.g. 1h (1h)")
    String maxSpan;

    /** {@code base} with every option given set over it. */
    MonitorDefinition applyTo(MonitorDefinition base) {
        MonitorDefinition.Builder b = base.toBuilder();
        if (tap != null) {
            b.setTap(tap);
        }
        if (reference != null) {
            b.setReference(reference);
        }
        if (slice != null) {
            b.setSlice(WireMapping.slice(Slice.parse(slice)));
        }
        if (metric != null) {
            b.setMetric(Text.metric(metric));
        }
        if (threshold != null) {
            b.setThreshold(threshold);
        }
        if (windowsInARow != null) {
            b.setWindowsInARow(windowsInARow);
        }
        if (minObservations != null) {
            b.setMinObservations(minObservations);
        }
        if (maxSpan != null) {
            b.setMaxSpanMinutes(Math.toIntExact(Specs.duration(maxSpan).toMinutes()));
        }
        return b.build();
    }
}

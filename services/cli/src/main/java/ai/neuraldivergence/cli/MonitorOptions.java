package ai.neuraldivergence.cli;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.MonitorDefinition;
import ai.neuraldivergence.wire.WireMapping;
import java.util.function.Consumer;
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

    @Option(names = "--metric", description = "ks (default), wasserstein, jensen_shannon, psi, mean_shift, or mmd (the "
            + "layer statistic: the tap's neurons together)")
    String metric;

    @Option(names = "--mode", description = "fixed (default: --threshold) or calibrated (metric ks or mmd: "
            + "--minimum-effect and --false-alarm-budget)")
    String mode;

    @Option(names = "--threshold", description = "fixed mode: the value above which a window counts as drifted (0.15; "
            + "0.005 for mmd)")
    Double threshold;

    @Option(names = "--minimum-effect", description = "calibrated mode: the smallest change worth an alert, in mean "
            + "KS (0.05) or MMD² (0.001)")
    Double minimumEffect;

    @Option(names = "--false-alarm-budget", description = "calibrated mode: false alarms allowed per 30 days, every "
            + "tap together (1)")
    Double falseAlarmBudget;

    @Option(names = "--windows-in-a-row", description = "evaluations in a row before the state changes (2)")
    Integer windowsInARow;

    @Option(names = "--min-observations", description = "observations an evaluation needs (200)")
    Long minObservations;

    @Option(names = "--max-span", description = "the longest window an evaluation may grow to, e.g. 1h (1h)")
    String maxSpan;

    /** {@code base} with every option given set over it. */
    MonitorDefinition applyTo(MonitorDefinition base) {
        MonitorDefinition.Builder b = base.toBuilder();
        given(tap, b::setTap);
        given(reference, b::setReference);
        given(slice, s -> b.setSlice(WireMapping.slice(Slice.parse(s))));
        given(metric, m -> b.setMetric(Text.metric(m)));
        given(mode, m -> b.setMode(WireMapping.mode(ai.neuraldivergence.domain.monitor.MonitorDefinition.mode(m))));
        given(threshold, b::setThreshold);
        given(minimumEffect, b::setMinimumEffect);
        given(falseAlarmBudget, b::setFalseAlarmBudget);
        given(windowsInARow, b::setWindowsInARow);
        given(minObservations, b::setMinObservations);
        given(maxSpan, span -> b.setMaxSpanMinutes(Math.toIntExact(Specs.duration(span).toMinutes())));
        return b.build();
    }

    /** An option left out (null) keeps what the definition holds. */
    private static <T> void given(T option, Consumer<T> set) {
        if (option != null) {
            set.accept(option);
        }
    }
}

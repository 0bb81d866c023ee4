package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.Selection;
import picocli.CommandLine.Option;

/**
 * The two sides a comparison sets against each other, as the user types them (see {@link Specs}), and the layer
 * statistic's minimum relevant effect every comparison of sides takes.
 */
final class Sides {

    @Option(names = "--a", required = true, description = "side A, e.g. ref:training")
    String a;

    @Option(names = "--b", required = true, description = "side B, e.g. last:15m")
    String b;

    @Option(names = "--layer-threshold", description = "the layer statistic's minimum relevant effect, in MMD²: a "
            + "tap's layer is drifted when its MMD² exceeds it plus the null quantile (default 0.001)")
    double layerThreshold;

    Selection a() {
        return Specs.selection(a);
    }

    Selection b() {
        return Specs.selection(b);
    }
}

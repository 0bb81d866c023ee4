package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.Metric;
import picocli.CommandLine.Option;

/** The divergence a command computes, as the user types it; Compare takes the same word as --rank-by. */
final class MetricOption {

    @Option(names = "--metric")
    String word = "ks";

    Metric metric() {
        return Text.metric(word);
    }
}

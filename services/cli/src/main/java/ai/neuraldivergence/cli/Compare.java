package ai.neuraldivergence.cli;

import static ai.neuraldivergence.cli.Text.metric;
import static ai.neuraldivergence.cli.Text.percent;
import static ai.neuraldivergence.cli.Text.word;

import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.NeuronDivergence;
import ai.neuraldivergence.proto.v1.TapDivergence;
import ai.neuraldivergence.proto.v1.TapSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "compare", description = "A against B, per neuron: the top neurons of each tap and its summary.")
final class Compare extends Call {

    @Option(names = "--model", required = true)
    String model;

    // not ModelVersion: this --version has its own help text
    @Option(names = "--version", description = "model version (default: the newest)")
    String version = "";

    @Option(names = "--tap", description = "one tap (default: every tap)")
    String tap = "";

    @Mixin
    Sides sides;

    @Option(names = "--rank-by", description = "ks, wasserstein, jensen_shannon, psi or mean_shift")
    String rankBy = "ks";

    @Option(names = "--top", description = "neurons listed per tap (default ${DEFAULT-VALUE})")
    int top = 10;

    @Option(names = "--threshold", description = "the minimum relevant effect: a neuron is drifted when KS less its "
            + "sketch and sampling bounds exceeds it (default 0.1)")
    double threshold;

    @Option(names = "--alpha", description = "family-wise error rate of the sampling bounds over a tap's neurons "
            + "(default 0.01)")
    double alpha;

    @Override
    public Integer call() throws Exception {
        CompareRequest request = CompareRequest.newBuilder().setModelId(model).setModelVersion(version)
                .setTap(tap).setA(sides.a()).setB(sides.b()).setRankBy(metric(rankBy))
                .setTopK(top).setDriftThreshold(threshold).setFamilyWiseAlpha(alpha)
                .setLayerDriftThreshold(sides.layerThreshold).build();
        return call("comparing", s -> s.compare(request), (CompareResponse r) -> {
            for (TapDivergence t : r.getTapsList()) {
                TapSummary sum = t.getSummary();
                w().printf("tap %s (#%d, %d neurons): %s drifted, %s mean %.4f max %.4f, A %d / B %d "
                        + "observations, smallest detectable KS %.4f%n", sum.getTap(), sum.getTapIndex(),
                        sum.getNeuronCount(), percent(sum.getDriftedShare()), word(sum.getMetric()), sum.getMean(),
                        sum.getMax(), sum.getCountA(), sum.getCountB(), sum.getSmallestDetectableKs());
                w().println(Text.layer(sum.getLayer()));
                Table table = new Table("NEURON", "KS", "+-SKETCH", "+-SAMPLING", "W1", "JS", "PSI", "MEAN SHIFT",
                        "DIRECTION", "DRIFTED");
                for (int n : t.getTopNeuronsList()) {
                    NeuronDivergence d = t.getNeurons(n);
                    table.row(n, d.getKs(), d.getKsErrorBound(), d.getKsSamplingBound(), d.getWasserstein(),
                            d.getJensenShannon(),
                            d.getPsi(), d.getMeanShift(), Text.word(d.getDirection(), "DIRECTION_"),
                            d.getDrifted() ? "yes" : "no");
                }
                print(table);
                w().println();
            }
        });
    }
}

package ai.neuraldivergence.cli;

import static ai.neuraldivergence.cli.Text.percent;

import ai.neuraldivergence.proto.v1.LayerOverview;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import ai.neuraldivergence.proto.v1.TapSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "layers", description = "Every tap A against B in network order, and the divergence onset.")
final class Layers extends Call {

    @Mixin
    ModelVersion target;

    @Mixin
    Sides sides;

    @Mixin
    MetricOption metric;

    @Option(names = "--onset", description = "drifted share that marks the onset tap (default 0.05)")
    double onset;

    @Override
    public Integer call() throws Exception {
        LayerOverviewRequest request = LayerOverviewRequest.newBuilder().setModelId(target.model)
                .setModelVersion(target.version).setA(sides.a()).setB(sides.b())
                .setMetric(metric.metric()).setOnsetShare(onset).setLayerDriftThreshold(sides.layerThreshold)
                .build();
        return call("comparing layers", s -> s.getLayerOverview(request), (LayerOverview o) -> {
            Table t = new Table("TAP", "INDEX", "NEURONS", "DRIFTED", "MEAN", "MAX", "LAYER", "MMD²", "A", "B",
                    "ONSET");
            for (TapSummary s : o.getTapsList()) {
                t.row(s.getTap(), s.getTapIndex(), s.getNeuronCount(), percent(s.getDriftedShare()), s.getMean(),
                        s.getMax(), Text.layerCell(s.getLayer()), s.getLayer().getMmd(), s.getCountA(),
                        s.getCountB(), s.getTap().equals(o.getOnsetTap()) ? "<- onset" : "");
            }
            print(t);
            w().println(o.getOnsetTap().isEmpty() ? "no tap crosses the onset share"
                    : "divergence onset: " + o.getOnsetTap());
        });
    }
}

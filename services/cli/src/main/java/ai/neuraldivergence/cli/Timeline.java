package ai.neuraldivergence.cli;

import static ai.neuraldivergence.cli.Text.percent;

import ai.neuraldivergence.wire.WireMapping;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.DriftTimeline;
import ai.neuraldivergence.proto.v1.DriftTimelineRequest;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "timeline", description = "Each window of a range against a reference, per tap.")
final class Timeline extends Call {

    @Mixin
    ModelVersion target;

    @Option(names = "--reference", description = "default ${DEFAULT-VALUE}")
    String reference = "training";

    @Option(names = "--range", description = "default ${DEFAULT-VALUE}")
    String range = "last:1h";

    @Option(names = "--tap", description = "taps (default: all)")
    List<String> taps = List.of();

    @Option(names = "--slice", description = "default all")
    String slice = "all";

    @Override
    public Integer call() throws Exception {
        DriftTimelineRequest request = DriftTimelineRequest.newBuilder().setModelId(target.model)
                .setModelVersion(target.version).setReference(reference).setRange(Specs.range(range))
                .addAllTaps(taps).setSlice(WireMapping.slice(Slice.parse(slice))).build();
        return call("computing the timeline", s -> s.getDriftTimeline(request), (DriftTimeline tl) -> {
            Table t = new Table("WINDOW", "TAP", "DRIFTED", "MEAN KS", "OBSERVATIONS", "ONSET");
            tl.getPointsList().forEach(p -> p.getTapsList().forEach(s -> t.row(Specs.time(p.getWindow()
                    .getStart()), s.getTap(), percent(s.getDriftedShare()), s.getMean(), s.getCountB(),
                    s.getTap().equals(p.getOnsetTap()) ? "<- onset" : "")));
            print(t);
        });
    }
}

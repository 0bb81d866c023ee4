package ai.neuraldivergence.cli;

import ai.neuraldivergence.wire.WireMapping;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.Reference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "create", description = "Freeze a time range into a named reference.")
final class ReferencesCreate extends Call {

    @Parameters(index = "0", description = "the reference's name")
    String name;

    @Mixin
    ModelVersion target;

    @Option(names = "--range", required = true, description = "last:1h or FROM/TO")
    String range;

    @Option(names = "--slice", description = "freeze one slice only, as the whole population")
    String slice;

    @Override
    public Integer call() throws Exception {
        CreateReferenceRequest.Builder request = CreateReferenceRequest.newBuilder().setName(name)
                .setModelId(target.model).setModelVersion(target.version).setRange(Specs.range(range));
        if (slice != null) {
            request.setSlice(WireMapping.slice(Slice.parse(slice)));
        }
        return call("freezing", s -> s.createReference(request.build()), (Reference r) ->
                w().printf("created reference %s of %s %s: %d observations%n", r.getName(), r.getModelId(),
                        r.getModelVersion(), r.getObservationCount()));
    }
}

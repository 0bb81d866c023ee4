package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.Reference;
import ai.neuraldivergence.proto.v1.SealReferenceRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "seal", description = "Seal a tagged reference once each tap holds --expected observations.")
final class ReferencesSeal extends Call {

    @Parameters(index = "0", description = "the reference's name")
    String name;

    @Option(names = "--model", required = true)
    String model;

    // not ModelVersion: this --version has its own help text
    @Option(names = "--version", description = "default: the newest")
    String version = "";

    @Option(names = "--expected", required = true, description = "observations per tap it is complete with")
    long expected;

    @Override
    public Integer call() throws Exception {
        return call("sealing", s -> s.sealReference(SealReferenceRequest.newBuilder().setModelId(model)
                .setModelVersion(version).setName(name).setExpectedObservations(expected).build()), (Reference r) ->
                w().printf("reference %s of %s %s: %s, %d of %d observations%n", r.getName(), r.getModelId(),
                        r.getModelVersion(), References.state(r), r.getObservationCount(), expected));
    }
}

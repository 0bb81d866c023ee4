package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.DeleteReferenceRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "delete", description = "Delete a reference (every version of it, unless --version).")
final class ReferencesDelete extends Call {

    @Parameters(index = "0")
    String name;

    @Option(names = "--model", required = true)
    String model;

    // not ModelVersion: this --version has its own help text
    @Option(names = "--version", description = "only this version's")
    String version = "";

    @Override
    public Integer call() throws Exception {
        return call("deleting", s -> s.deleteReference(DeleteReferenceRequest.newBuilder().setModelId(model)
                .setName(name).setModelVersion(version).build()), r -> w().println("deleted reference " + name
                        + " of " + model));
    }
}

package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.ListReferencesRequest;
import ai.neuraldivergence.proto.v1.Reference;
import picocli.CommandLine.Command;

@Command(name = "list", description = "Every reference.")
final class ReferencesList extends ModelListing {

    @Override
    public Integer call() throws Exception {
        return list(s -> s.listReferences(ListReferencesRequest.newBuilder().setModelId(model)
                .build()), r -> {
                    Table t = new Table("MODEL", "NAME", "VERSION", "ORIGIN", "STATE", "OBSERVATIONS", "CREATED",
                            "SEALED");
                    for (Reference ref : r.getReferencesList()) {
                        t.row(ref.getModelId(), ref.getName(), ref.getModelVersion(), Text.word(ref.getOrigin(), "REFERENCE_ORIGIN_"),
                                References.state(ref), ref.getObservationCount(), Specs.time(ref.getCreatedAt()),
                                ref.hasSealedAt() ? Specs.time(ref.getSealedAt()) : "-");
                    }
                    print(t);
                });
    }
}

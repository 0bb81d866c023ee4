package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.Reference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "models", description = "Models, versions, taps in network order, slices, coverage, references.")
final class Models extends Call {

    @Option(names = "--model", description = "one model only")
    String model = "";

    @Override
    public Integer call() throws Exception {
        return call("catalog", s -> s.getCatalog(GetCatalogRequest.newBuilder().setModelId(model).build()),
                (Catalog c) -> {
                    Table t = new Table("MODEL", "VERSION", "TAP", "INDEX", "SHAPE", "NEURONS", "REDUCTION");
                    c.getModelsList().forEach(m -> m.getVersionsList().forEach(v -> v.getTapsList().forEach(tap ->
                            t.row(m.getModelId(), v.getModelVersion(), tap.getName(), tap.getIndex(),
                                    tap.getShapeList(), tap.getNeuronCount(), Text.word(tap.getReduction(), "REDUCTION_")))));
                    print(t);
                    c.getModelsList().forEach(m -> m.getVersionsList().forEach(v -> {
                        w().printf("%s %s: %s observations, %s .. %s, %d slices, references %s%n", m.getModelId(),
                                v.getModelVersion(), v.getObservationCount(), v.hasCoverage()
                                        ? Specs.time(v.getCoverage().getFrom()) : "-", v.hasCoverage()
                                        ? Specs.time(v.getCoverage().getTo()) : "-", v.getSlicesCount(),
                                v.getReferencesList().stream().map(Reference::getName).toList());
                    }));
                });
    }
}

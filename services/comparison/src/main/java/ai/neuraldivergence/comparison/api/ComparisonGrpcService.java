package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.config.ComparisonConfig;
import ai.neuraldivergence.comparison.service.SelectionReader;
import ai.neuraldivergence.comparison.service.ShapesQuery;
import ai.neuraldivergence.contract.ProtoSlices;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.CatalogModel;
import ai.neuraldivergence.proto.v1.CatalogVersion;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.DistributionShapes;
import ai.neuraldivergence.proto.v1.DistributionShapesRequest;
import ai.neuraldivergence.proto.v1.DistributionSummary;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.NeuronShape;
import ai.neuraldivergence.proto.v1.Quantile;
import ai.neuraldivergence.proto.v1.TagValues;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import io.agroal.api.AgroalDataSource;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The comparison API over gRPC. Calls read PostgreSQL, so they run on worker threads. Calls not overridden here
 * answer UNIMPLEMENTED until their issue lands (see the README's roadmap).
 */
@GrpcService
@Blocking
public class ComparisonGrpcService extends ComparisonServiceGrpc.ComparisonServiceImplBase {

    private final CatalogStore catalog;
    private final SelectionReader reader;
    private final ComparisonConfig config;

    @Inject
    public ComparisonGrpcService(AgroalDataSource dataSource, ComparisonConfig config) {
        this.catalog = new CatalogStore(dataSource);
        this.reader = new SelectionReader(catalog, new TapWindowStore(dataSource));
        this.config = config;
    }

    @Override
    public void getCatalog(GetCatalogRequest request, StreamObserver<Catalog> response) {
        reply(response, GrpcErrors.call("GetCatalog", () -> catalog(request.getModelId())));
    }

    @Override
    public void getDistributionShapes(DistributionShapesRequest request, StreamObserver<DistributionShapes> response) {
        reply(response, GrpcErrors.call("GetDistributionShapes", () -> shapes(request)));
    }

    private Catalog catalog(String modelId) {
        Map<String, CatalogModel.Builder> models = new LinkedHashMap<>();
        for (CatalogStore.VersionCoverage v : catalog.versions(modelId.isEmpty() ? null : modelId)) {
            CatalogVersion.Builder version = CatalogVersion.newBuilder()
                    .setModelVersion(v.modelVersion())
                    .setObservationCount(v.observationCount());
            catalog.taps(v.modelId(), v.modelVersion()).forEach(t -> version.addTaps(ProtoMapping.tapInfo(t)));
            Map<String, TreeSet<String>> tagValues = new TreeMap<>();
            for (String key : catalog.sliceKeys(v.modelId(), v.modelVersion())) {
                Slice slice = Slice.parse(key);
                version.addSlices(ProtoSlices.toProto(slice));
                if (slice.kind() == Slice.Kind.TAG) {
                    tagValues.computeIfAbsent(slice.tagKey(), k -> new TreeSet<>()).add(slice.value());
                }
            }
            tagValues.forEach((k, values) -> version.addTagValues(TagValues.newBuilder().setKey(k)
                    .addAllValues(values)));
            if (v.coverageFrom() != null) {
                version.setCoverage(TimeRange.newBuilder().setFrom(ProtoMapping.timestamp(v.coverageFrom()))
                        .setTo(ProtoMapping.timestamp(v.coverageTo())));
            }
            models.computeIfAbsent(v.modelId(), id -> CatalogModel.newBuilder().setModelId(id)).addVersions(version);
        }
        Catalog.Builder out = Catalog.newBuilder();
        models.values().forEach(out::addModels);
        return out.build();
    }

    private DistributionShapes shapes(DistributionShapesRequest request) {
        String version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
        TapDescriptor tap = reader.tap(request.getModelId(), version, request.getTap());
        if (!request.hasA()) {
            throw new IllegalArgumentException("selection a is required");
        }
        ShapesQuery.Request query = new ShapesQuery.Request(tap, request.getNeuronsList(), request.getBins(),
                request.getRanksList().stream().mapToDouble(Double::doubleValue).toArray());
        TapDistribution a = reader.read(tap, ProtoMapping.timeSelection(request.getA(), "a"), config.sketchK());
        TapDistribution b = request.hasB()
                ? reader.read(tap, ProtoMapping.timeSelection(request.getB(), "b"), config.sketchK())
                : null;
        DistributionShapes.Builder out = DistributionShapes.newBuilder().setModelVersion(version)
                .setTap(ProtoMapping.tapInfo(tap));
        for (ShapesQuery.NeuronShape shape : ShapesQuery.shapes(query, a, b)) {
            NeuronShape.Builder n = NeuronShape.newBuilder().setNeuron(shape.neuron())
                    .addAllBinEdges(boxed(shape.binEdges())).setA(summary(shape.a()));
            if (shape.b() != null) {
                n.setB(summary(shape.b()));
            }
            out.addNeurons(n);
        }
        return out.build();
    }

    private static DistributionSummary summary(ShapesQuery.Side side) {
        DistributionSummary.Builder s = DistributionSummary.newBuilder().setCount(side.count())
                .setZeroCount(side.zeroCount()).setRankError(side.rankError())
                .addAllBinShares(boxed(side.binShares()));
        if (side.count() > 0) {
            s.setMin(side.min()).setMax(side.max()).setMean(side.mean()).setStddev(side.stddev());
            for (int i = 0; i < side.ranks().length; i++) {
                s.addQuantiles(Quantile.newBuilder().setRank(side.ranks()[i]).setValue(side.quantiles()[i]));
            }
        }
        return s.build();
    }

    private static List<Double> boxed(double[] values) {
        return Arrays.stream(values).boxed().toList();
    }

    private static <T> void reply(StreamObserver<T> response, T value) {
        response.onNext(value);
        response.onCompleted();
    }
}

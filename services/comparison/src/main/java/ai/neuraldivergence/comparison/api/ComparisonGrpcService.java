package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.config.ComparisonConfig;
import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteReferenceResponse;
import ai.neuraldivergence.proto.v1.DistributionShapes;
import ai.neuraldivergence.proto.v1.DistributionShapesRequest;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.LayerOverview;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import ai.neuraldivergence.proto.v1.ListReferencesRequest;
import ai.neuraldivergence.proto.v1.ListReferencesResponse;
import ai.neuraldivergence.proto.v1.Reference;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import java.util.function.Supplier;

/**
 * The comparison API over gRPC: each call is {@link ComparisonApi}'s, with its errors as status codes. Calls read
 * PostgreSQL, so they run on worker threads. Calls not overridden here answer UNIMPLEMENTED until their issue lands
 * (see the README's roadmap).
 */
@GrpcService
@Blocking
public class ComparisonGrpcService extends ComparisonServiceGrpc.ComparisonServiceImplBase {

    private final ComparisonApi api;

    @Inject
    public ComparisonGrpcService(ComparisonApi api) {
        this.api = api;
    }

    /** A cancelled call or a passed deadline stops the work between taps. */
    private static final ComparisonApi.Cancellation DEADLINE = () -> {
        Context context = Context.current();
        if (context.isCancelled()) {
            throw (context.getDeadline() != null && context.getDeadline().isExpired()
                    ? Status.DEADLINE_EXCEEDED.withDescription("the deadline passed while the comparison ran")
                    : Status.CANCELLED.withDescription("the call was cancelled")).asRuntimeException();
        }
    };

    @Override
    public void getCatalog(GetCatalogRequest request, StreamObserver<Catalog> response) {
        reply(response, "GetCatalog", () -> api.catalog(request));
    }

    @Override
    public void compare(CompareRequest request, StreamObserver<CompareResponse> response) {
        reply(response, "Compare", () -> api.compare(request, DEADLINE));
    }

    @Override
    public void getLayerOverview(LayerOverviewRequest request, StreamObserver<LayerOverview> response) {
        reply(response, "GetLayerOverview", () -> api.layerOverview(request, DEADLINE));
    }

    @Override
    public void getClassMatrix(ai.neuraldivergence.proto.v1.ClassMatrixRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.ClassMatrix> response) {
        reply(response, "GetClassMatrix", () -> api.classMatrix(request, DEADLINE));
    }

    @Override
    public void getDriftTimeline(ai.neuraldivergence.proto.v1.DriftTimelineRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.DriftTimeline> response) {
        reply(response, "GetDriftTimeline", () -> api.driftTimeline(request, DEADLINE));
    }

    @Override
    public void inspectInstance(ai.neuraldivergence.proto.v1.InspectInstanceRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.InstanceInspection> response) {
        reply(response, "InspectInstance", () -> api.inspectInstance(request, DEADLINE));
    }

    @Override
    public void inspectPair(ai.neuraldivergence.proto.v1.InspectPairRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.PairInspection> response) {
        reply(response, "InspectPair", () -> api.inspectPair(request, DEADLINE));
    }

    @Override
    public void getNeuronExemplars(ai.neuraldivergence.proto.v1.NeuronExemplarsRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.NeuronExemplars> response) {
        reply(response, "GetNeuronExemplars", () -> api.neuronExemplars(request));
    }

    @Override
    public void getDistributionShapes(DistributionShapesRequest request, StreamObserver<DistributionShapes> response) {
        reply(response, "GetDistributionShapes", () -> api.distributionShapes(request));
    }

    @Override
    public void listReferences(ListReferencesRequest request, StreamObserver<ListReferencesResponse> response) {
        reply(response, "ListReferences", () -> api.listReferences(request));
    }

    @Override
    public void createReference(CreateReferenceRequest request, StreamObserver<Reference> response) {
        reply(response, "CreateReference", () -> api.createReference(request, DEADLINE));
    }

    @Override
    public void deleteReference(DeleteReferenceRequest request, StreamObserver<DeleteReferenceResponse> response) {
        reply(response, "DeleteReference", () -> api.deleteReference(request));
    }

    private static <T> void reply(StreamObserver<T> response, String method, Supplier<T> body) {
        T value;
        try {
            value = body.get();
        } catch (RuntimeException e) {
            response.onError(GrpcErrors.status(method, e).asRuntimeException());
            return;
        }
        response.onNext(value);
        response.onCompleted();
    }
}

package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.auth.TokenInterceptor;
import ai.neuraldivergence.contract.AccessTokens;
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
 * The comparison API over gRPC: each call is answered through the {@link Rpcs} table, with its errors as status
 * codes; Watch streams
 * from the {@link ai.neuraldivergence.comparison.service.WatchHub}. Calls read PostgreSQL, so they run on worker
 * threads.
 */
@GrpcService
@Blocking
public class ComparisonGrpcService extends ComparisonServiceGrpc.ComparisonServiceImplBase {

    private final Rpcs rpcs;
    private final ai.neuraldivergence.comparison.service.WatchHub hub;

    @Inject
    public ComparisonGrpcService(Rpcs rpcs, ai.neuraldivergence.comparison.service.WatchHub hub) {
        this.rpcs = rpcs;
        this.hub = hub;
    }

    @Override
    public void listMonitors(ai.neuraldivergence.proto.v1.ListMonitorsRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.ListMonitorsResponse> response) {
        reply(response, "ListMonitors", request);
    }

    @Override
    public void createMonitor(ai.neuraldivergence.proto.v1.CreateMonitorRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.MonitorDefinition> response) {
        reply(response, "CreateMonitor", request);
    }

    @Override
    public void updateMonitor(ai.neuraldivergence.proto.v1.UpdateMonitorRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.MonitorDefinition> response) {
        reply(response, "UpdateMonitor", request);
    }

    @Override
    public void deleteMonitor(ai.neuraldivergence.proto.v1.DeleteMonitorRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.DeleteMonitorResponse> response) {
        reply(response, "DeleteMonitor", request);
    }

    @Override
    public void getMonitorHistory(ai.neuraldivergence.proto.v1.MonitorHistoryRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.MonitorHistory> response) {
        reply(response, "GetMonitorHistory", request);
    }

    /**
     * Streams window updates and monitor transitions as they happen. gRPC buffers without limit when a client reads
     * slowly, so events are only handed over while the stream is ready; the rest wait in the subscriber's bounded
     * queue, and a subscriber whose queue overflows is ended with RESOURCE_EXHAUSTED.
     */
    @Override
    public void watch(ai.neuraldivergence.proto.v1.WatchRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.WatchEvent> response) {
        try {
            RequestBounds.check(request);
            ai.neuraldivergence.comparison.service.WatchFilter.validate(request);
        } catch (IllegalArgumentException e) {
            response.onError(GrpcErrors.status("Watch", e).asRuntimeException());
            return;
        }
        var call = (io.grpc.stub.ServerCallStreamObserver<ai.neuraldivergence.proto.v1.WatchEvent>) response;
        GrpcWatcher watcher = new GrpcWatcher(request, call, hub.queueCapacity());
        call.setOnReadyHandler(watcher::drain);
        call.setOnCancelHandler(() -> hub.unsubscribe(watcher));
        hub.subscribe(watcher);
    }

    private static final class GrpcWatcher extends ai.neuraldivergence.comparison.service.WatchHub.Subscriber {
        private final io.grpc.stub.ServerCallStreamObserver<ai.neuraldivergence.proto.v1.WatchEvent> call;

        GrpcWatcher(ai.neuraldivergence.proto.v1.WatchRequest request,
                io.grpc.stub.ServerCallStreamObserver<ai.neuraldivergence.proto.v1.WatchEvent> call, int capacity) {
            super(request, capacity);
            this.call = call;
        }

        @Override
        protected synchronized void drain() {
            if (closed() || call.isCancelled()) {
                return;
            }
            while (call.isReady()) {
                ai.neuraldivergence.proto.v1.WatchEvent e = poll();
                if (e == null) {
                    return;
                }
                call.onNext(e);
            }
        }

        @Override
        protected synchronized void close(String why) {
            if (!call.isCancelled()) {
                call.onError(Status.RESOURCE_EXHAUSTED.withDescription(why).asRuntimeException());
            }
        }
    }

    /** A cancelled call or a passed deadline stops the work between taps. */
    private static final ai.neuraldivergence.comparison.query.Cancellation DEADLINE = () -> {
        Context context = Context.current();
        if (context.isCancelled()) {
            throw (context.getDeadline() != null && context.getDeadline().isExpired()
                    ? Status.DEADLINE_EXCEEDED.withDescription("the deadline passed while the comparison ran")
                    : Status.CANCELLED.withDescription("the call was cancelled")).asRuntimeException();
        }
    };

    @Override
    public void getCatalog(GetCatalogRequest request, StreamObserver<Catalog> response) {
        reply(response, "GetCatalog", request);
    }

    @Override
    public void compare(CompareRequest request, StreamObserver<CompareResponse> response) {
        reply(response, "Compare", request);
    }

    @Override
    public void getLayerOverview(LayerOverviewRequest request, StreamObserver<LayerOverview> response) {
        reply(response, "GetLayerOverview", request);
    }

    @Override
    public void getClassMatrix(ai.neuraldivergence.proto.v1.ClassMatrixRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.ClassMatrix> response) {
        reply(response, "GetClassMatrix", request);
    }

    @Override
    public void getDriftTimeline(ai.neuraldivergence.proto.v1.DriftTimelineRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.DriftTimeline> response) {
        reply(response, "GetDriftTimeline", request);
    }

    @Override
    public void inspectInstance(ai.neuraldivergence.proto.v1.InspectInstanceRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.InstanceInspection> response) {
        reply(response, "InspectInstance", request);
    }

    @Override
    public void inspectPair(ai.neuraldivergence.proto.v1.InspectPairRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.PairInspection> response) {
        reply(response, "InspectPair", request);
    }

    @Override
    public void listPairs(ai.neuraldivergence.proto.v1.ListPairsRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.ListPairsResponse> response) {
        reply(response, "ListPairs", request);
    }

    @Override
    public void getNeuronExemplars(ai.neuraldivergence.proto.v1.NeuronExemplarsRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.NeuronExemplars> response) {
        reply(response, "GetNeuronExemplars", request);
    }

    @Override
    public void getDistributionShapes(DistributionShapesRequest request, StreamObserver<DistributionShapes> response) {
        reply(response, "GetDistributionShapes", request);
    }

    @Override
    public void listReferences(ListReferencesRequest request, StreamObserver<ListReferencesResponse> response) {
        reply(response, "ListReferences", request);
    }

    @Override
    public void createReference(CreateReferenceRequest request, StreamObserver<Reference> response) {
        reply(response, "CreateReference", request);
    }

    @Override
    public void sealReference(ai.neuraldivergence.proto.v1.SealReferenceRequest request,
            StreamObserver<Reference> response) {
        reply(response, "SealReference", request);
    }

    @Override
    public void deleteReference(DeleteReferenceRequest request, StreamObserver<DeleteReferenceResponse> response) {
        reply(response, "DeleteReference", request);
    }

    /** The current call's token name, as {@link TokenInterceptor} put it in the call's context. */
    private static String caller() {
        AccessTokens.Caller caller = TokenInterceptor.CALLER.get();
        return caller == null ? "unknown" : caller.name();
    }

    /** Answers one call through the RPC table; its errors become status codes. */
    @SuppressWarnings("unchecked")
    private <T> void reply(StreamObserver<T> response, String method, com.google.protobuf.Message request) {
        T value;
        io.grpc.Deadline deadline = Context.current().getDeadline();
        try (var bounded = ai.neuraldivergence.storage.CallDeadline.within(deadline == null ? null
                : java.time.Duration.ofNanos(Math.max(0, deadline.timeRemaining(java.util.concurrent.TimeUnit.NANOSECONDS))))) {
            value = (T) rpcs.answer(method, request, new Rpcs.Call(DEADLINE, caller()));
        } catch (RuntimeException e) {
            response.onError(GrpcErrors.status(method, e).asRuntimeException());
            return;
        }
        response.onNext(value);
        response.onCompleted();
    }
}

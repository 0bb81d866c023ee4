package ai.neuraldivergence.inference.grpc;

import ai.neuraldivergence.contract.StatusDescriptions;
import ai.neuraldivergence.inference.auth.GrpcTokenInterceptor;
import ai.neuraldivergence.inference.auth.InferenceScopes;
import ai.neuraldivergence.inference.config.LimitsConfig;
import ai.neuraldivergence.inference.reference.SealedReferences;
import ai.neuraldivergence.inference.service.InputImages;
import ai.neuraldivergence.inference.service.LabelPublisher;
import ai.neuraldivergence.inference.service.Metadata;
import ai.neuraldivergence.inference.service.PredictionService;
import ai.neuraldivergence.proto.v1.InferenceServiceGrpc;
import ai.neuraldivergence.proto.v1.LabelRecord;
import ai.neuraldivergence.proto.v1.PairRole;
import ai.neuraldivergence.proto.v1.PredictInstance;
import ai.neuraldivergence.proto.v1.PredictRequest;
import ai.neuraldivergence.proto.v1.PredictResponse;
import ai.neuraldivergence.proto.v1.Prediction;
import ai.neuraldivergence.proto.v1.RecordLabelsRequest;
import ai.neuraldivergence.proto.v1.RecordLabelsResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/** Predictions and late labels over gRPC; the same service as the REST API, INVALID_ARGUMENT for bad input. */
@GrpcService
public class InferenceGrpcService extends InferenceServiceGrpc.InferenceServiceImplBase {

    private static final Logger LOG = Logger.getLogger(InferenceGrpcService.class);

    private final PredictionService predictions;
    private final LabelPublisher labels;
    private final int pngMaxSide;

    private final SealedReferences seals;

    @Inject
    public InferenceGrpcService(PredictionService predictions, LabelPublisher labels, SealedReferences seals,
            LimitsConfig limits) {
        this.seals = seals;
        this.predictions = predictions;
        this.labels = labels;
        this.pngMaxSide = limits.pngMaxSide();
    }

    /** Runs the model: on a worker thread. */
    @Override
    @Blocking
    public void predict(PredictRequest request, StreamObserver<PredictResponse> response) {
        reply(response, () -> {
            int side = predictions.spec().inputShape()[0];
            List<PredictionService.Instance> instances = new ArrayList<>(request.getInstancesCount());
            for (PredictInstance i : request.getInstancesList()) {
                float[] pixels;
                if (!i.getPng().isEmpty()) {
                    pixels = InputImages.fromPng(i.getPng().toByteArray(), side, pngMaxSide);
                } else {
                    pixels = new float[i.getPixelsCount()];
                    for (int j = 0; j < pixels.length; j++) {
                        pixels[j] = i.getPixels(j);
                    }
                }
                PairRole role = switch (i.getPairRole()) {
                    case PAIR_ROLE_BENIGN, PAIR_ROLE_ATTACKED -> i.getPairRole();
                    case PAIR_ROLE_UNSPECIFIED -> null;
                    default -> throw new IllegalArgumentException("unknown pair_role");
                };
                instances.add(new PredictionService.Instance(pixels, i.getInstanceId(),
                        i.hasTrueLabel() ? i.getTrueLabel() : null, Metadata.tags(request.getTagsMap(),
                                i.getTagsMap()), i.getPairId(), role));
            }
            // the interceptor put the caller in the call's context; a reference tag needs the reference scope
            List<java.util.Map<String, String>> tags = instances.stream().map(PredictionService.Instance::tags)
                    .toList();
            InferenceScopes.requireReferenceScope(GrpcTokenInterceptor.CALLER.get(), tags);
            seals.refuseSealed(predictions.spec().modelId(), predictions.spec().modelVersion(), tags);
            PredictResponse.Builder out = PredictResponse.newBuilder().setModelId(predictions.spec().modelId())
                    .setModelVersion(predictions.spec().modelVersion());
            for (PredictionService.Result r : predictions.predict(instances)) {
                Prediction.Builder p = Prediction.newBuilder().setInstanceId(r.instanceId())
                        .setPredictedClass(r.predictedClass()).setConfidence(r.confidence()).setCapture(r.capture());
                for (float v : r.probabilities()) {
                    p.addProbabilities(v);
                }
                out.addPredictions(p);
            }
            return out.build();
        });
    }

    /**
     * Validates on the calling (event-loop) thread and answers when Kafka has the labels or their deadline passed
     * ({@link LabelPublisher}): no thread waits on Kafka for it.
     */
    @Override
    public void recordLabels(RecordLabelsRequest request, StreamObserver<RecordLabelsResponse> response) {
        java.util.concurrent.CompletableFuture<Integer> published;
        try {
            List<LabelPublisher.Label> list = new ArrayList<>();
            for (LabelRecord r : request.getLabelsList()) {
                list.add(new LabelPublisher.Label(r.getInstanceId(), r.getTrueLabel()));
            }
            InferenceScopes.requireModel(GrpcTokenInterceptor.CALLER.get(), labels.labelled(request.getModelId()));
            published = labels.publish(request.getModelId(), list);
        } catch (RuntimeException e) {
            response.onError(status(e).asRuntimeException());
            return;
        }
        published.whenComplete((accepted, e) -> {
            if (e == null) {
                response.onNext(RecordLabelsResponse.newBuilder().setAccepted(accepted).build());
                response.onCompleted();
            } else {
                Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                        ? e.getCause() : e;
                response.onError(status(cause instanceof RuntimeException r ? r : new IllegalStateException(cause))
                        .asRuntimeException());
            }
        });
    }

    private static <T> void reply(StreamObserver<T> response, Supplier<T> body) {
        T value;
        try {
            value = body.get();
        } catch (RuntimeException e) {
            response.onError(status(e).asRuntimeException());
            return;
        }
        response.onNext(value);
        response.onCompleted();
    }

    /**
     * The status of a failed call. Descriptions are cut short (a status travels in a trailer, which clients cap at
     * 8 KB, and may quote the client's own values); an internal error carries no internals, only an id the log has.
     */
    private static Status status(RuntimeException e) {
        if (e instanceof IllegalArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        if (e instanceof InferenceScopes.MissingScopeException) {
            return Status.PERMISSION_DENIED.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        if (e instanceof SealedReferences.ReferenceSealedException) {
            return Status.FAILED_PRECONDITION.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        if (e instanceof LabelPublisher.KafkaUnavailableException
                || e instanceof SealedReferences.SealsNotLoadedException) {
            return Status.UNAVAILABLE.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        String id = StatusDescriptions.errorId();
        LOG.errorf(e, "inference call failed (error %s)", id);
        return Status.INTERNAL.withDescription(StatusDescriptions.internal(id));
    }
}

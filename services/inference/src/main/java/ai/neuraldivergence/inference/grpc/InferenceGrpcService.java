package ai.neuraldivergence.inference.grpc;

import ai.neuraldivergence.inference.auth.GrpcTokenInterceptor;
import ai.neuraldivergence.inference.auth.InferenceScopes;
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
import ai.neuraldivergence.inference.reference.SealedReferences;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/** Predictions and late labels over gRPC; the same service as the REST API, INVALID_ARGUMENT for bad input. */
@GrpcService
@Blocking
public class InferenceGrpcService extends InferenceServiceGrpc.InferenceServiceImplBase {

    private static final Logger LOG = Logger.getLogger(InferenceGrpcService.class);

    private final PredictionService predictions;
    private final LabelPublisher labels;

    private final SealedReferences seals;

    @Inject
    public InferenceGrpcService(PredictionService predictions, LabelPublisher labels, SealedReferences seals) {
        this.seals = seals;
        this.predictions = predictions;
        this.labels = labels;
    }

    @Override
    public void predict(PredictRequest request, StreamObserver<PredictResponse> response) {
        reply(response, () -> {
            int side = predictions.spec().inputShape()[0];
            List<PredictionService.Instance> instances = new ArrayList<>(request.getInstancesCount());
            for (PredictInstance i : request.getInstancesList()) {
                float[] pixels;
                if (!i.getPng().isEmpty()) {
                    pixels = InputImages.fromPng(i.getPng().toByteArray(), side);
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

    @Override
    public void recordLabels(RecordLabelsRequest request, StreamObserver<RecordLabelsResponse> response) {
        reply(response, () -> {
            List<LabelPublisher.Label> list = new ArrayList<>();
            for (LabelRecord r : request.getLabelsList()) {
                list.add(new LabelPublisher.Label(r.getInstanceId(), r.getTrueLabel()));
            }
            return RecordLabelsResponse.newBuilder().setAccepted(labels.publish(list)).build();
        });
    }

    private static <T> void reply(StreamObserver<T> response, Supplier<T> body) {
        try {
            response.onNext(body.get());
            response.onCompleted();
        } catch (IllegalArgumentException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (InferenceScopes.MissingScopeException e) {
            response.onError(Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException());
        } catch (SealedReferences.ReferenceSealedException e) {
            response.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
        } catch (SealedReferences.SealsNotLoadedException e) {
            response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
        } catch (LabelPublisher.KafkaUnavailableException e) {
            response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
        } catch (RuntimeException e) {
            LOG.error("inference call failed", e);
            response.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
        }
    }
}

package ai.neuraldivergence.inference.api;

import ai.neuraldivergence.inference.auth.InferenceScopes;
import ai.neuraldivergence.inference.auth.RequestCaller;
import ai.neuraldivergence.inference.auth.RequiresScope;
import ai.neuraldivergence.inference.config.LimitsConfig;
import ai.neuraldivergence.inference.reference.SealedReferences;
import ai.neuraldivergence.inference.service.InputImages;
import ai.neuraldivergence.inference.service.LabelPublisher;
import ai.neuraldivergence.inference.service.Metadata;
import ai.neuraldivergence.inference.service.PredictionService;
import io.smallrye.common.annotation.NonBlocking;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.resteasy.reactive.RestQuery;

/** Predictions over HTTP: JSON pixel arrays (batches allowed) or one PNG upload; and late true labels. */
@Path("/v1")
public class PredictResource {

    /** Bytes one uploaded image may have. */
    static final int MAX_PNG_BYTES = 4 * 1024 * 1024;

    private final PredictionService predictions;
    private final LabelPublisher labels;
    private final RequestCaller caller;
    private final SealedReferences seals;
    private final int pngMaxSide;

    @Inject
    public PredictResource(PredictionService predictions, LabelPublisher labels, RequestCaller caller,
            SealedReferences seals, LimitsConfig limits) {
        this.seals = seals;
        this.predictions = predictions;
        this.labels = labels;
        this.caller = caller;
        this.pngMaxSide = limits.pngMaxSide();
    }

    @jakarta.ws.rs.GET
    @Path("/model")
    @RequiresScope(InferenceScopes.PREDICT)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "The served model: its id, version, input shape and taps in network order")
    public PredictJson.Model model() {
        var spec = predictions.spec();
        return new PredictJson.Model(spec.modelId(), spec.modelVersion(), spec.inputShape(), spec.taps().stream()
                .map(t -> new PredictJson.Tap(t.tap(), t.tapIndex(), t.shape(), t.reduction().word()))
                .toList());
    }

    @POST
    @Path("/predict")
    @RequiresScope(InferenceScopes.PREDICT)
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Classify inputs given as pixel arrays; their activations are captured")
    public PredictJson.Response predict(PredictJson.Request request) {
        if (request == null || request.instances() == null) {
            throw new IllegalArgumentException("a body {\"instances\": [{\"pixels\": [...]}]} is required");
        }
        List<PredictionService.Instance> instances = new ArrayList<>(request.instances().size());
        for (PredictJson.Instance i : request.instances()) {
            if (i == null) {
                throw new IllegalArgumentException("instances must not hold null");
            }
            instances.add(new PredictionService.Instance(i.pixels(), i.instanceId(), i.trueLabel(),
                    Metadata.tags(request.tags(), i.tags()), i.pairId(), Metadata.pairRole(i.pairRole())));
        }
        return respond(predict(instances));
    }

    @POST
    @Path("/predict")
    @RequiresScope(InferenceScopes.PREDICT)
    @Consumes("image/png")
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Classify one uploaded PNG image (scaled to the model's input, grayscale)")
    public PredictJson.Response predictPng(byte[] png, @RestQuery String instanceId, @RestQuery Integer trueLabel,
            @RestQuery String pairId, @RestQuery String pairRole, @RestQuery List<String> tag) {
        if (png == null || png.length == 0) {
            throw new IllegalArgumentException("the body must be a PNG image");
        }
        if (png.length > MAX_PNG_BYTES) {
            throw new IllegalArgumentException("a PNG upload may have at most " + MAX_PNG_BYTES + " bytes");
        }
        Map<String, String> tags = new HashMap<>();
        for (String t : tag == null ? List.<String>of() : tag) {
            int eq = t.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("tag must be key=value, got '" + t + "'");
            }
            tags.put(t.substring(0, eq), t.substring(eq + 1));
        }
        int side = predictions.spec().inputShape()[0];
        float[] pixels = InputImages.fromPng(png, side, pngMaxSide);
        return respond(predict(List.of(new PredictionService.Instance(pixels, instanceId, trueLabel,
                Metadata.tags(tags, null), pairId, Metadata.pairRole(pairRole)))));
    }

    @POST
    @Path("/labels")
    @RequiresScope(InferenceScopes.RECORD)
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Record true labels that arrived after their predictions")
    @NonBlocking
    public CompletionStage<jakarta.ws.rs.core.Response> labels(PredictJson.LabelsRequest request) {
        if (request == null || request.labels() == null) {
            throw new IllegalArgumentException("a body {\"labels\": [{\"instanceId\": ..., \"trueLabel\": ...}]} "
                    + "is required");
        }
        List<LabelPublisher.Label> list = new ArrayList<>();
        for (PredictJson.Label l : request.labels()) {
            if (l == null || l.trueLabel() == null) {
                throw new IllegalArgumentException("every label needs instanceId and trueLabel");
            }
            list.add(new LabelPublisher.Label(l.instanceId(), l.trueLabel()));
        }
        InferenceScopes.requireModel(caller.get(), labels.labelled(request.modelId()));
        // answered when Kafka has the labels or the deadline passed; no worker thread waits meanwhile
        return labels.publish(request.modelId(), list).handle((accepted, e) -> {
            if (e == null) {
                return jakarta.ws.rs.core.Response.accepted(new PredictJson.LabelsResponse(accepted)).build();
            }
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof LabelPublisher.KafkaUnavailableException) {
                return ErrorMappers.error(503, "Service Unavailable", cause.getMessage());
            }
            throw e instanceof CompletionException c ? c : new CompletionException(cause);
        });
    }

    /** Predicted observations are captured: a reference tag needs the reference scope, checked before that. */
    private List<PredictionService.Result> predict(List<PredictionService.Instance> instances) {
        List<java.util.Map<String, String>> tags = instances.stream().map(PredictionService.Instance::tags).toList();
        InferenceScopes.requireReferenceScope(caller.get(), tags);
        seals.refuseSealed(predictions.spec().modelId(), predictions.spec().modelVersion(), tags);
        return predictions.predict(instances);
    }

    private PredictJson.Response respond(List<PredictionService.Result> results) {
        List<PredictJson.Prediction> out = new ArrayList<>(results.size());
        for (PredictionService.Result r : results) {
            out.add(new PredictJson.Prediction(r.instanceId(), r.predictedClass(), r.confidence(), r.probabilities(),
                    Metadata.captureWord(r.capture())));
        }
        return new PredictJson.Response(predictions.spec().modelId(), predictions.spec().modelVersion(), out);
    }
}

package ai.neuraldivergence.inference.api;

import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.inference.auth.InferenceScopes;
import ai.neuraldivergence.inference.auth.RequestCaller;
import ai.neuraldivergence.inference.auth.RequiresScope;
import ai.neuraldivergence.inference.capture.CaptureItem;
import ai.neuraldivergence.inference.capture.CapturePipeline;
import ai.neuraldivergence.inference.capture.Delivery;
import ai.neuraldivergence.inference.config.CaptureConfig;
import ai.neuraldivergence.inference.reference.SealedReferences;
import ai.neuraldivergence.inference.service.PredictionService;
import ai.neuraldivergence.proto.v1.Observation;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.microprofile.openapi.annotations.Operation;

/**
 * Records activations computed outside this service, through the same capture path as predictions. Accepted means
 * delivered: the answer waits until Kafka acknowledged every record of the request (202), or says what failed (503,
 * nothing of the request to retry blindly if it was withdrawn before it was sent).
 */
@Path("/v1/observations")
@RequiresScope(InferenceScopes.RECORD)
public class ObservationResource {

    private final CapturePipeline capture;
    private final ObservationMapper mapper;
    private final Duration ackTimeout;
    private final RequestCaller caller;
    private final SealedReferences seals;

    private final String servedModelId;

    @Inject
    public ObservationResource(CapturePipeline capture, CaptureConfig config, RequestCaller caller,
            SealedReferences seals, PredictionService predictions) {
        this.seals = seals;
        this.servedModelId = predictions.spec().modelId();
        this.capture = capture;
        this.caller = caller;
        this.mapper = new ObservationMapper(Clock.systemUTC(), config.maxObservationsPerRequest(),
                new ActivationBatchValidator.Rules(config.maxNeuronsPerTap(), config.futureSkew(),
                        config.allowedLateness()));
        this.ackTimeout = config.ackTimeout();
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Record observations: per-neuron activations of each tap, with their metadata; answers "
            + "once Kafka has them")
    public Response record(ObservationRequest request) throws InterruptedException {
        ObservationMapper.Mapped mapped = mapper.map(request);
        // before the served model's refusal, which would name the served model to a token not granted it
        InferenceScopes.requireModel(caller.get(), mapped.taps().get(0).header().getModelId());
        if (mapped.taps().get(0).header().getModelId().equals(servedModelId)) {
            // the served model's observations are its own predictions: recorded ones could claim its layout or
            // stand in for its traffic
            return ErrorMappers.error(403, "Forbidden", "model " + servedModelId + " is served here: its "
                    + "observations come from its own predictions (/v1/predict), not from /v1/observations");
        }
        // every tap carries the same observations: the first tap's tags are the request's
        List<java.util.Map<String, String>> tags = mapped.taps().get(0).observations().stream()
                .map(Observation::getTagsMap).toList();
        InferenceScopes.requireReferenceScope(caller.get(), tags);
        seals.refuseSealed(mapped.taps().get(0).header().getModelId(),
                mapped.taps().get(0).header().getModelVersion(), tags);
        CaptureItem item = CaptureItem.of(mapped.taps());
        if (capture.offer(item) == CapturePipeline.Status.SHED) {
            return unavailable("capture queue full (is Kafka reachable?): observations not recorded, retry later");
        }
        Delivery delivery = item.delivery();
        Delivery.Outcome outcome;
        try {
            outcome = delivery.outcome().get(ackTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            if (delivery.cancel("not sent within " + ackTimeout.toSeconds() + " s")) {
                return unavailable("not sent to Kafka within " + ackTimeout.toSeconds() + " s: observations not "
                        + "recorded, retry later");
            }
            // already on its way: the producer's delivery timeout (the same) settles it shortly
            try {
                outcome = delivery.outcome().get(ackTimeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException again) {
                return unavailable("Kafka did not acknowledge the observations in time; they may or may not be "
                        + "recorded");
            }
        } catch (ExecutionException e) {
            return unavailable("observations not recorded: " + e.getCause());
        }
        if (!outcome.delivered()) {
            // the taps of a request travel as separate records: say which arrived, so that a retry resends only
            // the others (a tap partly recorded cannot be resent without counting some observations twice)
            String taps = "recorded taps: " + names(outcome.recorded()) + " (do not resend them); partly recorded: "
                    + names(outcome.partlyRecorded()) + "; not recorded: " + names(outcome.notRecorded());
            return unavailable("Kafka did not acknowledge every record of the request: " + taps + "; "
                    + String.join("; ", outcome.failures()));
        }
        return Response.accepted(new ObservationResponse(mapped.instanceIds().size(), mapped.instanceIds())).build();
    }

    private static String names(java.util.Set<String> taps) {
        return taps.isEmpty() ? "none" : String.join(", ", taps);
    }

    private static Response unavailable(String message) {
        return ErrorMappers.error(503, "Service Unavailable", message);
    }
}

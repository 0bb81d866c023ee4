package ai.neuraldivergence.inference.api;

import ai.neuraldivergence.inference.capture.CaptureItem;
import ai.neuraldivergence.inference.capture.CapturePipeline;
import ai.neuraldivergence.inference.config.CaptureConfig;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Clock;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** Records activations computed outside this service, through the same capture path as predictions. */
@Path("/v1/observations")
public class ObservationResource {

    private final CapturePipeline capture;
    private final ObservationMapper mapper;

    @Inject
    public ObservationResource(CapturePipeline capture, CaptureConfig config) {
        this.capture = capture;
        this.mapper = new ObservationMapper(Clock.systemUTC(), config.maxObservationsPerRequest());
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Record observations: per-neuron activations of each tap, with their metadata")
    public Response record(ObservationRequest request) {
        ObservationMapper.Mapped mapped = mapper.map(request);
        if (capture.offer(CaptureItem.of(mapped.batches(), java.util.List.of())) == CapturePipeline.Status.SHED) {
            return Response.status(Response.Status.SERVICE_UNAVAILABLE)
                    .entity(new ErrorResponse(503, "Service Unavailable",
                            "capture queue full (is Kafka reachable?): observations not recorded, retry later"))
                    .build();
        }
        return Response.accepted(new ObservationResponse(mapped.instanceIds().size(), mapped.instanceIds())).build();
    }
}

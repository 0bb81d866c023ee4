package ai.neuraldivergence.inference.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Bad input becomes a 400 that says what was expected, never a stack trace or a 500. */
public class ErrorMappers {

    @ServerExceptionMapper
    public Response invalidArgument(IllegalArgumentException e) {
        return badRequest(e.getMessage());
    }

    @ServerExceptionMapper
    public Response unreadableJson(JsonProcessingException e) {
        return badRequest("malformed JSON: " + e.getOriginalMessage());
    }

    @ServerExceptionMapper
    public Response mismatchedJson(MismatchedInputException e) {
        return badRequest("malformed JSON: " + e.getOriginalMessage());
    }

    /** The framework's own 400s (an unreadable body) get the same body shape as ours. */
    @ServerExceptionMapper
    public Response framework400(BadRequestException e) {
        return badRequest(e.getMessage());
    }

    /** A valid token without the reference scope, found once the body was read. */
    @ServerExceptionMapper
    public Response missingScope(ai.neuraldivergence.inference.auth.InferenceScopes.MissingScopeException e) {
        return error(403, "Forbidden", e.getMessage());
    }

    @ServerExceptionMapper
    public Response kafkaUnavailable(ai.neuraldivergence.inference.service.LabelPublisher.KafkaUnavailableException e) {
        return error(503, "Service Unavailable", e.getMessage());
    }

    /** A tagged request for a sealed reference. */
    @ServerExceptionMapper
    public Response referenceSealed(ai.neuraldivergence.inference.reference.SealedReferences.ReferenceSealedException e) {
        return error(409, "Conflict", e.getMessage());
    }

    @ServerExceptionMapper
    public Response sealsNotLoaded(ai.neuraldivergence.inference.reference.SealedReferences.SealsNotLoadedException e) {
        return error(503, "Service Unavailable", e.getMessage());
    }

    /**
     * A body that passed its endpoint's limit while it was read (a chunked one: a declared length over it is refused
     * before). Its connection reads no more and closes after this answer ({@code limits.BodyLimitRoutes}).
     */
    @ServerExceptionMapper
    public Response bodyTooLarge(ai.neuraldivergence.inference.limits.BodyLimits.BodyTooLargeException e) {
        return error(413, "Payload Too Large", e.getMessage());
    }

    private static Response badRequest(String message) {
        return error(400, "Bad Request", message);
    }

    /** The one error body of this API: the status, its reason and what went wrong, as JSON. */
    static Response error(int status, String reason, String message) {
        return Response.status(status).type(MediaType.APPLICATION_JSON)
                .entity(new ErrorResponse(status, reason, message)).build();
    }
}

package ai.neuraldivergence.inference.api;

import ai.neuraldivergence.inference.auth.InferenceScopes.MissingScopeException;
import ai.neuraldivergence.inference.limits.BodyLimits.BodyTooLargeException;
import ai.neuraldivergence.inference.reference.SealedReferences.ReferenceSealedException;
import ai.neuraldivergence.inference.reference.SealedReferences.SealsNotLoadedException;
import ai.neuraldivergence.inference.service.LabelPublisher.KafkaUnavailableException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * Bad input becomes a 400 that says what was expected, never a stack trace or a 500. Each mapper is one answer; the
 * exceptions that get it are listed on it.
 */
public class ErrorMappers {

    /** Ours, and the framework's own 400s (an unreadable body): the same body shape. */
    @ServerExceptionMapper({IllegalArgumentException.class, BadRequestException.class})
    public Response badRequest(RuntimeException e) {
        return error(400, "Bad Request", e.getMessage());
    }

    /** Listed apart from its superclass: the framework's own mapper for mismatched input would be nearer. */
    @ServerExceptionMapper({JsonProcessingException.class, MismatchedInputException.class})
    public Response malformedJson(JsonProcessingException e) {
        return error(400, "Bad Request", "malformed JSON: " + e.getOriginalMessage());
    }

    /** A valid token without the reference scope, found once the body was read. */
    @ServerExceptionMapper
    public Response missingScope(MissingScopeException e) {
        return error(403, "Forbidden", e.getMessage());
    }

    /** A tagged request for a sealed reference. */
    @ServerExceptionMapper
    public Response referenceSealed(ReferenceSealedException e) {
        return error(409, "Conflict", e.getMessage());
    }

    /**
     * A body that passed its endpoint's limit while it was read (a chunked one: a declared length over it is refused
     * before). Its connection reads no more and closes after this answer ({@code limits.BodyLimitRoutes}).
     */
    @ServerExceptionMapper
    public Response bodyTooLarge(BodyTooLargeException e) {
        return error(413, "Payload Too Large", e.getMessage());
    }

    @ServerExceptionMapper({KafkaUnavailableException.class, SealsNotLoadedException.class})
    public Response unavailable(RuntimeException e) {
        return error(503, "Service Unavailable", e.getMessage());
    }

    /** The one error body of this API: the status, its reason and what went wrong, as JSON. */
    static Response error(int status, String reason, String message) {
        return Response.status(status).type(MediaType.APPLICATION_JSON)
                .entity(new ErrorResponse(status, reason, message)).build();
    }
}

package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.query.AlreadyExistsException;
import ai.neuraldivergence.comparison.query.FailedPreconditionException;
import ai.neuraldivergence.comparison.query.NotFoundException;
import ai.neuraldivergence.comparison.query.PermissionDeniedException;
import ai.neuraldivergence.comparison.query.ResourceExhaustedException;
import ai.neuraldivergence.contract.StatusDescriptions;
import ai.neuraldivergence.domain.DistributionCodec;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.jboss.logging.Logger;

/**
 * Maps the API's exceptions to gRPC status codes with the message a caller can act on. The JSON mirror maps the
 * same codes to HTTP statuses ({@link #httpStatus}).
 */
final class GrpcErrors {

    private static final Logger LOG = Logger.getLogger(GrpcErrors.class);

    private GrpcErrors() {
    }

    /**
     * The status of a failed call. Descriptions are cut short ({@link StatusDescriptions#brief}: they may quote a
     * client's values and travel in a size-capped trailer); anything unforeseen is INTERNAL with no internals (no
     * SQL, no exception text), only an id that the log records with the details.
     */
    static Status status(String method, RuntimeException e) {
        // a stored distribution that cannot be decoded is the platform's fault, not the caller's: INTERNAL, logged
        if (e instanceof IllegalArgumentException && !(e instanceof DistributionCodec.CorruptDistributionException)) {
            return Status.INVALID_ARGUMENT.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        if (e instanceof NotFoundException) {
            return Status.NOT_FOUND.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        if (e instanceof PermissionDeniedException) {
            return Status.PERMISSION_DENIED.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        if (e instanceof FailedPreconditionException) {
            return Status.FAILED_PRECONDITION.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        if (e instanceof AlreadyExistsException) {
            return Status.ALREADY_EXISTS.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        if (e instanceof ResourceExhaustedException) {
            return Status.RESOURCE_EXHAUSTED.withDescription(StatusDescriptions.brief(e.getMessage()));
        }
        if (ai.neuraldivergence.storage.CallDeadline.timedOut(e)) {
            return Status.DEADLINE_EXCEEDED.withDescription("the deadline passed while the database was read");
        }
        if (e instanceof StatusRuntimeException s && s.getStatus().getCode() != Status.Code.INTERNAL
                && s.getStatus().getCode() != Status.Code.UNKNOWN) {
            // the service's own codes (DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED)
            return s.getStatus().withDescription(StatusDescriptions.brief(s.getStatus().getDescription()));
        }
        String id = StatusDescriptions.errorId();
        LOG.errorf(e, "%s failed (error %s)", method, id);
        return Status.INTERNAL.withDescription(method + " failed: " + StatusDescriptions.internal(id));
    }

    /** The HTTP status of a gRPC code, as Google's API gateways map them. */
    static int httpStatus(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> 400;
            case UNAUTHENTICATED -> 401;
            case PERMISSION_DENIED -> 403;
            case NOT_FOUND -> 404;
            case ALREADY_EXISTS, ABORTED -> 409;
            case RESOURCE_EXHAUSTED -> 429;
            case CANCELLED -> 499;
            case UNIMPLEMENTED -> 501;
            case UNAVAILABLE -> 503;
            case DEADLINE_EXCEEDED -> 504;
            default -> 500;
        };
    }
}

package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.service.NotFoundException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/** Maps the service layer's exceptions to gRPC status codes with the message a caller can act on. */
final class GrpcErrors {

    private static final Logger LOG = Logger.getLogger(GrpcErrors.class);

    private GrpcErrors() {
    }

    static <T> T call(String method, Supplier<T> body) {
        try {
            return body.get();
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        } catch (NotFoundException e) {
            throw Status.NOT_FOUND.withDescription(e.getMessage()).asRuntimeException();
        } catch (StatusRuntimeException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.errorf(e, "%s failed", method);
            throw Status.INTERNAL.withDescription(method + " failed: " + e).asRuntimeException();
        }
    }
}

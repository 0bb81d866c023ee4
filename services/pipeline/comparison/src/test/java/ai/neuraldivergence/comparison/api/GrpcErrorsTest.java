package ai.neuraldivergence.comparison.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.neuraldivergence.domain.DistributionCodec;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

/** Which side a failure is blamed on: a bad argument is the caller's, a corrupt stored row the platform's. */
class GrpcErrorsTest {

    @Test
    void aCorruptStoredDistributionIsAnInternalErrorNotTheCallersMistake() {
        Status corrupt = GrpcErrors.status("Compare", new DistributionCodec.CorruptDistributionException(
                "corrupt compressed tap distribution: 3 of 8 blocks"));
        assertEquals(Status.Code.INTERNAL, corrupt.getCode());
        assertFalse(corrupt.getDescription().contains("blocks"), "no internals: " + corrupt.getDescription());
        assertEquals(Status.Code.INVALID_ARGUMENT, GrpcErrors.status("Compare",
                new IllegalArgumentException("tap is required")).getCode());
        assertEquals(400, GrpcErrors.httpStatus(Status.Code.INVALID_ARGUMENT));
        assertEquals(500, GrpcErrors.httpStatus(corrupt.getCode()));
    }
}

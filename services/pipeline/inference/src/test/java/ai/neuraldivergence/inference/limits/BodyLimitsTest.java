package ai.neuraldivergence.inference.limits;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Which limit a request meets, and a body read through the limit stops at the first byte past it. */
class BodyLimitsTest {

    private static final BodyLimits.Limit PREDICT = new BodyLimits.Limit(8, "nd.inference.limits.predict-body");
    private final AtomicInteger overflows = new AtomicInteger();
    private final BodyLimits limits = new BodyLimits(Map.of("/v1/predict", PREDICT,
            "/v1/labels", new BodyLimits.Limit(4, "nd.inference.limits.labels-body")));

    @Test
    void eachEndpointHasItsOwnLimitWithOrWithoutATrailingSlash() {
        assertEquals(Optional.of(PREDICT), limits.limit("/v1/predict"));
        assertEquals(Optional.of(PREDICT), limits.limit("/v1/predict/"));
        assertEquals(4, limits.limit("/v1/labels").orElseThrow().bytes());
        assertEquals(Optional.empty(), limits.limit("/v1/predictions"));
        assertEquals(Optional.empty(), limits.limit("/q/health"));
        assertEquals(Optional.empty(), limits.limit(null));
        assertEquals(8, limits.largest());
    }

    @Test
    void aDeclaredLengthIsReadWhenItIsANumber() {
        assertEquals(OptionalLong.of(9), BodyLimits.declaredLength("9"));
        assertEquals(OptionalLong.of(100_000_000_000L), BodyLimits.declaredLength(" 100000000000 "));
        assertEquals(OptionalLong.empty(), BodyLimits.declaredLength(null));
        assertEquals(OptionalLong.empty(), BodyLimits.declaredLength("lots"));
    }

    @Test
    void aBodyAtTheLimitIsReadWholeAndClosed() throws IOException {
        byte[] body = {1, 2, 3, 4, 5, 6, 7, 8};
        CountingStream source = new CountingStream(body.length);
        try (InputStream in = limited(source)) {
            assertEquals(8, in.readAllBytes().length);
        }
        assertTrue(source.closed);
        assertEquals(0, overflows.get());
        try (InputStream in = limited(new ByteArrayInputStream(body))) {
            assertArrayEquals(body, in.readAllBytes());
        }
    }

    @Test
    void aBodyOverTheLimitFailsAtTheFirstBytePastItAndTheRestIsNeverRead() {
        CountingStream source = new CountingStream(1_000_000);
        InputStream in = limited(source);
        BodyLimits.BodyTooLargeException e = assertThrows(BodyLimits.BodyTooLargeException.class, in::readAllBytes);
        assertTrue(e.getMessage().contains("POST /v1/predict may have at most 8 bytes (nd.inference.limits"
                + ".predict-body)"), e.getMessage());
        assertEquals(9, source.served, "bytes taken from the connection");
        assertEquals(1, overflows.get(), "the client is answered once, when the limit is passed");
        assertThrows(BodyLimits.BodyTooLargeException.class, in::read);
        assertEquals(1, overflows.get());
        // closed as a JSON reader closes what it read: the rest is not drained (it may never end)
        assertDoesNotThrow(in::close);
        assertFalse(source.closed, "the source was closed, which reads the rest of the body");

        CountingStream oneByOne = new CountingStream(1_000_000);
        InputStream single = limited(oneByOne);
        assertThrows(BodyLimits.BodyTooLargeException.class, () -> {
            while (single.read() >= 0) {
                // reads until the limit refuses
            }
        });
        assertEquals(9, oneByOne.served);
    }

    private InputStream limited(InputStream in) {
        return new BodyLimits.LimitedInputStream(in, PREDICT.bytes(), BodyLimits.refusal("POST /v1/predict",
                PREDICT), overflows::incrementAndGet);
    }

    /** An endless body that counts what it served. */
    private static final class CountingStream extends InputStream {
        private final long length;
        long served;
        boolean closed;

        CountingStream(long length) {
            this.length = length;
        }

        @Override
        public int read() {
            if (served == length) {
                return -1;
            }
            served++;
            return 'x';
        }

        @Override
        public void close() {
            closed = true;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            int n = (int) Math.min(len, length - served);
            if (n == 0) {
                return -1;
            }
            java.util.Arrays.fill(b, off, off + n, (byte) 'x');
            served += n;
            return n;
        }
    }
}

package ai.neuraldivergence.inference.limits;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.OptionalLong;

/**
 * How many body bytes each endpoint reads. A body over its endpoint's limit is refused before it is read when its
 * {@code Content-Length} says so, and otherwise (chunked) as soon as the bytes read pass the limit: an oversized body
 * never reaches the heap whole.
 */
public final class BodyLimits {

    /** Endpoint path (no trailing slash) to its limit in bytes, and the setting that changes it. */
    public record Limit(long bytes, String setting) {
    }

    private final Map<String, Limit> byPath;

    public BodyLimits(Map<String, Limit> byPath) {
        this.byPath = Map.copyOf(byPath);
    }

    /** The limit of the endpoint at {@code path}, if it has one. */
    public java.util.Optional<Limit> limit(String path) {
        if (path == null) {
            return java.util.Optional.empty();
        }
        String p = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        return java.util.Optional.ofNullable(byPath.get(p));
    }

    /** The largest limit: the framework's own body limit must be at least this. */
    public long largest() {
        return byPath.values().stream().mapToLong(Limit::bytes).max().orElse(0);
    }

    /**
     * The length a {@code Content-Length} header declares, empty when there is none (a chunked body) or it is not a
     * number (the HTTP layer refuses that itself).
     */
    public static OptionalLong declaredLength(String contentLength) {
        if (contentLength == null) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(Long.parseLong(contentLength.trim()));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** What a client is told of a body over {@code limit}. */
    public static String refusal(String endpoint, Limit limit) {
        return "the body of " + endpoint + " may have at most " + limit.bytes() + " bytes (" + limit.setting()
                + "): send less per request";
    }

    /** A body over its endpoint's limit, found while it was read. */
    public static final class BodyTooLargeException extends IOException {
        public BodyTooLargeException(String message) {
            super(message);
        }
    }

    /**
     * Reads at most {@code limit} bytes of {@code in}; the first read past them calls {@code onOverflow} (which
     * answers the client and stops the connection) and fails with {@link BodyTooLargeException}, so the rest is never
     * read. An IOException rather than an unchecked one: JSON readers pass it through as it is, where they would wrap
     * others.
     */
    public static final class LimitedInputStream extends FilterInputStream {

        private final long limit;
        private final String message;
        private final Runnable onOverflow;
        private long read;

        public LimitedInputStream(InputStream in, long limit, String message, Runnable onOverflow) {
            super(in);
            this.limit = limit;
            this.message = message;
            this.onOverflow = onOverflow;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            // never ask for more than one byte past the limit: that byte is enough to know
            int n = super.read(b, off, (int) Math.min(len, Math.max(1, limit - read + 1)));
            if (n > 0) {
                count(n);
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(Math.min(n, Math.max(1, limit - read + 1)));
            if (skipped > 0) {
                count(skipped);
            }
            return skipped;
        }

        private void count(long n) throws BodyTooLargeException {
            boolean first = read <= limit;
            read += n;
            if (read > limit) {
                if (first) {
                    onOverflow.run();
                }
                throw new BodyTooLargeException(message);
            }
        }

        /**
         * Past the limit, closing leaves the source alone: closing a request's stream reads the rest of the body to
         * its end (to reuse the connection), which for an endless chunked body is never, and the answer would wait
         * for it. The connection is closed after the 413 instead.
         */
        @Override
        public void close() throws IOException {
            if (read <= limit) {
                super.close();
            }
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }
}

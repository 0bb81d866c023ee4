package ai.neuraldivergence.contract;

import java.security.SecureRandom;

/**
 * What an error tells a client, for both services. A gRPC status travels in a trailer that clients cap (8 KB in
 * grpc-java), percent-encoded: a description quoting a 100 KB value made the client reset the stream and report
 * INTERNAL instead of the real answer. And an internal error tells a client nothing of the service's inside (no SQL,
 * no exception text), only an id that the service logs with the details.
 */
public final class StatusDescriptions {

    /** Characters a description keeps: at most about 4.6 KB even when every character is percent-encoded UTF-8. */
    public static final int MAX_CHARS = 512;

    private static final SecureRandom RANDOM = new SecureRandom();

    private StatusDescriptions() {
    }

    /** {@code message} cut to {@link #MAX_CHARS} characters, saying that it was. */
    public static String brief(String message) {
        if (message == null || message.length() <= MAX_CHARS) {
            return message;
        }
        int end = MAX_CHARS - 30;
        if (Character.isHighSurrogate(message.charAt(end - 1))) {
            end--;
        }
        return message.substring(0, end) + "... (" + message.length() + " characters)";
    }

    /** A fresh id for one internal error, to find it in the log. */
    public static String errorId() {
        return Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE);
    }

    /** An internal error's description: the id, nothing else. */
    public static String internal(String errorId) {
        return "internal error " + errorId + " (the service's log has the details)";
    }
}

package ai.neuraldivergence.comparison.api;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * A gRPC call's deadline, read from its {@code grpc-timeout} header into the call's {@link Context}
 * ({@link #DEADLINE_NANOS}). The Vert.x server this service shares its HTTP port with does not make the header the
 * Context's deadline, as grpc-java's own server does: the service saw no deadline, and a client's deadline bounded
 * neither the work between taps nor the statements in the database.
 */
@GlobalInterceptor
@ApplicationScoped
public class CallDeadlines implements ServerInterceptor {

    /** When the call's deadline passes, in {@link System#nanoTime} terms; absent when the client set none. */
    public static final Context.Key<Long> DEADLINE_NANOS = Context.key("nd-deadline-nanos");

    static final Metadata.Key<String> TIMEOUT = Metadata.Key.of("grpc-timeout", Metadata.ASCII_STRING_MARSHALLER);

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        Long timeout = nanos(headers.get(TIMEOUT));
        if (timeout == null) {
            return next.startCall(call, headers);
        }
        return Contexts.interceptCall(Context.current().withValue(DEADLINE_NANOS, System.nanoTime() + timeout), call,
                headers, next);
    }

    /**
     * A {@code grpc-timeout} value in nanoseconds: at most 8 digits and a unit (H, M, S, m, u, n), as the protocol
     * writes it; null when absent or malformed (the call is then bounded by the service's default).
     */
    static Long nanos(String value) {
        if (value == null || value.length() < 2 || value.length() > 9) {
            return null;
        }
        String digits = value.substring(0, value.length() - 1);
        if (!digits.chars().allMatch(Character::isDigit)) {
            return null;
        }
        long n = Long.parseLong(digits);
        return switch (value.charAt(value.length() - 1)) {
            case 'H' -> n * 3_600_000_000_000L;
            case 'M' -> n * 60_000_000_000L;
            case 'S' -> n * 1_000_000_000L;
            case 'm' -> n * 1_000_000L;
            case 'u' -> n * 1_000L;
            case 'n' -> n;
            default -> null;
        };
    }
}

package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.auth.ModelGrants;
import ai.neuraldivergence.comparison.query.Cancellation;
import ai.neuraldivergence.contract.AccessTokens;
import com.google.protobuf.Message;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The unary RPCs of {@code ComparisonService} by method name: how each request becomes its query and its result a
 * response ({@link Requests}, the query service, {@link Responses}). The gRPC service and the JSON mirror both
 * answer through this table, so that a method is wired once.
 */
public final class Rpcs {

    /** What a call brings besides its request: when to stop, and who asked. */
    public record Call(Cancellation cancellation, AccessTokens.Caller caller) {

        /** The caller's token name, for write logs (never the token). */
        public String by() {
            return caller == null ? "unknown" : caller.name();
        }

        /** Whether the caller is confined to some models. */
        public boolean confined() {
            return caller != null && caller.confined();
        }

        /** Whether the caller may reach {@code modelId}'s data. */
        public boolean grants(String modelId) {
            return caller == null || caller.grants(modelId);
        }
    }

    /** One method: a request of its type in, its response out. */
    public record Rpc<Q extends Message>(Q prototype, BiFunction<Q, Call, Message> answer) {
    }

    private final Map<String, Rpc<? extends Message>> byMethod = new LinkedHashMap<>();

    <Q extends Message> Rpcs add(String method, Q prototype, BiFunction<Q, Call, Message> answer) {
        if (byMethod.put(method, new Rpc<>(prototype, answer)) != null) {
            throw new IllegalStateException("method " + method + " is wired twice");
        }
        return this;
    }

    public Rpc<? extends Message> rpc(String method) {
        Rpc<? extends Message> rpc = byMethod.get(method);
        if (rpc == null) {
            throw new IllegalStateException("method " + method + " is not wired");
        }
        return rpc;
    }

    public boolean has(String method) {
        return byMethod.containsKey(method);
    }

    /**
     * Answers one call: its request within {@link RequestBounds} and the caller's models ({@link ModelGrants})
     * first, then the query's answer, as much of it as the caller may see.
     */
    @SuppressWarnings("unchecked")
    public Message answer(String method, Message request, Call call) {
        RequestBounds.check(request);
        ModelGrants.check(request, call.caller());
        Rpc<Message> rpc = (Rpc<Message>) rpc(method);
        return ModelGrants.filter(rpc.answer().apply(request, call), call.caller());
    }
}

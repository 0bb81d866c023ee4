package ai.neuraldivergence.inference.auth;

import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.proto.v1.InferenceServiceGrpc;
import java.util.Map;
import java.util.Set;

/**
 * The inference API's scopes and what needs them. Plain Java: both transports ask it. {@code predict} and
 * {@code record} open endpoints; {@code reference} is needed besides by any observation tagged {@code reference},
 * since such observations merge into the training reference every divergence is measured against.
 */
public final class InferenceScopes {

    public static final String PREDICT = "predict";
    public static final String RECORD = "record";
    public static final String REFERENCE = "reference";
    public static final Set<String> ALL = Set.of(PREDICT, RECORD, REFERENCE);

    private static final Map<String, String> GRPC_METHODS = Map.of(
            InferenceServiceGrpc.getPredictMethod().getFullMethodName(), PREDICT,
            InferenceServiceGrpc.getRecordLabelsMethod().getFullMethodName(), RECORD);

    private InferenceScopes() {
    }

    /**
     * The scopes a gRPC method needs. One not listed here (a new RPC) needs every scope until it is given one:
     * failing closed, only an unscoped token reaches it.
     */
    public static Set<String> forGrpcMethod(String fullMethodName) {
        String scope = GRPC_METHODS.get(fullMethodName);
        return scope == null ? ALL : Set.of(scope);
    }

    /** Throws {@link MissingScopeException} when the caller lacks a scope that {@code what} needs. */
    public static void require(AccessTokens.Caller caller, Set<String> scopes, String what) {
        for (String scope : scopes) {
            if (!caller.may(scope)) {
                throw new MissingScopeException(AccessTokens.missingScope(caller, scope, what));
            }
        }
    }

    /**
     * Throws {@link MissingScopeException} when any of the observations' tags (as they will be published) name a
     * reference and the caller lacks the {@code reference} scope. Called before anything is queued.
     */
    public static void requireReferenceScope(AccessTokens.Caller caller, Iterable<Map<String, String>> tags) {
        if (caller.may(REFERENCE)) {
            return;
        }
        for (Map<String, String> t : tags) {
            if (t != null && t.containsKey(ReferenceKey.TAG)) {
                throw new MissingScopeException(AccessTokens.missingScope(caller, REFERENCE,
                        "an observation tagged '" + ReferenceKey.TAG + "'"));
            }
        }
    }

    /**
     * What the token checks ask of every call: its scopes, and for a call on the served model (every one needing
     * {@code predict}: predictions and the model's description) a grant of that model, so that such an endpoint
     * added later is covered without a check of its own.
     */
    public static void requireForCall(AccessTokens.Caller caller, Set<String> scopes, String what,
            String servedModelId) {
        require(caller, scopes, what);
        if (scopes.contains(PREDICT)) {
            requireModel(caller, servedModelId);
        }
    }

    /** Throws {@link MissingScopeException} when the caller's token is confined to models other than this one. */
    public static void requireModel(AccessTokens.Caller caller, String modelId) {
        if (!caller.grants(modelId)) {
            throw new MissingScopeException(AccessTokens.notGranted(caller, modelId));
        }
    }

    /** A valid token without a scope the request needs: 403 over HTTP, PERMISSION_DENIED over gRPC. */
    public static final class MissingScopeException extends RuntimeException {
        public MissingScopeException(String message) {
            super(message, null, false, false);
        }
    }
}

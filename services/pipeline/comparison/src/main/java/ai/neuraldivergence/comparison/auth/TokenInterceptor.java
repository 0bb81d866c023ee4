package ai.neuraldivergence.comparison.auth;

import ai.neuraldivergence.contract.AccessTokens;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * The gRPC side of the token check: each call needs what {@link AccessRules#grpc} says. The caller travels on in
 * the call's {@link Context} ({@link #CALLER}), which gRPC attaches around every listener callback, so the service
 * method sees it on whichever thread it runs (Quarkus moves blocking methods to a worker).
 */
@GlobalInterceptor
@ApplicationScoped
public class TokenInterceptor implements ServerInterceptor {

    /** Who made the current call: null only on open services such as health. */
    public static final Context.Key<AccessTokens.Caller> CALLER = Context.key("nd-caller");

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
            Metadata.ASCII_STRING_MARSHALLER);

    @Inject
    AccessTokens tokens;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        String authorization = headers.get(AUTHORIZATION);
        String method = call.getMethodDescriptor().getFullMethodName();
        AccessRules.Verdict verdict = AccessRules.check(AccessRules.grpc(method), tokens.caller(authorization),
                authorization, call.getMethodDescriptor().getBareMethodName());
        if (!verdict.admitted()) {
            call.close(verdict.refusal(), new Metadata());
            return new ServerCall.Listener<>() { };
        }
        return Contexts.interceptCall(Context.current().withValue(CALLER, verdict.caller()), call, headers, next);
    }
}

package ai.neuraldivergence.inference.auth;

import ai.neuraldivergence.contract.AccessTokens;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * The gRPC side of the token check: a valid bearer token with the method's scope, or UNAUTHENTICATED /
 * PERMISSION_DENIED. The caller travels on in the call's {@link Context} ({@link #CALLER}), so that Predict can
 * check the {@code reference} scope against the request's tags. Health (Kubernetes' gRPC probe carries no token)
 * and reflection (the schema, public like /q/openapi) stay open.
 */
@GlobalInterceptor
@ApplicationScoped
public class GrpcTokenInterceptor implements ServerInterceptor {

    private static final Logger LOG = Logger.getLogger(GrpcTokenInterceptor.class);

    public static final Context.Key<AccessTokens.Caller> CALLER = Context.key("nd-caller");

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
            Metadata.ASCII_STRING_MARSHALLER);
    private static final Set<String> OPEN_SERVICES = Set.of("grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection");

    @Inject
    AccessTokens tokens;

    @Inject
    ai.neuraldivergence.inference.service.PredictionService predictions;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        if (OPEN_SERVICES.contains(call.getMethodDescriptor().getServiceName())) {
            return next.startCall(call, headers);
        }
        String method = call.getMethodDescriptor().getFullMethodName();
        String authorization = headers.get(AUTHORIZATION);
        Optional<AccessTokens.Caller> caller = tokens.caller(authorization);
        if (caller.isEmpty()) {
            return refuse(call, method, Status.UNAUTHENTICATED.withDescription(AccessTokens.refusal(authorization)));
        }
        try {
            InferenceScopes.requireForCall(caller.get(), InferenceScopes.forGrpcMethod(method), method,
                    predictions.spec().modelId());
        } catch (InferenceScopes.MissingScopeException e) {
            return refuse(call, method, Status.PERMISSION_DENIED.withDescription(e.getMessage()));
        }
        return Contexts.interceptCall(Context.current().withValue(CALLER, caller.get()), call, headers, next);
    }

    private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, String method, Status status) {
        LOG.debugf("refused %s: %s", method, status.getDescription());
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() { };
    }
}

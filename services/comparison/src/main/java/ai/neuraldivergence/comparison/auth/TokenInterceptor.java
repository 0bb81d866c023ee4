package ai.neuraldivergence.comparison.auth;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/** Every gRPC call but the standard health service needs a valid bearer token when tokens are configured. */
@GlobalInterceptor
@ApplicationScoped
public class TokenInterceptor implements ServerInterceptor {

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
            Metadata.ASCII_STRING_MARSHALLER);
    // probes (Kubernetes' gRPC probe among them) carry no token
    private static final String OPEN_SERVICE = "grpc.health.v1.Health";

    @Inject
    ApiTokens tokens;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        if (tokens.required() && !OPEN_SERVICE.equals(call.getMethodDescriptor().getServiceName())) {
            String authorization = headers.get(AUTHORIZATION);
            if (!tokens.accepts(authorization)) {
                call.close(Status.UNAUTHENTICATED.withDescription(ApiTokens.refusal(authorization)), new Metadata());
                return new ServerCall.Listener<>() { };
            }
        }
        return next.startCall(call, headers);
    }
}

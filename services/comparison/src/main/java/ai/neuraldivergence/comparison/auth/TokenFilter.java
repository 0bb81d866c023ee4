package ai.neuraldivergence.comparison.auth;

import io.grpc.Status;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.ext.Provider;

/**
 * The JSON mirror's side of the token check: every REST call needs a valid bearer token when tokens are
 * configured. Health and metrics are not REST resources, so they stay open.
 */
@Provider
public class TokenFilter implements ContainerRequestFilter {

    // looked up per request: providers are built at static init, before runtime configuration exists
    @Inject
    jakarta.inject.Provider<ApiTokens> tokens;

    @Override
    public void filter(ContainerRequestContext request) {
        String authorization = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        if (!tokens.get().accepts(authorization)) {
            request.abortWith(ai.neuraldivergence.comparison.api.JsonMirrorResource.error(
                    Status.UNAUTHENTICATED.withDescription(ApiTokens.refusal(authorization))));
        }
    }
}

package ai.neuraldivergence.inference.auth;

import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.inference.api.ErrorResponse;
import jakarta.inject.Inject;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.Provider;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * The REST side of the token check: a valid bearer token with the endpoint's scope ({@link RequiresScope}), or 401
 * / 403. The caller is handed on to the resource, which checks the {@code reference} scope once it has read the
 * body. Health, metrics and OpenAPI are not REST resources, so they stay open; CORS preflights are answered before
 * any resource.
 */
@Provider
public class TokenFilter implements ContainerRequestFilter {

    private static final Logger LOG = Logger.getLogger(TokenFilter.class);

    // looked up per request: providers are built at static init, before runtime configuration exists
    @Inject
    jakarta.inject.Provider<AccessTokens> tokens;

    @Inject
    jakarta.inject.Provider<RequestCaller> requestCaller;

    @Inject
    jakarta.inject.Provider<ai.neuraldivergence.inference.service.PredictionService> predictions;

    @Context
    ResourceInfo resource;

    @Override
    public void filter(ContainerRequestContext request) {
        if (HttpMethod.OPTIONS.equals(request.getMethod())) {
            return;
        }
        String what = request.getMethod() + " /" + request.getUriInfo().getPath().replaceFirst("^/", "");
        String authorization = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        Optional<AccessTokens.Caller> caller = tokens.get().caller(authorization);
        if (caller.isEmpty()) {
            String refusal = AccessTokens.refusal(authorization);
            LOG.debugf("refused %s: %s", what, refusal);
            request.abortWith(error(Response.Status.UNAUTHORIZED, refusal).header(HttpHeaders.WWW_AUTHENTICATE,
                    "Bearer").build());
            return;
        }
        try {
            InferenceScopes.requireForCall(caller.get(), scopes(), what, predictions.get().spec().modelId());
        } catch (InferenceScopes.MissingScopeException e) {
            LOG.debugf("refused %s: %s", what, e.getMessage());
            request.abortWith(error(Response.Status.FORBIDDEN, e.getMessage()).build());
            return;
        }
        requestCaller.get().set(caller.get());
    }

    private Set<String> scopes() {
        RequiresScope scope = resource.getResourceMethod().getAnnotation(RequiresScope.class);
        if (scope == null) {
            scope = resource.getResourceClass().getAnnotation(RequiresScope.class);
        }
        return scope == null ? InferenceScopes.ALL : Set.of(scope.value());
    }

    static Response.ResponseBuilder error(Response.Status status, String message) {
        return Response.status(status).type(MediaType.APPLICATION_JSON)
                .entity(new ErrorResponse(status.getStatusCode(), status.getReasonPhrase(), message));
    }
}

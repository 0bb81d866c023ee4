package ai.neuraldivergence.comparison.auth;

import ai.neuraldivergence.comparison.api.JsonMirrorResource;
import ai.neuraldivergence.contract.AccessTokens;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.ext.Provider;

/**
 * The JSON mirror's side of the token check: each route needs what {@link AccessRules#http} says. Health, metrics
 * and the UI's files are not REST resources, so they stay open.
 */
@Provider
public class TokenFilter implements ContainerRequestFilter {

    // looked up per request: providers are built at static init, before runtime configuration exists
    @Inject
    jakarta.inject.Provider<AccessTokens> tokens;

    @Inject
    jakarta.inject.Provider<RequestCaller> requestCaller;

    @Override
    public void filter(ContainerRequestContext request) {
        String authorization = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        String method = request.getMethod();
        String path = request.getUriInfo().getPath();
        AccessRules.Verdict verdict = AccessRules.check(AccessRules.http(method, path),
                tokens.get().caller(authorization), authorization, method + " " + path);
        if (!verdict.admitted()) {
            request.abortWith(JsonMirrorResource.error(verdict.refusal()));
            return;
        }
        requestCaller.get().set(verdict.caller());
    }
}

package ai.neuraldivergence.inference.auth;

import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.inference.config.AuthConfig;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/** Makes the configured tokens a bean, built at start so that a bad entry stops the service there. */
public class AuthBeans {

    private static final Logger LOG = Logger.getLogger(AuthBeans.class);

    @Produces
    @Singleton
    @Startup
    AccessTokens accessTokens(AuthConfig config) {
        AccessTokens tokens = tokens(config);
        if (!tokens.required()) {
            LOG.info("no access tokens configured (nd.inference.auth.tokens): the inference API is open");
        }
        return tokens;
    }

    /** AccessTokens' message names the entry, never its token; the prefix says which setting to fix. */
    static AccessTokens tokens(AuthConfig config) {
        try {
            new AccessTokens(config.tokens(), InferenceScopes.ALL);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("nd.inference.auth.tokens (ND_INFERENCE_AUTH_TOKENS): "
                    + e.getMessage());
        }
        try {
            return new AccessTokens(config.tokens(), config.models(), InferenceScopes.ALL);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("nd.inference.auth.models (ND_INFERENCE_AUTH_MODELS): "
                    + e.getMessage());
        }
    }
}

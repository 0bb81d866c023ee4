package ai.neuraldivergence.inference.config;

import io.smallrye.config.ConfigMapping;
import java.util.List;
import java.util.Optional;

/** Who may call the inference API (prefix {@code nd.inference.auth}). */
@ConfigMapping(prefix = "nd.inference.auth")
public interface AuthConfig {

    /**
     * Bearer tokens, comma-separated {@code [name:]token[=scope+scope]} with the scopes {@code predict},
     * {@code record} and {@code reference} (none listed: all). Unset, the API is open. Environment:
     * ND_INFERENCE_AUTH_TOKENS, from a Secret in a cluster.
     */
    Optional<List<String>> tokens();

    /**
     * Which models a token may reach, comma-separated entries {@code name=model+model} by token name (environment
     * ND_INFERENCE_AUTH_MODELS): such a token is refused (403) predictions of a served model, and observations and
     * labels of a model, that it is not granted. A token named in none reaches every model.
     */
    Optional<List<String>> models();
}

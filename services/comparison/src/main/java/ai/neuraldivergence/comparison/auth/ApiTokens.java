package ai.neuraldivergence.comparison.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;

/**
 * The API tokens a caller may present as {@code authorization: Bearer <token>}. None configured: the API is open
 * (a laptop); any configured: every API call needs one of them. Tokens come from configuration (a Kubernetes
 * Secret in a cluster), never from code.
 */
public final class ApiTokens {

    private static final String BEARER = "Bearer ";

    private final List<byte[]> tokens;

    public ApiTokens(Optional<List<String>> configured) {
        this.tokens = configured.orElse(List.of()).stream().map(String::trim).filter(t -> !t.isEmpty())
                .map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
    }

    public boolean required() {
        return !tokens.isEmpty();
    }

    /** Whether an {@code authorization} header value carries a valid token (or none is required). */
    public boolean accepts(String authorization) {
        if (!required()) {
            return true;
        }
        if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return false;
        }
        return acceptsToken(authorization.substring(BEARER.length()).trim());
    }

    /** Whether a bare token is valid; compared in constant time, so timing tells nothing about a near miss. */
    public boolean acceptsToken(String token) {
        if (!required()) {
            return true;
        }
        byte[] presented = token == null ? new byte[0] : token.getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (byte[] t : tokens) {
            ok |= MessageDigest.isEqual(t, presented);
        }
        return ok;
    }

    /** What a refused caller is told; never echoes what it sent. */
    public static String refusal(String authorization) {
        return authorization == null || authorization.isEmpty()
                ? "this API requires 'authorization: Bearer <token>'"
                : "the bearer token is not valid";
    }
}

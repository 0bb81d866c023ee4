package ai.neuraldivergence.contract;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The bearer tokens a service accepts, each with a name (what the logs say of its holder) and the scopes it grants.
 * Configured as comma-separated entries {@code [name:]token[=scope+scope]}: no scopes means every scope of the
 * service, no name means "token-N" (its position). A token holds no comma and, when it is named, no colon before
 * the name's end; a trailing {@code =} alone is padding, not scopes. Tokens come from configuration (a Kubernetes Secret in a
 * cluster), never from code, and are never logged: only names are.
 *
 * <p>A presented token is compared with every configured one in constant time, so that timing tells nothing about
 * a near miss or about which entry matched. With no entry configured the service is open (a caller with every
 * scope, named "anonymous"): the local run and the chart configure tokens, a laptop experiment need not.
 */
public final class AccessTokens {

    private static final String BEARER = "Bearer ";
    private static final String NAME = "[A-Za-z0-9._-]{1,64}";
    /** Shorter tokens are refused at start: a guessable token is no token. */
    public static final int MIN_LENGTH = 16;

    /** Who presented a valid token, and what it may do. */
    public record Caller(String name, Set<String> scopes) {
        public boolean may(String scope) {
            return scopes.contains(scope);
        }
    }

    private record Entry(String name, byte[] token, Set<String> scopes) {
    }

    private final List<Entry> entries;
    private final Set<String> serviceScopes;

    /**
     * @param configured the entries, as configured (blank ones ignored)
     * @param serviceScopes every scope the service knows: an entry naming another is refused at start, since a
     *     typo there would silently grant less than meant
     */
    public AccessTokens(Optional<? extends Collection<String>> configured, Set<String> serviceScopes) {
        this.serviceScopes = Set.copyOf(serviceScopes);
        List<Entry> parsed = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        int position = 0;
        for (String raw : configured.isPresent() ? configured.get() : List.<String>of()) {
            String entry = raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            position++;
            Entry e = parse(entry, position);
            if (!names.add(e.name())) {
                throw new IllegalArgumentException("token name '" + e.name() + "' is configured twice");
            }
            parsed.add(e);
        }
        this.entries = List.copyOf(parsed);
    }

    private Entry parse(String entry, int position) {
        String name = "token-" + position;
        String rest = entry;
        int colon = rest.indexOf(':');
        if (colon > 0 && rest.substring(0, colon).matches(NAME)) {
            name = rest.substring(0, colon);
            rest = rest.substring(colon + 1);
        }
        Set<String> scopes = serviceScopes;
        int equals = rest.lastIndexOf('=');
        // "=scope+scope" at the end; a trailing "=" alone is a token's base64 padding
        if (equals >= 0 && equals < rest.length() - 1 && rest.substring(equals + 1).matches("[a-z+ ]+")) {
            Set<String> listed = new LinkedHashSet<>();
            for (String s : rest.substring(equals + 1).split("\\+")) {
                String scope = s.trim();
                if (!serviceScopes.contains(scope)) {
                    throw new IllegalArgumentException("token '" + name + "': unknown scope '" + scope
                            + "' (this service knows " + String.join(", ", new java.util.TreeSet<>(serviceScopes))
                            + ")");
                }
                listed.add(scope);
            }
            scopes = Set.copyOf(listed);
            rest = rest.substring(0, equals);
        }
        String token = rest.trim();
        if (token.length() < MIN_LENGTH) {
            // the message names the entry, never its token
            throw new IllegalArgumentException("token '" + name + "' is shorter than " + MIN_LENGTH + " characters");
        }
        return new Entry(name, token.getBytes(StandardCharsets.UTF_8), scopes);
    }

    /** Whether callers must present a token at all. */
    public boolean required() {
        return !entries.isEmpty();
    }

    /**
     * The caller an {@code authorization} header value identifies: empty when it carries no valid token. With no
     * token configured, every caller may do everything.
     */
    public Optional<Caller> caller(String authorization) {
        if (!required()) {
            return Optional.of(new Caller("anonymous", serviceScopes));
        }
        if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return Optional.empty();
        }
        return callerOf(authorization.substring(BEARER.length()).trim());
    }

    /** The caller a bare token identifies (a WebSocket's query parameter, say); empty when it is not valid. */
    public Optional<Caller> callerOf(String token) {
        if (!required()) {
            return Optional.of(new Caller("anonymous", serviceScopes));
        }
        byte[] presented = token == null ? new byte[0] : token.getBytes(StandardCharsets.UTF_8);
        Entry match = null;
        // every entry compared, whatever matched first: the time taken does not depend on which one did
        for (Entry e : entries) {
            if (MessageDigest.isEqual(e.token(), presented) && match == null) {
                match = e;
            }
        }
        return match == null ? Optional.empty() : Optional.of(new Caller(match.name(), match.scopes()));
    }

    /** What a caller without a valid token is told; never echoes what it sent. */
    public static String refusal(String authorization) {
        return authorization == null || authorization.isEmpty()
                ? "this API requires 'authorization: Bearer <token>'"
                : "the bearer token is not valid";
    }

    /** What a caller whose token lacks a scope is told. */
    public static String missingScope(Caller caller, String scope, String what) {
        return "token '" + caller.name() + "' lacks the '" + scope + "' scope, which " + what + " needs";
    }
}

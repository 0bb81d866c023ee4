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

    /**
     * Who presented a valid token, what it may do, and to which models' data: {@code models} empty means every
     * model (a token not named in the model grants).
     */
    public record Caller(String name, Set<String> scopes, Set<String> models) {

        public Caller(String name, Set<String> scopes) {
            this(name, scopes, Set.of());
        }

        public Caller {
            scopes = Set.copyOf(scopes);
            models = Set.copyOf(models);
        }

        public boolean may(String scope) {
            return scopes.contains(scope);
        }

        /** Whether the token may read or change the data of {@code modelId}. */
        public boolean grants(String modelId) {
            return models.isEmpty() || models.contains(modelId);
        }

        /** Whether the token is confined to some models: what it is answered is then filtered to them. */
        public boolean confined() {
            return !models.isEmpty();
        }
    }

    private record Entry(String name, byte[] token, Set<String> scopes, Set<String> models) {
    }

    private final List<Entry> entries;
    private final Set<String> serviceScopes;

    /**
     * @param configured the entries, as configured (blank ones ignored)
     * @param serviceScopes every scope the service knows: an entry naming another is refused at start, since a
     *     typo there would silently grant less than meant
     */
    public AccessTokens(Optional<? extends Collection<String>> configured, Set<String> serviceScopes) {
        this(configured, Optional.empty(), serviceScopes);
    }

    /**
     * @param modelGrants entries {@code name=model+model}: the token of that name may reach those models' data
     *     alone; a token named in none reaches every model. A name that no token bears, or named twice, is refused
     *     at start: a typo there would leave a token unconfined that was meant to be confined.
     */
    public AccessTokens(Optional<? extends Collection<String>> configured,
            Optional<? extends Collection<String>> modelGrants, Set<String> serviceScopes) {
        this.serviceScopes = Set.copyOf(serviceScopes);
        List<Entry> parsed = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        // names written in the entries; "token-N" names move with the list's order, so no grant may use them
        Set<String> written = new LinkedHashSet<>();
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
            if (entry.startsWith(e.name() + ":")) {
                written.add(e.name());
            }
        }
        java.util.Map<String, Set<String>> grants = grants(modelGrants, names, written);
        this.entries = parsed.stream().map(e -> new Entry(e.name(), e.token(), e.scopes(),
                grants.getOrDefault(e.name(), Set.of()))).toList();
    }

    /** The model grants by token name; refuses an entry that is malformed or names no configured token. */
    private static java.util.Map<String, Set<String>> grants(Optional<? extends Collection<String>> configured,
            Set<String> tokenNames, Set<String> written) {
        java.util.Map<String, Set<String>> out = new java.util.HashMap<>();
        for (String raw : configured.isPresent() ? configured.get() : List.<String>of()) {
            String entry = raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            int equals = entry.indexOf('=');
            String name = equals < 0 ? entry : entry.substring(0, equals).trim();
            if (equals < 0 || !name.matches(NAME)) {
                throw new IllegalArgumentException("model grant '" + (name.matches(NAME) ? name : "?")
                        + "' must read name=model+model");
            }
            if (!tokenNames.contains(name)) {
                throw new IllegalArgumentException("model grant names token '" + name + "', which is not configured");
            }
            if (!written.contains(name)) {
                throw new IllegalArgumentException("model grant names token '" + name + "' by its position: name "
                        + "the token in its entry (name:token), so that reordering the list cannot move the grant");
            }
            Set<String> models = new LinkedHashSet<>();
            for (String m : entry.substring(equals + 1).split("\\+")) {
                if (!m.trim().isEmpty()) {
                    models.add(m.trim());
                }
            }
            if (models.isEmpty()) {
                // an empty list would read as "every model": the opposite of what was written
                throw new IllegalArgumentException("model grant of token '" + name + "' lists no model");
            }
            if (out.put(name, Set.copyOf(models)) != null) {
                throw new IllegalArgumentException("token '" + name + "' has two model grants");
            }
        }
        return out;
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
        return new Entry(name, token.getBytes(StandardCharsets.UTF_8), scopes, Set.of());
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
        return match == null ? Optional.empty() : Optional.of(new Caller(match.name(), match.scopes(),
                match.models()));
    }

    /** What a caller without a valid token is told; never echoes what it sent. */
    public static String refusal(String authorization) {
        return authorization == null || authorization.isEmpty()
                ? "this API requires 'authorization: Bearer <token>'"
                : "the bearer token is not valid";
    }

    /** What a caller whose token is not granted a model is told. */
    public static String notGranted(Caller caller, String modelId) {
        return "token '" + caller.name() + "' is not granted model '" + modelId + "'";
    }

    /** What a caller whose token lacks a scope is told. */
    public static String missingScope(Caller caller, String scope, String what) {
        return "token '" + caller.name() + "' lacks the '" + scope + "' scope, which " + what + " needs";
    }
}

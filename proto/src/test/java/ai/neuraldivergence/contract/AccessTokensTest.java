package ai.neuraldivergence.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The token entries operators write ({@code [name:]token[=scope+scope]}) and what each grants. */
class AccessTokensTest {

    private static final Set<String> SCOPES = Set.of("predict", "record", "reference");

    private static AccessTokens of(String... entries) {
        return new AccessTokens(Optional.of(List.of(entries)), SCOPES);
    }

    @Test
    void aNamedTokenWithScopesGrantsThoseScopesOnly() {
        AccessTokens tokens = of("replay:0123456789abcdef0123=record+reference", "fedcba9876543210fedc");
        AccessTokens.Caller replay = tokens.caller("Bearer 0123456789abcdef0123").orElseThrow();
        assertEquals("replay", replay.name());
        assertTrue(replay.may("reference"));
        assertFalse(replay.may("predict"));
        // no scopes listed: every scope of the service; no name: its position
        AccessTokens.Caller second = tokens.caller("bearer fedcba9876543210fedc").orElseThrow();
        assertEquals("token-2", second.name());
        assertEquals(SCOPES, second.scopes());
    }

    @Test
    void aMissingMalformedOrWrongTokenIdentifiesNobody() {
        AccessTokens tokens = of("0123456789abcdef0123");
        assertTrue(tokens.required());
        assertTrue(tokens.caller(null).isEmpty());
        assertTrue(tokens.caller("Basic 0123456789abcdef0123").isEmpty());
        assertTrue(tokens.caller("Bearer 0123456789abcdef012").isEmpty(), "a prefix is not the token");
        assertTrue(tokens.caller("Bearer 0123456789abcdef01234").isEmpty());
        assertTrue(tokens.callerOf("").isEmpty());
    }

    @Test
    void base64PaddingIsPartOfTheToken() {
        AccessTokens tokens = of("ci:c2VjcmV0LXRva2VuLXZhbHVlLTE=");
        assertEquals("ci", tokens.callerOf("c2VjcmV0LXRva2VuLXZhbHVlLTE=").orElseThrow().name());
    }

    @Test
    void configurationMistakesFailAtStartWithoutShowingTheToken() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> of("ops:0123456789abcdef0123=predict+raed"));
        assertTrue(unknown.getMessage().contains("'raed'"), unknown.getMessage());
        assertFalse(unknown.getMessage().contains("0123456789abcdef0123"), unknown.getMessage());
        IllegalArgumentException tooShort = assertThrows(IllegalArgumentException.class, () -> of("ops:tiny1"));
        assertFalse(tooShort.getMessage().contains("tiny1"), tooShort.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> of("ops:0123456789abcdef0123", "ops:fedcba9876543210fedc"), "a name configured twice");
    }

    @Test
    void noTokenConfiguredLeavesTheServiceOpen() {
        AccessTokens open = new AccessTokens(Optional.empty(), SCOPES);
        assertFalse(open.required());
        assertEquals(SCOPES, open.caller(null).orElseThrow().scopes());
        assertFalse(of(" ", "").required(), "blank entries are no tokens");
    }

    @Test
    void aModelGrantConfinesItsTokenAndOthersReachEveryModel() {
        AccessTokens tokens = new AccessTokens(Optional.of(List.of("team-a:0123456789abcdef0123=record",
                "ops:fedcba9876543210fedc")), Optional.of(List.of("team-a=mnist-cnn+fashion")), SCOPES);
        AccessTokens.Caller a = tokens.callerOf("0123456789abcdef0123").orElseThrow();
        assertTrue(a.confined());
        assertTrue(a.grants("mnist-cnn"));
        assertTrue(a.grants("fashion"));
        assertFalse(a.grants("other"));
        assertFalse(a.grants(""), "no model named is not a granted one");
        assertTrue(a.may("record"), "scopes stay as listed");
        AccessTokens.Caller ops = tokens.callerOf("fedcba9876543210fedc").orElseThrow();
        assertFalse(ops.confined());
        assertTrue(ops.grants("other"));
    }

    @Test
    void aModelGrantThatConfinesNothingFailsAtStart() {
        Optional<List<String>> token = Optional.of(List.of("team-a:0123456789abcdef0123"));
        IllegalArgumentException typo = assertThrows(IllegalArgumentException.class,
                () -> new AccessTokens(token, Optional.of(List.of("team-b=mnist-cnn")), SCOPES));
        assertTrue(typo.getMessage().contains("'team-b'"), typo.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new AccessTokens(token, Optional.of(List.of("team-a=")), SCOPES), "no model listed");
        assertThrows(IllegalArgumentException.class,
                () -> new AccessTokens(token, Optional.of(List.of("team-a")), SCOPES), "no '='");
        assertThrows(IllegalArgumentException.class,
                () -> new AccessTokens(token, Optional.of(List.of("team-a=m1", "team-a=m2")), SCOPES), "twice");
        IllegalArgumentException positional = assertThrows(IllegalArgumentException.class, () -> new AccessTokens(
                Optional.of(List.of("0123456789abcdef0123")), Optional.of(List.of("token-1=m1")), SCOPES));
        assertTrue(positional.getMessage().contains("by its position"), positional.getMessage());
    }
}

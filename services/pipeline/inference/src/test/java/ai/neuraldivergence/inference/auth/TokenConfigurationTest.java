package ai.neuraldivergence.inference.auth;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.inference.config.AuthConfig;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A bad token entry stops the service at start, saying where and which entry, never the token. */
class TokenConfigurationTest {

    private static AuthConfig config(Optional<List<String>> tokens, Optional<List<String>> models) {
        return new AuthConfig() {
            @Override
            public Optional<List<String>> tokens() {
                return tokens;
            }

            @Override
            public Optional<List<String>> models() {
                return models;
            }
        };
    }

    private static AccessTokens configured(String... entries) {
        return AuthBeans.tokens(config(Optional.of(List.of(entries)), Optional.empty()));
    }

    @Test
    void badEntriesFailWithAMessageThatNamesTheSettingAndTheEntryButNotTheToken() {
        IllegalArgumentException shortToken = assertThrows(IllegalArgumentException.class,
                () -> configured("uploader:tooShort=predict"));
        assertEquals("nd.inference.auth.tokens (ND_INFERENCE_AUTH_TOKENS): token 'uploader' is shorter than 16 "
                + "characters", shortToken.getMessage());
        IllegalArgumentException unknownScope = assertThrows(IllegalArgumentException.class,
                () -> configured("ops:0123456789abcdef-secret=predict+admin"));
        assertEquals("nd.inference.auth.tokens (ND_INFERENCE_AUTH_TOKENS): token 'ops': unknown scope 'admin' "
                + "(this service knows predict, record, reference)", unknownScope.getMessage());
        assertFalse(unknownScope.getMessage().contains("0123456789abcdef"));
    }

    @Test
    void aModelGrantForNoTokenNamesItsOwnSetting() {
        IllegalArgumentException typo = assertThrows(IllegalArgumentException.class, () -> AuthBeans.tokens(config(
                Optional.of(List.of("team:0123456789abcdef-secret")), Optional.of(List.of("taem=mnist-cnn")))));
        assertEquals("nd.inference.auth.models (ND_INFERENCE_AUTH_MODELS): model grant names token 'taem', which "
                + "is not configured", typo.getMessage());
    }

    @Test
    void noTokensLeaveTheApiOpenWithEveryScope() {
        AccessTokens open = AuthBeans.tokens(config(Optional.empty(), Optional.empty()));
        assertFalse(open.required());
        assertEquals(InferenceScopes.ALL, open.caller(null).orElseThrow().scopes());
    }

    @Test
    void aReferenceTagNeedsTheReferenceScopeAndOnlyTheTagKeyCounts() {
        AccessTokens.Caller recorder = new AccessTokens.Caller("recorder", Set.of("record"));
        InferenceScopes.MissingScopeException e = assertThrows(InferenceScopes.MissingScopeException.class,
                () -> InferenceScopes.requireReferenceScope(recorder, List.of(Map.of(), Map.of("reference", "r"))));
        assertEquals("token 'recorder' lacks the 'reference' scope, which an observation tagged 'reference' needs",
                e.getMessage());
        assertDoesNotThrow(() -> InferenceScopes.requireReferenceScope(recorder,
                List.of(Map.of("source", "reference"))));
        assertDoesNotThrow(() -> InferenceScopes.requireReferenceScope(
                new AccessTokens.Caller("replay", Set.of("record", "reference")), List.of(Map.of("reference", "r"))));
    }

    @Test
    void aGrpcMethodWithoutAScopeNeedsEveryScope() {
        assertEquals(Set.of("predict"), InferenceScopes.forGrpcMethod("neuraldivergence.v1.InferenceService/Predict"));
        assertEquals(Set.of("record"),
                InferenceScopes.forGrpcMethod("neuraldivergence.v1.InferenceService/RecordLabels"));
        assertTrue(InferenceScopes.forGrpcMethod("neuraldivergence.v1.InferenceService/Next")
                .containsAll(InferenceScopes.ALL));
    }
}

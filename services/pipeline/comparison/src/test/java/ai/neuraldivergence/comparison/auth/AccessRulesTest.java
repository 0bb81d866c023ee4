package ai.neuraldivergence.comparison.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.comparison.auth.AccessRules.Requirement;
import ai.neuraldivergence.contract.AccessTokens;
import io.grpc.Status;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AccessRulesTest {

    private static final Requirement READ = new Requirement(true, "read");
    private static final Requirement WRITE = new Requirement(true, "write");

    @Test
    void grpcWritesNeedWriteProbesNothingAndAnythingUnknownRead() {
        assertEquals(WRITE, AccessRules.grpc("neuraldivergence.v1.ComparisonService/CreateReference"));
        assertEquals(WRITE, AccessRules.grpc("neuraldivergence.v1.ComparisonService/DeleteReference"));
        assertEquals(READ, AccessRules.grpc("neuraldivergence.v1.ComparisonService/ListReferences"));
        assertEquals(WRITE, AccessRules.grpc("neuraldivergence.v1.ComparisonService/CreateMonitor"));
        assertEquals(WRITE, AccessRules.grpc("neuraldivergence.v1.ComparisonService/UpdateMonitor"));
        assertEquals(WRITE, AccessRules.grpc("neuraldivergence.v1.ComparisonService/DeleteMonitor"));
        assertEquals(READ, AccessRules.grpc("neuraldivergence.v1.ComparisonService/GetMonitorHistory"));
        assertEquals(READ, AccessRules.grpc("neuraldivergence.v1.ComparisonService/Watch"));
        assertEquals(Requirement.OPEN, AccessRules.grpc("grpc.health.v1.Health/Check"));
        assertEquals(Requirement.OPEN, AccessRules.grpc("grpc.health.v1.Health/Watch"));
        assertEquals(Requirement.ANY_TOKEN,
                AccessRules.grpc("grpc.reflection.v1.ServerReflection/ServerReflectionInfo"));
        assertEquals(Requirement.ANY_TOKEN,
                AccessRules.grpc("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
        // a same-named method of another service is no write of this one, and is not open either
        assertEquals(READ, AccessRules.grpc("other.v1.Other/DeleteReference"));
        assertEquals(READ, AccessRules.grpc("grpc.health.v1.HealthX/Check"));
    }

    @Test
    void everyMethodOfTheServiceIsListedOnceAndOneThatIsNotNeedsWrite() {
        Set<String> methods = new java.util.HashSet<>();
        ai.neuraldivergence.proto.v1.ComparisonServiceGrpc.getServiceDescriptor().getMethods()
                .forEach(m -> methods.add(m.getFullMethodName()));
        Set<String> listed = new java.util.HashSet<>(AccessRules.READ_METHODS);
        listed.addAll(AccessRules.WRITE_METHODS);
        // a new RPC is decided on here: until it is listed as a read, it needs write
        assertEquals(methods, listed, "every method read or write");
        assertTrue(java.util.Collections.disjoint(AccessRules.READ_METHODS, AccessRules.WRITE_METHODS));
        assertEquals(WRITE, AccessRules.grpc("neuraldivergence.v1.ComparisonService/ImportReference"));
    }

    @Test
    void jsonRoutesFollowTheSameTable() {
        assertEquals(WRITE, AccessRules.http("POST", "/api/v1/references"));
        assertEquals(WRITE, AccessRules.http("POST", "/api/v1/references/"));
        assertEquals(WRITE, AccessRules.http("DELETE", "/api/v1/references/m/training"));
        assertEquals(WRITE, AccessRules.http("DELETE", "api/v1/references/m/training"));
        assertEquals(READ, AccessRules.http("GET", "/api/v1/references"));
        assertEquals(READ, AccessRules.http("POST", "/api/v1/compare"));
        assertEquals(READ, AccessRules.http("GET", "/api/v1/catalog"));
        assertEquals(READ, AccessRules.http("POST", "/api/v1/references-export"));
        assertEquals(WRITE, AccessRules.http("POST", "/api/v1/monitors"));
        assertEquals(WRITE, AccessRules.http("PUT", "/api/v1/monitors/digits"));
        assertEquals(WRITE, AccessRules.http("DELETE", "/api/v1/monitors/digits"));
        assertEquals(READ, AccessRules.http("GET", "/api/v1/monitors"));
        assertEquals(READ, AccessRules.http("GET", "/api/v1/monitors/digits/history"));
        assertEquals(Requirement.ANY_TOKEN, AccessRules.http("GET", "/api/v1/ui-settings"));
        assertEquals(READ, AccessRules.watch());
    }

    @Test
    void aCheckTellsMissingFromInvalidFromLackingAScope() {
        AccessTokens tokens = new AccessTokens(Optional.of(List.of("reader:reader-token-0123456789=read")),
                AccessRules.SCOPES);
        var missing = AccessRules.check(WRITE, tokens.caller(null), null, "DeleteReference");
        assertEquals(Status.Code.UNAUTHENTICATED, missing.refusal().getCode());
        assertEquals("this API requires 'authorization: Bearer <token>'", missing.refusal().getDescription());
        var wrong = AccessRules.check(Requirement.ANY_TOKEN, tokens.caller("Bearer nope"), "Bearer nope", "x");
        assertEquals("the bearer token is not valid", wrong.refusal().getDescription());
        var lacking = AccessRules.check(WRITE, tokens.caller("Bearer reader-token-0123456789"),
                "Bearer reader-token-0123456789", "DeleteReference");
        assertEquals(Status.Code.PERMISSION_DENIED, lacking.refusal().getCode());
        assertEquals("token 'reader' lacks the 'write' scope, which DeleteReference needs",
                lacking.refusal().getDescription());
        var reading = AccessRules.check(READ, tokens.caller("Bearer reader-token-0123456789"),
                "Bearer reader-token-0123456789", "GetCatalog");
        assertTrue(reading.admitted());
        assertEquals("reader", reading.caller().name());
        var open = AccessRules.check(Requirement.OPEN, tokens.caller(null), null, "Check");
        assertTrue(open.admitted());
        assertNull(open.caller());
    }

    @Test
    void withoutTokensEveryCallIsAnAnonymousOneWithEveryScope() {
        AccessTokens none = new AccessTokens(Optional.empty(), AccessRules.SCOPES);
        var write = AccessRules.check(WRITE, none.caller(null), null, "CreateReference");
        assertTrue(write.admitted());
        assertEquals("anonymous", write.caller().name());
        assertEquals(Set.of("read", "write"), write.caller().scopes());
    }
}

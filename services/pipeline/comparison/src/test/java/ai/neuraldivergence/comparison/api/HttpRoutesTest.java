package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.contract.HttpRoutes;
import java.util.Map;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JSON mirror's routes as comparison.proto's google.api.http options give them. */
class HttpRoutesTest {

    private static final HttpRoutes ROUTES = JsonMirrorResource.ROUTES;

    private static String method(String verb, String path) {
        return ROUTES.match(verb, path).orElseThrow().route().method().getName();
    }

    @Test
    void everyPathOfTheMirrorReachesItsRpc() {
        assertEquals("GetCatalog", method("GET", "/api/v1/catalog"));
        assertEquals("GetLayerOverview", method("POST", "/api/v1/layer-overview"));
        assertEquals("ListReferences", method("GET", "/api/v1/references"));
        assertEquals("CreateReference", method("POST", "/api/v1/references"));
        // a literal segment wins over a variable one
        assertEquals("SealReference", method("POST", "/api/v1/references/seal"));
        assertEquals("UpdateMonitor", method("PUT", "/api/v1/monitors/digits"));
        assertEquals("GetMonitorHistory", method("GET", "/api/v1/monitors/digits/history"));
        assertEquals(19, ROUTES.routes().size(), "every unary RPC has a route; Watch is the WebSocket");
    }

    @Test
    void pathVariablesBindToTheirFields() {
        var match = ROUTES.match("DELETE", "/api/v1/references/mnist/training").orElseThrow();
        assertEquals("DeleteReference", match.route().method().getName());
        assertEquals(Map.of("model_id", "mnist", "name", "training"), match.variables());
    }

    @Test
    void aKnownPathUnderAnotherVerbIsToldApartFromAnUnknownPath() {
        assertTrue(ROUTES.match("GET", "/api/v1/compare").isEmpty());
        assertTrue(ROUTES.pathExists("/api/v1/compare"), "405, not 404");
        assertFalse(ROUTES.pathExists("/api/v1/nothing-here"));
        assertFalse(ROUTES.pathExists("/api/v1/references/a/b/c"));
    }
}

package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.WindowUpdate;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/** Watch over a WebSocket: the token as a subprotocol, filtered events as JSON, a slow client dropped. */
@QuarkusTest
@TestProfile(WatchSocketTest.WithTokens.class)
@WithTestResource(MigratedInfrastructureResource.class)
class WatchSocketTest {

    public static class WithTokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("nd.comparison.auth.tokens", "socket-secret-token-01", "nd.comparison.watch.queue", "1024");
        }
    }

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    /** Collects what arrives; {@code eager} reads everything, otherwise nothing is read until asked. */
    static final class Client implements WebSocket.Listener {
        final List<String> texts = new CopyOnWriteArrayList<>();
        final CompletableFuture<String> closed = new CompletableFuture<>();
        private final boolean eager;
        private final StringBuilder partial = new StringBuilder();

        Client(boolean eager) {
            this.eager = eager;
        }

        @Override
        public void onOpen(WebSocket ws) {
            ws.request(eager ? Long.MAX_VALUE : 1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                texts.add(partial.toString());
                partial.setLength(0);
            }
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
            closed.complete(code + " " + reason);
            return null;
        }
    }

    private WebSocket open(Client client, String... subprotocols) {
        WebSocket.Builder b = HttpClient.newHttpClient().newWebSocketBuilder();
        if (subprotocols.length > 0) {
            b.subprotocols(subprotocols[0], java.util.Arrays.copyOfRange(subprotocols, 1, subprotocols.length));
        }
        return b.buildAsync(URI.create("ws://127.0.0.1:" + port + "/api/v1/watch"), client).join();
    }

    private static WindowUpdate update(String model, String tap) {
        return WindowUpdate.newBuilder().setModelId(model).setModelVersion("1").setTap(tap)
                .setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder().setAll(true)).setObservationCount(1).build();
    }

    @Test
    void theTokenTravelsAsASubprotocolAndAMissingOrWrongOneIsRefused() {
        // one token per handshake: a wrong one first is refused, whatever follows it (no guesses in bulk)
        for (String[] protocols : new String[][] {{"nd.v1"}, {"nd.v1", "bearer.wrong"}, {},
            {"nd.v1", "bearer.wrong", "bearer.socket-secret-token-01"}}) {
            CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
                    () -> open(new Client(true), protocols));
            assertTrue(e.getCause() instanceof WebSocketHandshakeException, e.toString());
            assertEquals(401, ((WebSocketHandshakeException) e.getCause()).getResponse().statusCode());
        }
        WebSocket ws = open(new Client(true), "nd.v1", "bearer.socket-secret-token-01");
        assertEquals("nd.v1", ws.getSubprotocol());
        ws.abort();
    }

    @Test
    void eachClientGetsWhatItAskedForAndASlowOneIsClosedWhileAFastOneKeepsReceiving() throws Exception {
        try (KafkaProducer<byte[], byte[]> p = WindowUpdates.producer()) {
            WindowUpdates.send(p, update("warmup", "x")).get();
            Management.awaitMetric("nd_comparison_cache_following 1.0");
            Client fast = new Client(true);
            Client slow = new Client(false);
            Client other = new Client(true);
            WebSocket fastSocket = open(fast, "nd.v1", "bearer.socket-secret-token-01");
            WebSocket slowSocket = open(slow, "nd.v1", "bearer.socket-secret-token-01");
            WebSocket otherSocket = open(other, "nd.v1", "bearer.socket-secret-token-01");
            fastSocket.sendText("{\"modelId\": \"ws-flood\"}", true).join();
            slowSocket.sendText("{\"modelId\": \"ws-flood\"}", true).join();
            otherSocket.sendText("{\"modelId\": \"ws-other\", \"taps\": [\"dense1\"]}", true).join();
            Management.awaitMetric("nd_comparison_watch_subscribers 3.0");
            // the other client asked for one model's dense1 only
            WindowUpdates.send(p, update("ws-other", "conv1"));
            WindowUpdates.send(p, update("ws-other", "dense1"));
            int total = 6000;
            // 4 KB events: the slow client's socket buffers fill long before 6,000 of them
            WindowUpdates.flood(p, total, i -> update("ws-flood", "t".repeat(4000) + i), 10);
            WindowUpdates.assertReceives(fast.texts, total, "the fast client received every event");
            assertTrue(fast.texts.get(0).contains("\"modelId\":\"ws-flood\""), fast.texts.get(0).substring(0, 80));
            slowSocket.request(Long.MAX_VALUE);
            String closed = slow.closed.get(60, TimeUnit.SECONDS);
            assertTrue(closed.startsWith("1008 dropped"), closed);
            assertTrue(slow.texts.size() < total, "the slow client fell behind: " + slow.texts.size());
            assertEquals(1, other.texts.size(), other.texts.toString());
            assertTrue(other.texts.get(0).contains("\"tap\":\"dense1\""));
            fastSocket.abort();
            otherSocket.abort();
        }
    }
}

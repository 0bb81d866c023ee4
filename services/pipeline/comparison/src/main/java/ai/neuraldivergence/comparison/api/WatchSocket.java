package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.auth.ModelGrants;
import ai.neuraldivergence.comparison.auth.WatchTokenCheck;
import ai.neuraldivergence.comparison.service.WatchFilter;
import ai.neuraldivergence.comparison.service.WatchHub;
import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.quarkus.websockets.next.CloseReason;
import io.quarkus.websockets.next.HandshakeRequest;
import io.quarkus.websockets.next.OnClose;
import io.quarkus.websockets.next.OnTextMessage;
import io.quarkus.websockets.next.WebSocket;
import io.quarkus.websockets.next.WebSocketConnection;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Watch for browsers: the client opens {@code /api/v1/watch} with the subprotocols {@code nd.v1} and, when tokens
 * are required, {@code bearer.<token>} (browsers cannot set headers on a WebSocket; a token in the URL would end up
 * in logs), sends a WatchRequest as JSON, and receives WatchEvents as JSON. A client that falls behind is closed
 * (1008) with a message rather than slowing the others.
 */
@WebSocket(path = "/api/v1/watch")
public class WatchSocket {

    /** Messages handed to the socket but not yet written: more means the client reads slower than events come. */
    static final int MAX_IN_FLIGHT = 64;
    private static final JsonFormat.Parser PARSER = JsonFormat.parser();
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();

    @Inject
    WatchHub hub;

    @Inject
    AccessTokens tokens;

    private final Map<String, SocketWatcher> watchers = new ConcurrentHashMap<>();

    @OnTextMessage
    public void request(String json, WebSocketConnection connection) {
        WatchRequest.Builder request = WatchRequest.newBuilder();
        try {
            PARSER.merge(json, request);
            RequestBounds.check(request.build());
            WatchFilter.validate(request.build());
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            connection.sendTextAndAwait("{\"code\":\"INVALID_ARGUMENT\",\"message\":"
                    + JsonMirrorResource.quote("malformed watch request: " + e.getMessage()) + "}");
            return;
        }
        // the upgrade admitted this token (WatchTokenCheck); its model grants shape what it is sent
        AccessTokens.Caller caller = WatchTokenCheck.caller(tokens,
                connection.handshakeRequest().headers(HandshakeRequest.SEC_WEBSOCKET_PROTOCOL))
                .orElse(null);
        if (caller == null) {
            // the upgrade check admitted none: fail closed rather than watch unconfined
            connection.sendTextAndAwait("{\"code\":\"UNAUTHENTICATED\",\"message\":\"no valid token\"}");
            return;
        }
        try {
            ModelGrants.check(request.build(), caller);
        } catch (io.grpc.StatusRuntimeException e) {
            connection.sendTextAndAwait("{\"code\":\"PERMISSION_DENIED\",\"message\":"
                    + JsonMirrorResource.quote(e.getStatus().getDescription()) + "}");
            return;
        }
        SocketWatcher watcher = new SocketWatcher(request.build(), caller, connection, hub.queueCapacity());
        SocketWatcher previous = watchers.put(connection.id(), watcher);
        if (previous != null) {
            // a new request replaces the previous one
            hub.unsubscribe(previous);
        }
        hub.subscribe(watcher);
    }

    @OnClose
    public void closed(WebSocketConnection connection) {
        SocketWatcher w = watchers.remove(connection.id());
        if (w != null) {
            hub.unsubscribe(w);
        }
    }

    private static final class SocketWatcher extends WatchHub.Subscriber {
        private final WebSocketConnection connection;
        private final AtomicInteger inFlight = new AtomicInteger();

        SocketWatcher(WatchRequest request, AccessTokens.Caller caller, WebSocketConnection connection,
                int capacity) {
            super(request, caller, capacity);
            this.connection = connection;
        }

        // synchronized: events leave in the order they came, whichever thread drains
        @Override
        protected synchronized void drain() {
            while (!closed() && connection.isOpen() && inFlight.get() < MAX_IN_FLIGHT) {
                WatchEvent e = poll();
                if (e == null) {
                    return;
                }
                String json;
                try {
                    json = PRINTER.print(e);
                } catch (InvalidProtocolBufferException ex) {
                    continue;
                }
                inFlight.incrementAndGet();
                connection.sendText(json).subscribe().with(ok -> {
                    inFlight.decrementAndGet();
                    drain();
                }, failure -> inFlight.decrementAndGet());
            }
        }

        @Override
        protected void close(WatchHub.Ending ending, String why) {
            // going away (the replica stops), or policy violation (it fell behind)
            int code = ending == WatchHub.Ending.STOPPING ? 1001 : 1008;
            // a close reason holds at most 123 bytes
            byte[] bytes = why.getBytes(StandardCharsets.UTF_8);
            String reason = bytes.length <= 120 ? why : new String(bytes, 0, 120, StandardCharsets.UTF_8);
            connection.close(new CloseReason(code, reason)).subscribe().with(ok -> { }, failure -> { });
        }
    }
}

package ai.neuraldivergence.endtoend;

import ai.neuraldivergence.testkit.TestInfrastructure;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL goes away mid-stream: the aggregator's readiness turns DOWN, it retries with backoff, and when the
 * database returns it recovers by itself, with exact counts.
 */
class AggregatorOutageTest {

    private static final KnownStream STREAM = new KnownStream("outage.activations");

    @Test
    void aPostgresOutageMidStreamLosesAndDoublesNothing() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path data = Files.createTempDirectory("nd-outage-pg");
        EmbeddedPostgres pg = start(port, data);
        String jdbc = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
        AtomicBoolean producing = new AtomicBoolean(true);
        try (ServiceProcess aggregator = STREAM.startAggregator(jdbc, "outage-group", "aggregator-outage")) {
            aggregator.awaitReady(Duration.ofSeconds(120));
            Thread producer = new Thread(() -> STREAM.produce(TestInfrastructure.shared().kafkaBootstrapServers(),
                    producing), "outage-producer");
            producer.start();
            Thread.sleep(3000);
            pg.close();
            aggregator.awaitReadiness(503);
            Thread.sleep(4000);
            pg = start(port, data);
            aggregator.awaitReadiness(200);
            producer.join(Duration.ofSeconds(120).toMillis());
            try {
                STREAM.awaitAll(jdbc);
            } catch (AssertionError e) {
                // a stuck aggregator says where its threads wait (ConsumerWatchdog); CI keeps no log files and cuts
                // long output in its middle: the warnings and their stacks come first
                throw new AssertionError(e.getMessage() + "\nits stalls and warnings:\n" + aggregator.warnings(30)
                        + "\nits log ends:\n" + aggregator.logTail(40), e);
            }
            STREAM.verifyAgainstWhatWasSent(jdbc);
        } finally {
            pg.close();
        }
    }

    private static EmbeddedPostgres start(int port, Path data) throws Exception {
        return EmbeddedPostgres.builder().setPort(port).setDataDirectory(data).setCleanDataDirectory(false).start();
    }
}

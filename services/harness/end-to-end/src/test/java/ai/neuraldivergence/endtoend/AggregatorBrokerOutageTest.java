package ai.neuraldivergence.endtoend;

import ai.neuraldivergence.launcher.KafkaBroker;
import ai.neuraldivergence.testkit.TestInfrastructure;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

/**
 * The Kafka broker goes away mid-stream and comes back on the same log folder: the aggregator's readiness turns
 * DOWN, it keeps retrying, and when the broker returns it recovers by itself, with exact counts. Runs a broker of
 * its own as a child process (the shared test broker cannot be stopped without stopping every other test).
 */
class AggregatorBrokerOutageTest {

    private static final KnownStream STREAM = new KnownStream("broker-outage.activations");

    @Test
    void aBrokerOutageMidStreamLosesAndDoublesNothing() throws Exception {
        Path dir = Files.createTempDirectory("nd-broker-outage");
        try (KafkaBroker broker = new KafkaBroker(dir.resolve("kafka"), Path.of("target", "e2e-logs",
                "broker-outage"), freePort(), freePort(), "384m")) {
            broker.start();
            createTopics(broker.bootstrapServers());
            String jdbc = TestInfrastructure.shared().newDatabase("broker_outage");
            AtomicBoolean producing = new AtomicBoolean(true);
            try (ServiceProcess aggregator = STREAM.startAggregator(broker.bootstrapServers(), jdbc,
                    "broker-outage-group", "aggregator-broker-outage")) {
                aggregator.awaitReady(Duration.ofSeconds(120));
                // the producer retries through the outage (idempotent, delivery timeout 2 min): what it sent
                // arrives once
                Thread producer = new Thread(() -> STREAM.produce(broker.bootstrapServers(), producing),
                        "broker-outage-producer");
                producer.start();
                Thread.sleep(3000);
                broker.stop();
                aggregator.awaitReadiness(503);
                Thread.sleep(4000);
                broker.start();
                aggregator.awaitReadiness(200);
                producer.join(Duration.ofSeconds(180).toMillis());
                STREAM.awaitAll(jdbc);
                STREAM.verifyAgainstWhatWasSent(jdbc);
            }
        }
    }

    private static void createTopics(String bootstrap) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(STREAM.topic, 4, (short) 1),
                    new NewTopic(STREAM.labelsTopic(), 4, (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}

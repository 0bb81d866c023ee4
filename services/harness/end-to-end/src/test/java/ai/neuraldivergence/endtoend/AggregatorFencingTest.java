package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.testkit.TestInfrastructure;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Two aggregator instances share the work; one is frozen (SIGSTOP) past the Kafka session timeout while the other
 * takes its partitions, then resumed (SIGCONT) holding a stale delta. The stale delta is never committed, whether
 * the resumed instance learns of the loss from Kafka first (partitions lost) or from the database (fenced flush),
 * and every stored distribution holds exactly what was sent.
 */
class AggregatorFencingTest {

    private static final KnownStream STREAM = new KnownStream("fence.activations");

    @Test
    void aFrozenInstanceResumingWithStaleStateCountsNothingTwice() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String db = infra.newDatabase("fence");
        AtomicBoolean producing = new AtomicBoolean(true);
        try (ServiceProcess a = STREAM.startAggregator(db, "fence-group", "aggregator-fence-a");
                ServiceProcess b = STREAM.startAggregator(db, "fence-group", "aggregator-fence-b")) {
            a.awaitReady(Duration.ofSeconds(120));
            b.awaitReady(Duration.ofSeconds(120));
            Thread producer = new Thread(() -> STREAM.produce(infra.kafkaBootstrapServers(), producing),
                    "fence-producer");
            producer.start();
            Thread.sleep(4000);
            a.signal("STOP");
            // past the 6 s session timeout: the group gives a's partitions to b
            Thread.sleep(12_000);
            a.signal("CONT");
            producer.join(Duration.ofSeconds(120).toMillis());
            STREAM.awaitAll(db);
            Thread.sleep(3000);
            double staleDrops = metric(a, "nd_aggregator_flushes_fenced_total")
                    + metric(a, "nd_aggregator_partitions_lost_total");
            assertTrue(staleDrops >= 1, "the resumed instance dropped its stale delta (fenced or lost)");
        }
        STREAM.verifyAgainstWhatWasSent(db);
    }

    private static double metric(ServiceProcess p, String name) throws Exception {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(p.managementUrl()
                + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(body);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }
}

package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.testkit.TestInfrastructure;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Scale out, proven: the six partitions of the activations and the labels topics shared by three aggregator
 * instances; mid-stream one is killed with SIGKILL and another one added, so that partitions move while late
 * labels join and roll-ups run. Every stored minute holds exactly what was sent (counts, sums, non-finite counts),
 * every hour is the merge of its minutes, and the result equals one instance's over the same records.
 */
class ScaleOutTest {

    // a 42 s stream: the added instance's start (15-25 s on a 2-core machine running four aggregators, a producer,
    // Kafka and PostgreSQL) must land mid-stream
    private static final KnownStream STREAM = new KnownStream("scale.activations", 600, 70);
    private static final int PARTITIONS = 6;

    @Test
    void threeInstancesOneKilledOneAddedStoreWhatOneInstanceStores() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        STREAM.createTopics(infra.kafkaBootstrapServers(), PARTITIONS);
        String db = infra.newDatabase("scale");
        // the same records through one instance of its own group, alongside: what the shared run must equal
        String single = infra.newDatabase("scale_single");
        List<ServiceProcess> instances = new ArrayList<>();
        try (ServiceProcess one = STREAM.startAggregator(single, "scale-single", "aggregator-scale-single")) {
            for (int i = 0; i < 3; i++) {
                instances.add(STREAM.startAggregator(db, "scale-group", "aggregator-scale-" + i));
            }
            for (ServiceProcess p : instances) {
                p.awaitReady(Duration.ofSeconds(120));
            }
            AtomicBoolean producing = new AtomicBoolean(true);
            // the last third of the stream waits for the added instance: it joins mid-stream however slowly it starts
            CountDownLatch added = new CountDownLatch(1);
            Thread producer = new Thread(() -> STREAM.produce(infra.kafkaBootstrapServers(), producing,
                    2 * STREAM.batches / 3, added), "scale-producer");
            producer.start();
            long storedAtKill;
            long storedAtAdd;
            try {
                Thread.sleep(4_000);
                storedAtKill = KnownStream.storedObservations(db);
                instances.get(1).kill();
                Thread.sleep(2_000);
                ServiceProcess third = STREAM.startAggregator(db, "scale-group", "aggregator-scale-3");
                instances.add(third);
                third.awaitReady(Duration.ofSeconds(120));
                storedAtAdd = KnownStream.storedObservations(db);
            } finally {
                added.countDown();
            }
            producer.join(Duration.ofSeconds(120).toMillis());
            assertTrue(!producing.get(), "the stream was produced");
            long total = STREAM.observations();
            assertTrue(storedAtKill < total && storedAtAdd < total, "the kill (" + storedAtKill + " stored) and the "
                    + "addition (" + storedAtAdd + ") happened mid-stream, of " + total);
            STREAM.awaitAll(db);
            one.awaitReady(Duration.ofSeconds(120));
            STREAM.awaitAll(single);
        } finally {
            instances.forEach(ServiceProcess::close);
        }
        Map<String, TapDistribution> shared = STREAM.verifyAgainstWhatWasSent(db);
        Map<String, TapDistribution> alone = STREAM.verifyAgainstWhatWasSent(single);
        assertEquals(alone.keySet(), shared.keySet());
        for (String key : shared.keySet()) {
            KnownStream.assertSameAs(alone.get(key), shared.get(key), key);
        }
    }
}

package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.testkit.TestInfrastructure;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Exactly once under crashes: a stream of observations with known content (a quarter of them labelled late, by
 * LabelEvents) is produced while the aggregator process is killed with SIGKILL at random points mid-stream and
 * restarted, five times. At the end every stored
 * distribution holds exactly what was sent (count, sum, min, max and zeros per neuron, per slice and window), every
 * sketch has seen exactly its row's count, and an uninterrupted run over the same records stores the same rows.
 */
class AggregatorCrashTest {

    private static final KnownStream STREAM = new KnownStream("crash.activations");
    /** Five in CI; more with -Dnd.crash.kills=20 (the benchmark mode of the issue). */
    private static final int KILLS = Integer.getInteger("nd.crash.kills", 5);

    @Test
    void killedFiveTimesMidStreamItStoresExactlyWhatWasSent() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String crashDb = infra.newDatabase("crash");
        AtomicBoolean producing = new AtomicBoolean(true);
        Thread producer = new Thread(() -> STREAM.produce(infra.kafkaBootstrapServers(), producing),
                "crash-producer");
        producer.start();

        Random random = new Random(20261128);
        int killedMidStream = 0;
        ServiceProcess aggregator = STREAM.startAggregator(crashDb, "crash-group", "aggregator-crash");
        try {
            aggregator.awaitReady(Duration.ofSeconds(120));
            for (int kill = 0; kill < KILLS; kill++) {
                Thread.sleep(800 + random.nextInt(1500));
                long stored = KnownStream.storedObservations(crashDb);
                aggregator.kill();
                if (stored < STREAM.observations()) {
                    killedMidStream++;
                }
                aggregator = STREAM.startAggregator(crashDb, "crash-group", "aggregator-crash");
                aggregator.awaitReady(Duration.ofSeconds(120));
            }
            producer.join(Duration.ofSeconds(120).toMillis());
            assertTrue(!producing.get(), "the stream was produced");
            STREAM.awaitAll(crashDb);
        } finally {
            aggregator.close();
        }
        assertEquals(KILLS, killedMidStream, "every kill happened before the stream was fully stored");
        Map<String, TapDistribution> crashed = STREAM.verifyAgainstWhatWasSent(crashDb);

        // the same records, aggregated without interruption, give the same rows
        String calmDb = infra.newDatabase("calm");
        try (ServiceProcess calm = STREAM.startAggregator(calmDb, "calm-group", "aggregator-calm")) {
            calm.awaitReady(Duration.ofSeconds(120));
            STREAM.awaitAll(calmDb);
        }
        Map<String, TapDistribution> uninterrupted = STREAM.verifyAgainstWhatWasSent(calmDb);
        assertEquals(uninterrupted.keySet(), crashed.keySet());
        for (String key : crashed.keySet()) {
            KnownStream.assertSameAs(uninterrupted.get(key), crashed.get(key), key);
        }
    }

}

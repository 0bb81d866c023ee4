package ai.neuraldivergence.aggregator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.InfrastructureTestResource;
import ai.neuraldivergence.testkit.TestInfrastructure;
import ai.neuraldivergence.testkit.TopicRecords;
import com.google.protobuf.Timestamp;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * A flush that fails, injected with a real database failure: a constraint one record violates (the data's fault)
 * costs that record alone, dead-lettered with the failure, while every other observation of the same delta is
 * committed exactly once; a stored row that cannot be decoded (the store's fault) dead-letters nothing and is
 * retried until the store is mended.
 */
@QuarkusTest
@WithTestResource(InfrastructureTestResource.class)
class FlushFailureTest {

    private static final Instant MINUTE = Instant.now().truncatedTo(ChronoUnit.MINUTES).minus(Duration.ofMinutes(2));

    @Inject
    AgroalDataSource dataSource;

    private static ActivationBatch batch(String model, String idPrefix, int observations) {
        ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId(model).setModelVersion("1")
                .setTap("dense").setTapIndex(0).addTapShape(2).setNeuronCount(2).setReduction(Reduction.REDUCTION_NONE);
        for (int i = 0; i < observations; i++) {
            // unlabelled: each is kept in the recent-observation store, where the injected constraint applies
            b.addObservations(Observation.newBuilder().setInstanceId(idPrefix + i).setPredictedClass(1)
                    .setEventTime(Timestamp.newBuilder().setSeconds(MINUTE.getEpochSecond() + i)));
            b.addActivations(i).addActivations(1f);
        }
        return b.build();
    }

    private static void send(String model, ActivationBatch... batches) {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of(
                "bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers(),
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName(), "linger.ms", 50))) {
            for (ActivationBatch b : batches) {
                // one key: one partition, consecutive offsets, one delta
                p.send(new ProducerRecord<>("nd.activations", null, MINUTE.plusSeconds(70).toEpochMilli(),
                        model.getBytes(StandardCharsets.UTF_8), b.toByteArray()));
            }
        }
    }

    @Test
    void aRecordTheDatabaseRefusesIsDeadLetteredAloneAndEverythingElseCommitted() throws Exception {
        String model = "flushfail-" + UUID.randomUUID();
        String poison = "poison-" + UUID.randomUUID();
        execute("ALTER TABLE recent_observation ADD CONSTRAINT flush_failure_test CHECK (instance_id <> '"
                + poison + "0')");
        try {
            send(model, batch(model, "a-", 3), batch(model, "b-", 4), batch(model, poison, 1),
                    batch(model, "c-", 5), batch(model, "d-", 2));
            List<ConsumerRecord<byte[], byte[]>> letters = TopicRecords.await("nd.activations.dlq",
                    r -> r.key() != null && new String(r.key(), StandardCharsets.UTF_8).equals(model), 1);
            String reason = new String(letters.get(0).headers().lastHeader("nd-error").value(),
                    StandardCharsets.UTF_8);
            // the relation named is the partition the row was routed to
            assertTrue(reason.matches("(?s)flush failed: PSQLException: ERROR: new row for relation "
                    + "\"recent_observation_[0-9_]+\" violates check constraint \"flush_failure_test\".*"), reason);
            assertTrue(reason.length() <= "flush failed: PSQLException: ".length() + 256, reason);
            ActivationBatch dead = ActivationBatch.parseFrom(letters.get(0).value());
            assertEquals(poison + "0", dead.getObservations(0).getInstanceId(), "the failing record, alone");
            // the other four records' 14 observations, exactly once
            TapWindowStore store = new TapWindowStore(dataSource);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long stored = 0;
            while (System.nanoTime() < deadline && stored < 14) {
                stored = count(store, model);
                Thread.sleep(200);
            }
            Thread.sleep(1500); // a double count would show in the next flushes
            assertEquals(14, count(store, model));
            assertEquals(1, TopicRecords.await("nd.activations.dlq", r -> r.key() != null
                    && new String(r.key(), StandardCharsets.UTF_8).equals(model), 1).size(), "one dead letter");
            Management.given().get("/q/metrics").then().statusCode(200).body(org.hamcrest.Matchers.containsString(
                    "nd_aggregator_dead_letters_total{reason=\"flush-failure\"}"));
        } finally {
            execute("ALTER TABLE recent_observation DROP CONSTRAINT flush_failure_test");
        }
    }

    @Inject
    ai.neuraldivergence.aggregator.ingest.CompactionJob compaction;

    @Test
    void aStoredDeltaThatCannotBeDecodedIsTheStoresFaultAndStopsNothingElse() throws Exception {
        String model = "storefail-" + UUID.randomUUID();
        String healthy = "healthy-" + UUID.randomUUID();
        TapWindowStore store = new TapWindowStore(dataSource);
        // the first batch of each is folded when its minute completes (the watermark is now); what comes after waits
        // for the minute's finality (3 h in the tests) as unfolded deltas
        send(model, batch(model, "x-", 2));
        send(healthy, batch(healthy, "h-", 2));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && (minuteRows(model) == 0 || minuteRows(healthy) == 0)) {
            Thread.sleep(200);
        }
        send(model, batch(model, "y-", 3));
        send(healthy, batch(healthy, "g-", 3));
        deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && (stored(model) < 5 || stored(healthy) < 5)) {
            Thread.sleep(200);
        }
        // the model's unfolded deltas are corrupted; a flush never reads them, so the next batch is written
        long corrupted = longOf("WITH u AS (UPDATE window_delta SET activations = '\\x00010203'::bytea WHERE "
                + "model_id = '" + model + "' AND NOT folded RETURNING 1) SELECT count(*) FROM u");
        assertTrue(corrupted > 0, "the later batch waits unfolded");
        send(model, batch(model, "z-", 1));
        deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && stored(model) < 6) {
            Thread.sleep(200);
        }
        assertEquals(6, stored(model), "the flush is not the corrupted deltas' victim");
        // event time past finality: folding them fails, is counted, and stops nothing else
        double before = counter("nd_aggregator_compaction_failures_total");
        compaction.runAt(java.time.Instant.now(), MINUTE.plus(Duration.ofDays(2)));
        assertTrue(counter("nd_aggregator_compaction_failures_total") > before, "counted as the store's failure");
        assertEquals(0, unfolded(healthy), "the healthy model's late deltas are folded");
        assertEquals(5, count(store, healthy));
        assertTrue(unfolded(model) > corrupted, "the corrupted deltas (and the later ones of their minute) stay "
                + "unfolded, where an operator finds them");
        // mended (the corrupted deltas removed by hand): the rest is folded at the next pass
        execute("DELETE FROM window_delta WHERE model_id = '" + model + "' AND octet_length(activations) = 4");
        compaction.runAt(java.time.Instant.now(), MINUTE.plus(Duration.ofDays(2)));
        assertEquals(0, unfolded(model));
        assertEquals(2 + 1, count(store, model));
        assertEquals(0, TopicRecords.await("nd.activations.dlq", r -> r.key() != null
                && new String(r.key(), StandardCharsets.UTF_8).equals(model), 0).size(), "nothing dead-lettered");
    }

    private long minuteRows(String model) throws Exception {
        return longOf("SELECT count(*) FROM tap_window WHERE model_id = '" + model + "' AND granularity = 'minute'");
    }

    /** Observations stored for a model's minutes (rows and unfolded deltas), by their counts alone. */
    private long stored(String model) throws Exception {
        return longOf("SELECT coalesce(sum(n), 0) FROM (SELECT observation_count AS n FROM tap_window WHERE model_id = "
                + "'" + model + "' AND granularity = 'minute' AND slice = 'all' UNION ALL SELECT slice_counts["
                + "array_position(slices, 'all')] FROM window_delta WHERE model_id = '" + model + "' AND 'all' = "
                + "ANY(slices) AND NOT folded) x");
    }

    private long unfolded(String model) throws Exception {
        return longOf("SELECT count(*) FROM window_delta WHERE model_id = '" + model + "' AND NOT folded");
    }

    private long longOf(String sql) throws Exception {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement();
                java.sql.ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void aRecordTheDeadLetterTopicRefusesIsCountedAndSkipped() throws Exception {
        String model = "undeliverable-" + UUID.randomUUID();
        org.apache.kafka.common.config.ConfigResource dlq = new org.apache.kafka.common.config.ConfigResource(
                org.apache.kafka.common.config.ConfigResource.Type.TOPIC, "nd.activations.dlq");
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
                "bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers()))) {
            // the dead-letter topic exists (other tests dead-letter) and takes 2 KB records for a while
            TopicRecords.await("nd.activations.dlq", r -> true, 0);
            alter(admin, dlq, "2048");
            try {
                double before = undeliverable();
                byte[] garbage = new byte[20_000];
                java.util.Arrays.fill(garbage, (byte) 0xff);
                try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of(
                        "bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers(),
                        "key.serializer", ByteArraySerializer.class.getName(),
                        "value.serializer", ByteArraySerializer.class.getName()))) {
                    p.send(new ProducerRecord<>("nd.activations", null, MINUTE.plusSeconds(70).toEpochMilli(),
                            model.getBytes(StandardCharsets.UTF_8), garbage));
                }
                send(model, batch(model, "after-", 4));
                TapWindowStore store = new TapWindowStore(dataSource);
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (System.nanoTime() < deadline && count(store, model) < 4) {
                    Thread.sleep(200);
                }
                assertEquals(4, count(store, model), "what follows the refused record is aggregated");
                assertEquals(1.0, undeliverable() - before, 0.0, "counted once");
            } finally {
                alter(admin, dlq, "1114124");
            }
        }
    }

    private static void alter(org.apache.kafka.clients.admin.Admin admin,
            org.apache.kafka.common.config.ConfigResource topic, String maxMessageBytes) throws Exception {
        admin.incrementalAlterConfigs(Map.of(topic, List.of(new org.apache.kafka.clients.admin.AlterConfigOp(
                new org.apache.kafka.clients.admin.ConfigEntry("max.message.bytes", maxMessageBytes),
                org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET)))).all().get(30,
                        java.util.concurrent.TimeUnit.SECONDS);
    }

    private static double undeliverable() {
        return counter("nd_aggregator_dead_letters_total{reason=\"undeliverable\"}");
    }

    /** A counter's value from /q/metrics, 0 before it first moved. */
    private static double counter(String series) {
        String metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String line : metrics.split("\n")) {
            if (line.startsWith(series)) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }

    private static long count(TapWindowStore store, String model) {
        return store.read(model, "1", "dense", Slice.ALL, Granularity.MINUTE, MINUTE, MINUTE.plusSeconds(120))
                .stream().mapToLong(w -> w.distribution().observationCount()).sum();
    }

    private void execute(String sql) throws Exception {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}

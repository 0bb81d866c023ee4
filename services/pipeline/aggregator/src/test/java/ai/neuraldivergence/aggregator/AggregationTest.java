package ai.neuraldivergence.aggregator;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.InfrastructureTestResource;
import ai.neuraldivergence.testkit.TestInfrastructure;
import com.google.protobuf.Timestamp;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** The aggregator against real Kafka and PostgreSQL: batches in, distributions and offsets out, bad input kept. */
@QuarkusTest
@WithTestResource(InfrastructureTestResource.class)
class AggregationTest {

    /** A quarter past the previous hour: recent enough for retention, in a known hour and day. */
    private static final Instant MINUTE = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.HOURS)
            .minus(Duration.ofMinutes(45));

    @Inject
    AgroalDataSource dataSource;

    private static KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of("bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers(),
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName()));
    }

    /** Written half a minute after the test's window, as a capture would be. */
    private static ProducerRecord<byte[], byte[]> record(String model, byte[] value) {
        return new ProducerRecord<>("nd.activations", null, MINUTE.plusSeconds(90).toEpochMilli(), model.getBytes(),
                value);
    }

    private static ActivationBatch batch(String model, float... neuronZeroValues) {
        ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId(model).setModelVersion("1")
                .setTap("dense1").setTapIndex(2).addTapShape(2).setNeuronCount(2)
                .setReduction(Reduction.REDUCTION_NONE);
        for (int i = 0; i < neuronZeroValues.length; i++) {
            b.addObservations(Observation.newBuilder().setInstanceId("i-" + i).setPredictedClass(i % 2)
                    .setEventTime(Timestamp.newBuilder().setSeconds(MINUTE.getEpochSecond() + i)));
            b.addActivations(neuronZeroValues[i]).addActivations(-neuronZeroValues[i]);
        }
        return b.build();
    }

    @Test
    void batchesBecomeStoredDistributionsWithExactCounts() throws Exception {
        String model = "agg-" + UUID.randomUUID();
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, batch(model, 1, 2, 3).toByteArray()));
            p.send(record(model, batch(model, 4, 0).toByteArray()));
        }
        TapWindowStore store = new TapWindowStore(dataSource);
        TapDistribution all = awaitWindow(store, model, Slice.ALL, d -> d.observationCount() == 5);
        assertEquals(5, all.neuron(0).count());
        assertEquals(10.0, all.neuron(0).sum());
        assertEquals(1, all.neuron(0).zeroCount());
        assertEquals(4f, all.neuron(0).max());
        assertEquals(-4f, all.neuron(1).min());
        assertEquals(2.0, all.neuron(0).quantile(0.5));
        // predicted class alternates 0,1,0 then 0,1
        TapDistribution class0 = awaitWindow(store, model, Slice.predictedClass(0), d -> d.observationCount() == 3);
        assertEquals(1.0 + 3 + 4, class0.neuron(0).sum());
        // each neuron's exemplars: the observations that excite it most, highest first (ids repeat across batches)
        ai.neuraldivergence.domain.TopExemplars exemplars = new ai.neuraldivergence.storage.ExemplarStore(dataSource)
                .read(model, "1", "dense1", MINUTE).orElseThrow();
        assertEquals(java.util.List.of(4f, 3f, 2f, 1f, 0f), toList(exemplars.activations(0)));
        assertEquals(java.util.List.of("i-0", "i-2", "i-1", "i-0", "i-1"),
                java.util.Arrays.asList(exemplars.ids(0)));
        assertEquals(java.util.List.of(-0f, -1f, -2f, -3f, -4f), toList(exemplars.activations(1)));
    }

    private static List<Float> toList(float[] values) {
        List<Float> out = new ArrayList<>();
        for (float v : values) {
            out.add(v);
        }
        return out;
    }

    @Test
    void malformedRecordsGoToTheDeadLetterTopicAndTheOffsetMovesOn() throws Exception {
        String model = "dlq-" + UUID.randomUUID();
        ActivationBatch wrongLength = batch(model, 1).toBuilder().addActivations(9f).build();
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, "not protobuf".getBytes()));
            p.send(record(model, wrongLength.toByteArray()));
            p.send(record(model, batch(model, 7).toByteArray()));
        }
        List<ConsumerRecord<byte[], byte[]>> letters = consume("nd.activations.dlq",
                r -> new String(r.key(), StandardCharsets.UTF_8).equals(model), 2);
        List<String> reasons = letters.stream()
                .map(r -> new String(r.headers().lastHeader("nd-error").value(), StandardCharsets.UTF_8)).toList();
        assertTrue(reasons.get(0).startsWith("undecodable ActivationBatch"), reasons.get(0));
        assertEquals("activations must hold observations x neurons = 1 x 1..2 floats (the neurons from neuron_offset 0 of 2), got 3", reasons.get(1));
        assertEquals("not protobuf", new String(letters.get(0).value(), StandardCharsets.UTF_8));

        // the valid batch behind them is aggregated, and the offsets are committed past all three
        awaitWindow(new TapWindowStore(dataSource), model, Slice.ALL, d -> d.observationCount() == 1);
        long committed = committedOffsets();
        long end = endOffsets();
        assertEquals(end, committed, "stored next offsets reach the end of the topic");
        Management.given().get("/q/metrics").then().statusCode(200)
                .body(containsString("nd_aggregator_dead_letters_total{reason=\"undecodable\"}"))
                .body(containsString("nd_aggregator_dead_letters_total{reason=\"invalid\"}"));
    }

    @Test
    void committedWindowsAreAnnounced() throws Exception {
        String model = "upd-" + UUID.randomUUID();
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, batch(model, 1, 2).toByteArray()));
        }
        List<ConsumerRecord<byte[], byte[]>> updates = consume("nd.window-updates",
                r -> new String(r.key(), StandardCharsets.UTF_8).equals(model), 1);
        List<WindowUpdate> all = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : updates) {
            WindowUpdate u = WindowUpdate.parseFrom(r.value());
            if (u.getSlice().getAll()) {
                all.add(u);
            }
        }
        WindowUpdate u = all.get(0);
        assertEquals("dense1", u.getTap());
        assertEquals(2, u.getTapIndex());
        assertEquals(2, u.getObservationCount());
        assertEquals(MINUTE.getEpochSecond(), u.getWindow().getStart().getSeconds());
    }

    @Test
    void referenceTaggedObservationsBuildTheReferenceNotALiveWindow() throws Exception {
        String model = "ref-" + UUID.randomUUID();
        ActivationBatch.Builder b = batch(model, 2, 4).toBuilder();
        for (int i = 0; i < b.getObservationsCount(); i++) {
            b.setObservations(i, b.getObservations(i).toBuilder().putTags("reference", "training"));
        }
        // the next model version replays its own "training" reference under the same name
        ActivationBatch.Builder v2 = b.build().toBuilder().setModelVersion("2");
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, b.build().toByteArray()));
            p.send(record(model, v2.build().toByteArray()));
            p.send(record(model, batch(model, 9).toByteArray()));
        }
        // the live batch behind it is committed in the same or a later flush
        awaitWindow(new TapWindowStore(dataSource), model, Slice.ALL, d -> d.observationCount() == 1);
        ai.neuraldivergence.storage.ReferenceStore references = new ai.neuraldivergence.storage.ReferenceStore(
                dataSource);
        TapDistribution reference = references.read(model, "1", "training", "dense1", Slice.ALL).orElseThrow();
        assertEquals(2, reference.observationCount());
        assertEquals(6.0, reference.neuron(0).sum());
        assertEquals(2, references.read(model, "2", "training", "dense1", Slice.ALL).orElseThrow()
                .observationCount(), "each model version has its own reference");
        assertEquals(9.0, new TapWindowStore(dataSource).read(model, "1", "dense1", Slice.ALL, Granularity.MINUTE,
                MINUTE, MINUTE.plusSeconds(60)).get(0).distribution().neuron(0).sum(), "no reference value is live");
    }

    @Inject
    ai.neuraldivergence.aggregator.ingest.CompactionJob compaction;

    @Test
    void hoursAndDaysRollUpTheirMinutesExactly() throws Exception {
        String model = "roll-" + UUID.randomUUID();
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, batch(model, 1, 2, 3).toByteArray()));
            // the next minute of the same hour
            ActivationBatch.Builder next = batch(model, 10, 0.5f).toBuilder();
            for (int i = 0; i < next.getObservationsCount(); i++) {
                next.setObservations(i, next.getObservations(i).toBuilder().setEventTime(
                        Timestamp.newBuilder().setSeconds(MINUTE.getEpochSecond() + 60 + i)));
            }
            p.send(record(model, next.build().toByteArray()));
        }
        TapWindowStore store = new TapWindowStore(dataSource);
        Instant hour = MINUTE.truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (store.read(model, "1", "dense1", Slice.ALL, Granularity.MINUTE, hour, hour.plusSeconds(3600)).stream()
                .mapToLong(w -> w.distribution().observationCount()).sum() < 5) {
            assertTrue(System.nanoTime() < deadline, "the minutes were not stored");
            Thread.sleep(100);
        }
        // event time moved past the next day's finality (real time would take a day): the job folds the minutes and
        // builds their hour and day, once
        Instant later = MINUTE.plus(Duration.ofDays(2));
        compaction.runAt(Instant.now(), later);
        List<TapWindowStore.StoredWindow> hours = store.read(model, "1", "dense1", Slice.ALL, Granularity.HOUR, hour,
                hour.plusSeconds(3600));
        assertEquals(1, hours.size(), "the hour is built");
        List<TapWindowStore.StoredWindow> minutes = store.read(model, "1", "dense1", Slice.ALL, Granularity.MINUTE,
                hour, hour.plusSeconds(3600));
        assertEquals(2, minutes.size());
        TapDistribution merged = new TapDistribution(2, 200);
        minutes.forEach(m -> merged.merge(m.distribution()));
        TapDistribution h = hours.get(0).distribution();
        Instant day = MINUTE.truncatedTo(java.time.temporal.ChronoUnit.DAYS);
        TapDistribution d = store.read(model, "1", "dense1", Slice.ALL, Granularity.DAY, day,
                day.plus(Duration.ofDays(1))).get(0).distribution();
        for (TapDistribution rollup : List.of(h, d)) {
            assertEquals(merged.observationCount(), rollup.observationCount());
            for (int n = 0; n < 2; n++) {
                assertEquals(merged.neuron(n).count(), rollup.neuron(n).count());
                assertEquals(merged.neuron(n).sum(), rollup.neuron(n).sum());
                assertEquals(merged.neuron(n).min(), rollup.neuron(n).min());
                assertEquals(merged.neuron(n).max(), rollup.neuron(n).max());
                assertEquals(merged.neuron(n).quantile(0.5), rollup.neuron(n).quantile(0.5),
                        "exact below k values");
            }
        }
        assertEquals(16.5, h.neuron(0).sum());
        // the roll-up announces the hour it changed
        List<ConsumerRecord<byte[], byte[]>> updates = consume("nd.window-updates",
                r -> new String(r.key(), StandardCharsets.UTF_8).equals(model) && hourUpdate(r), 1);
        WindowUpdate hourUpdate = WindowUpdate.parseFrom(updates.get(0).value());
        assertEquals(hour.getEpochSecond(), hourUpdate.getWindow().getStart().getSeconds());
    }

    private static boolean hourUpdate(ConsumerRecord<byte[], byte[]> r) {
        try {
            return WindowUpdate.parseFrom(r.value()).getWindow().getGranularity()
                    == ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_HOUR;
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            return false;
        }
    }

    @Test
    void fuzzedTruncatedAndInconsistentRecordsAreAllDeadLetteredAndConsumptionContinues() throws Exception {
        String model = "fuzz-" + UUID.randomUUID();
        java.util.Random random = new java.util.Random(7);
        byte[] valid = batch(model, 1, 2, 3).toByteArray();
        List<byte[]> bad = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            byte[] noise = new byte[1 + random.nextInt(200)];
            random.nextBytes(noise);
            bad.add(noise);
        }
        for (int cut = 1; cut < valid.length; cut += Math.max(1, valid.length / 15)) {
            bad.add(java.util.Arrays.copyOf(valid, cut));
        }
        bad.add(batch(model, 1, 2).toBuilder().setNeuronCount(3).clearTapShape().addTapShape(3).build()
                .toByteArray());
        bad.add(batch(model, 1, 2).toBuilder().addActivations(1f).build().toByteArray());
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            for (byte[] b : bad) {
                p.send(record(model, b));
            }
            p.send(record(model, batch(model, 5).toByteArray()));
        }
        List<ConsumerRecord<byte[], byte[]>> letters = consume("nd.activations.dlq",
                r -> new String(r.key(), StandardCharsets.UTF_8).equals(model), bad.size());
        assertEquals(bad.size(), letters.size(), "every bad record is kept, once");
        for (ConsumerRecord<byte[], byte[]> letter : letters) {
            assertTrue(letter.headers().lastHeader("nd-error").value().length > 0);
        }
        // the valid batch behind them is aggregated, alone
        TapDistribution all = awaitWindow(new TapWindowStore(dataSource), model, Slice.ALL,
                d -> d.observationCount() == 1);
        assertEquals(5.0, all.neuron(0).sum());
    }

    @Test
    void aTagWithTooManyValuesStopsMakingSlicesAndIsCounted() throws Exception {
        String model = "card-" + UUID.randomUUID();
        ActivationBatch.Builder b = batch(model, new float[70]).toBuilder();
        for (int i = 0; i < 70; i++) {
            b.setObservations(i, b.getObservations(i).toBuilder().putTags("dataset", "d" + i)
                    .setEventTime(Timestamp.newBuilder().setSeconds(MINUTE.getEpochSecond())));
        }
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, b.build().toByteArray()));
        }
        awaitWindow(new TapWindowStore(dataSource), model, Slice.ALL, d -> d.observationCount() == 70);
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM (SELECT slice FROM tap_window WHERE "
                        + "model_id = ? AND slice LIKE 'tag:dataset=%' UNION SELECT s FROM window_delta, "
                        + "unnest(slices) s WHERE model_id = ? AND s LIKE 'tag:dataset=%') x")) {
            ps.setString(1, model);
            ps.setString(2, model);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertEquals(64, rs.getInt(1), "nd.aggregator.max-values-per-tag bounds the slices");
            }
        }
        Management.given().get("/q/metrics").then().body(containsString("nd_aggregator_tag_values_refused_total 6.0"));
        // the admitted values are stored, so that the bound holds across restarts and instances
        assertEquals(64, new ai.neuraldivergence.storage.CatalogStore(dataSource).admittedTagValues(model)
                .get("dataset").size());
        // another model has a bound of its own
        String other = "card-" + UUID.randomUUID();
        ActivationBatch.Builder o = b.clone().setModelId(other);
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(other, o.build().toByteArray()));
        }
        awaitWindow(new TapWindowStore(dataSource), other, Slice.ALL, d -> d.observationCount() == 70);
        assertEquals(64, new ai.neuraldivergence.storage.CatalogStore(dataSource).admittedTagValues(other)
                .get("dataset").size());
    }

    @Inject
    ai.neuraldivergence.aggregator.ingest.RecentEvictionJob eviction;

    @Test
    void everyLiveObservationIsKeptWithItsCapturedInputUntilEvictedAndEvictionsAreCounted() throws Exception {
        String model = "recent-" + UUID.randomUUID();
        ActivationBatch.Builder b = batch(model, 3, 5).toBuilder();
        b.setObservations(0, b.getObservations(0).toBuilder().putTags("source", "canary").setConfidence(0.9f)
                .setPairId("p-1").setPairRole(ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_ATTACKED)
                .setTrueLabel(4));
        java.awt.image.BufferedImage digit = new java.awt.image.BufferedImage(28, 28,
                java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        digit.getRaster().setSample(14, 14, 0, 255);
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(digit, "png", png);
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, b.build().toByteArray()));
            p.send(input(model, "i-0", png.toByteArray()));
            p.send(input(model, "i-1", "not an image".getBytes(StandardCharsets.UTF_8)));
        }
        var store = new ai.neuraldivergence.storage.RecentObservationStore(dataSource);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while ((store.find(model, "i-0").isEmpty() || store.input(model, "i-0").isEmpty())
                && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        var kept = store.find(model, "i-0");
        assertEquals(1, kept.size());
        assertEquals(3f, kept.get(0).activations()[0]);
        assertEquals(-3f, kept.get(0).activations()[1]);
        assertEquals(Map.of("source", "canary"), kept.get(0).tags());
        assertEquals(0.9f, kept.get(0).confidence());
        assertEquals(4, kept.get(0).trueLabel());
        assertEquals("p-1", kept.get(0).pairId());
        assertEquals(java.util.Arrays.toString(png.toByteArray()),
                java.util.Arrays.toString(store.input(model, "i-0").orElseThrow().png()));
        assertEquals(1, store.find(model, "i-1").size(), "unlabelled observations are kept too");
        // the input that is not an image is dead-lettered, with the reason
        List<ConsumerRecord<byte[], byte[]>> letters = consume("nd.activations.dlq",
                r -> new String(r.key(), StandardCharsets.UTF_8).equals(model), 1);
        assertEquals("the input is not a PNG image",
                new String(letters.get(0).headers().lastHeader("nd-error").value(), StandardCharsets.UTF_8));

        // two hours on, the TTL (1 h) has passed for all of it
        var evicted = eviction.enforce(Instant.now().plus(Duration.ofHours(2)));
        assertTrue(evicted.observationsExpired() >= 2 && evicted.inputsExpired() >= 1, evicted.toString());
        assertTrue(store.find(model, "i-0").isEmpty());
        Management.given().get("/q/metrics").then()
                .body(containsString("nd_aggregator_recent_evicted_total{reason=\"ttl\",store=\"observations\"}"))
                .body(containsString("nd_aggregator_recent_rows{store=\"inputs\"}"));
    }

    private static ProducerRecord<byte[], byte[]> input(String model, String instance, byte[] png) {
        return new ProducerRecord<>("nd.inputs", null, MINUTE.plusSeconds(90).toEpochMilli(), model.getBytes(),
                ai.neuraldivergence.proto.v1.CapturedInput.newBuilder().setModelId(model).setModelVersion("1")
                        .setInstanceId(instance).setEventTime(Timestamp.newBuilder()
                                .setSeconds(MINUTE.getEpochSecond()))
                        .setPng(com.google.protobuf.ByteString.copyFrom(png)).build().toByteArray());
    }

    @Test
    void theMetricsCoverThePipeline() throws Exception {
        String model = "met-" + UUID.randomUUID();
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, batch(model, 1, 2).toByteArray()));
        }
        awaitWindow(new TapWindowStore(dataSource), model, Slice.ALL, d -> d.observationCount() == 2);
        String metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String name : List.of("nd_aggregator_records_total", "nd_aggregator_observations_total",
                "nd_aggregator_sketch_updates_total", "nd_aggregator_rows_written_total",
                "nd_aggregator_bytes_written_total", "nd_aggregator_consumer_lag", "nd_aggregator_flush_seconds_count",
                "nd_aggregator_flushes_fenced_total", "nd_aggregator_observations_late_total")) {
            assertTrue(metrics.contains(name), name + " missing");
        }
        java.util.regex.Matcher rows = java.util.regex.Pattern.compile("nd_aggregator_rows_written_total ([0-9.]+)")
                .matcher(metrics);
        assertTrue(rows.find() && Double.parseDouble(rows.group(1)) >= 1, "a delta row per tap minute");
        // each partition's watermark age, once a compaction pass (every second here) has read it
        String partitionAge = "nd_aggregator_partition_watermark_age_seconds{partition=\"0\","
                + "topic=\"nd.activations\"}";
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!metrics.contains(partitionAge) && System.nanoTime() < deadline) {
            Thread.sleep(200);
            metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        }
        assertTrue(metrics.contains(partitionAge), "the watermark age of each partition");
        // every table partitioned by time has partitions made ahead of the clock, and none held past retention (set
        // in the same pass as the watermark ages, just after them)
        deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (partitionsAhead(metrics) < ai.neuraldivergence.storage.PartitionLayout.TABLES.size()
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
            metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        }
        assertEquals(ai.neuraldivergence.storage.PartitionLayout.TABLES.size(), partitionsAhead(metrics),
                "every table has partitions ahead");
        for (String table : ai.neuraldivergence.storage.PartitionLayout.TABLES) {
            assertTrue(metrics.contains("nd_aggregator_partitions_held{table=\"" + table + "\"}"), table + " held");
        }
    }

    /** How many tables partitioned by time have at least one partition made ahead, by the metrics. */
    private static long partitionsAhead(String metrics) {
        return ai.neuraldivergence.storage.PartitionLayout.TABLES.stream().filter(table -> {
            java.util.regex.Matcher ahead = java.util.regex.Pattern.compile("nd_aggregator_partitions_ahead\\{table=\""
                    + table + "\"} ([0-9.]+)").matcher(metrics);
            return ahead.find() && Double.parseDouble(ahead.group(1)) >= 1;
        }).count();
    }

    @Test
    void lateLabelsAddTheirObservationsToTheTrueLabelSliceOnceWhicheverArrivesFirst() throws Exception {
        String model = "label-" + UUID.randomUUID();
        ActivationBatch unlabelled = batch(model, 4, 8);
        ActivationBatch secondTap = unlabelled.toBuilder().setTap("dense2").setTapIndex(3).build();
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, unlabelled.toByteArray()));
            p.send(label(model, "i-0", 7));
            // a second label for the same instance loses: the first wins
            p.send(label(model, "i-0", 3));
            // the label of i-1 arrives before its second tap
            p.send(label(model, "i-1", 5));
            p.send(record(model, secondTap.toByteArray()));
        }
        TapWindowStore store = new TapWindowStore(dataSource);
        TapDistribution seven = awaitWindow(store, model, Slice.trueLabel(7), d -> d.observationCount() == 1);
        assertEquals(4.0, seven.neuron(0).sum(), "i-0's activations");
        TapDistribution five = awaitWindow(store, model, Slice.trueLabel(5), d -> d.observationCount() == 1);
        assertEquals(8.0, five.neuron(0).sum(), "i-1's activations");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<TapWindowStore.StoredWindow> dense2 = List.of();
        while (dense2.isEmpty() && System.nanoTime() < deadline) {
            dense2 = store.read(model, "1", "dense2", Slice.trueLabel(5), Granularity.MINUTE, MINUTE,
                    MINUTE.plusSeconds(60));
            Thread.sleep(100);
        }
        assertEquals(1, dense2.get(0).distribution().observationCount(), "the tap that came after its label");
        Thread.sleep(1000);
        assertTrue(store.read(model, "1", "dense1", Slice.trueLabel(3), Granularity.MINUTE, MINUTE,
                MINUTE.plusSeconds(60)).isEmpty(), "the second label of i-0 was ignored");
        assertEquals(1, store.read(model, "1", "dense1", Slice.trueLabel(7), Granularity.MINUTE, MINUTE,
                MINUTE.plusSeconds(60)).get(0).distribution().observationCount(), "joined once");
        // the hour's calibration sample holds every observation here: each member in its label's slice as well,
        // whichever came first, so that a label slice's null is resampled from its members
        Map<String, List<String>> sampled = sampledSlices(model);
        assertTrue(sampled.get("dense1/i-0").containsAll(List.of(Slice.ALL.key(), Slice.predictedClass(0).key(),
                Slice.trueLabel(7).key())), sampled.toString());
        assertTrue(!sampled.get("dense1/i-0").contains(Slice.trueLabel(3).key()), sampled.toString());
        assertTrue(sampled.get("dense2/i-1").contains(Slice.trueLabel(5).key()), sampled.toString());
        assertTrue(sampled.get("dense1/i-1").contains(Slice.trueLabel(5).key()), sampled.toString());
    }

    /**
     * Classes past those sliced (0..999) make no slice: an observation's predicted class or true label, and a late
     * label's join. The observations are aggregated in their other slices, the late label is kept with its
     * observation, and each refusal is counted.
     */
    @Test
    void classesPastTheSlicedOnesMakeNoSliceAndAreCounted() throws Exception {
        String model = "classes-" + UUID.randomUUID();
        ActivationBatch.Builder b = batch(model, 1, 2, 3).toBuilder();
        b.setObservations(0, b.getObservations(0).toBuilder().setPredictedClass(5000));
        b.setObservations(1, b.getObservations(1).toBuilder().setTrueLabel(2000));
        double before = classesRefused();
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, b.build().toByteArray()));
            p.send(label(model, "i-2", 1500));
        }
        TapWindowStore store = new TapWindowStore(dataSource);
        awaitWindow(store, model, Slice.ALL, d -> d.observationCount() == 3);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (classesRefused() < before + 3 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(before + 3, classesRefused(), "class 5000, label 2000, and the late label 1500's join");
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT (SELECT count(*) FROM tap_window WHERE model_id = ? "
                        + "AND slice = ANY(?)) + (SELECT count(*) FROM window_delta, unnest(slices) s WHERE model_id = ? "
                        + "AND s = ANY(?)), (SELECT max(true_label) FROM recent_observation WHERE model_id = ? AND "
                        + "instance_id = 'i-2')")) {
            java.sql.Array past = c.createArrayOf("text", new String[] {Slice.predictedClass(5000).key(),
                Slice.trueLabel(2000).key(), Slice.trueLabel(1500).key()});
            ps.setString(1, model);
            ps.setArray(2, past);
            ps.setString(3, model);
            ps.setArray(4, past);
            ps.setString(5, model);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertEquals(0, rs.getLong(1), "no slice of a class past 999");
                assertEquals(1500, rs.getInt(2), "the late label is kept with its observation");
            }
        }
    }

    private static double classesRefused() {
        String metrics = Management.given().get("/q/metrics").then().extract().asString();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "(?m)^nd_aggregator_classes_refused_total ([0-9.E]+)").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /** Per "tap/instance", the slices its calibration-sample member is in. */
    private Map<String, List<String>> sampledSlices(String model) throws Exception {
        Map<String, List<String>> out = new java.util.TreeMap<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT tap, instance_id, slices FROM calibration_sample "
                        + "WHERE model_id = ? AND reference = ''")) {
            ps.setString(1, model);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1) + "/" + rs.getString(2), List.of((String[]) rs.getArray(3).getArray()));
                }
            }
        }
        return out;
    }

    private static ProducerRecord<byte[], byte[]> label(String model, String instance, int label) {
        return new ProducerRecord<>("nd.labels", null, MINUTE.plusSeconds(120).toEpochMilli(), instance.getBytes(),
                ai.neuraldivergence.proto.v1.LabelEvent.newBuilder().setModelId(model).setInstanceId(instance)
                        .setTrueLabel(label).build().toByteArray());
    }

    @Test
    void readyReflectsKafkaPostgresAndTheConsumer() {
        Management.given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body(containsString("activation-consumer"))
                .body(containsString("kafka-broker"))
                .body(containsString("Database connections health check"));
        // on the management port only: the HTTP port serves nothing
        io.restassured.RestAssured.given().get("/q/health/ready").then().statusCode(404);
        io.restassured.RestAssured.given().get("/q/metrics").then().statusCode(404);
    }

    private TapDistribution awaitWindow(TapWindowStore store, String model, Slice slice,
            Predicate<TapDistribution> done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        TapDistribution last = null;
        while (System.nanoTime() < deadline) {
            var windows = store.read(model, "1", "dense1", slice, Granularity.MINUTE, MINUTE, MINUTE.plusSeconds(60));
            if (!windows.isEmpty()) {
                last = windows.get(0).distribution();
                if (done.test(last)) {
                    return last;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("window of " + model + "/" + slice + " not as expected; last seen "
                + (last == null ? "none" : last.observationCount() + " observations"));
    }

    private static List<ConsumerRecord<byte[], byte[]>> consume(String topic,
            Predicate<ConsumerRecord<byte[], byte[]>> mine, int atLeast) {
        return ai.neuraldivergence.testkit.TopicRecords.await(topic, r -> r.key() != null && mine.test(r), atLeast);
    }

    private long committedOffsets() throws Exception {
        // the flush that commits the last record may still be in flight: wait for the stored offsets to settle
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        long end = endOffsets();
        long sum = -1;
        while (System.nanoTime() < deadline) {
            try (Connection c = dataSource.getConnection();
                    PreparedStatement ps = c.prepareStatement("SELECT coalesce(sum(next_offset), 0) FROM "
                            + "consumer_offset WHERE consumer_group = 'nd-aggregator' AND topic = 'nd.activations'");
                    ResultSet rs = ps.executeQuery()) {
                rs.next();
                sum = rs.getLong(1);
            }
            if (sum == end) {
                return sum;
            }
            Thread.sleep(100);
        }
        return sum;
    }

    private static long endOffsets() {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(
                "bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers(),
                "key.deserializer", ByteArrayDeserializer.class.getName(),
                "value.deserializer", ByteArrayDeserializer.class.getName()))) {
            var partitions = c.partitionsFor("nd.activations").stream()
                    .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            return c.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum();
        }
    }
}

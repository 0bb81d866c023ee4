package ai.neuraldivergence.aggregator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.ReferenceStore;
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
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * A tap stored in blocks, against real Kafka and PostgreSQL: whole-tap records split by the aggregator, per-block
 * records as capture sends them, and the same traffic in one block read back alike; a tap's count is its blocks'
 * minimum everywhere; what does not fit the stored blocks is dead-lettered.
 */
@QuarkusTest
@WithTestResource(InfrastructureTestResource.class)
class TapBlocksTest {

    private static final Instant MINUTE = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.HOURS)
            .minus(Duration.ofMinutes(40));
    private static final int NEURONS = 10;
    private static final int BLOCK = 4;
    private static final int OBSERVATIONS = 12;

    @Inject
    AgroalDataSource dataSource;

    /** Observation i's value of neuron n: distinct per neuron and observation, some zeros and negatives. */
    private static float value(int i, int n) {
        return (i % 5 == 0 && n % 3 == 0) ? 0f : (float) ((n + 1) * (i - 4) * 0.37);
    }

    private static ActivationBatch.Builder header(String model, int blockSize) {
        return ActivationBatch.newBuilder().setModelId(model).setModelVersion("1").setTap("wide").setTapIndex(0)
                .addTapShape(NEURONS).setNeuronCount(NEURONS).setReduction(Reduction.REDUCTION_NONE)
                .setBlockSize(blockSize);
    }

    /** Observations {@code [from, to)}, neurons {@code [first, first + width)}. */
    private static ActivationBatch batch(String model, int blockSize, int from, int to, int first, int width,
            String reference) {
        ActivationBatch.Builder b = header(model, blockSize).setNeuronOffset(first);
        for (int i = from; i < to; i++) {
            Observation.Builder o = Observation.newBuilder().setInstanceId("i-" + i).setPredictedClass(i % 3)
                    .setEventTime(Timestamp.newBuilder().setSeconds(MINUTE.getEpochSecond() + i));
            if (i % 2 == 0) {
                o.setTrueLabel(i % 3);
            }
            if (reference != null) {
                o.putTags("reference", reference);
            }
            b.addObservations(o);
            for (int n = first; n < first + width; n++) {
                b.addActivations(value(i, n));
            }
        }
        return b.build();
    }

    private static ProducerRecord<byte[], byte[]> record(String model, String key, byte[] value) {
        return new ProducerRecord<>("nd.activations", null, MINUTE.plusSeconds(90).toEpochMilli(),
                key.getBytes(StandardCharsets.UTF_8), value);
    }

    private static KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of("bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers(),
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName()));
    }

    @Test
    void aTapInBlocksReadsAsTheSameTapInOneBlock() throws Exception {
        String split = "blocks-split-" + UUID.randomUUID();
        String sent = "blocks-sent-" + UUID.randomUUID();
        String whole = "blocks-whole-" + UUID.randomUUID();
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            // whole-tap records the aggregator splits into blocks of 4 (4, 4 and 2 neurons)
            p.send(record(split, split, batch(split, BLOCK, 0, 7, 0, NEURONS, null).toByteArray()));
            p.send(record(split, split, batch(split, BLOCK, 7, OBSERVATIONS, 0, NEURONS, null).toByteArray()));
            // one record per block as capture sends them, the blocks in another order and cut at other observations
            for (int block : new int[] {2, 0, 1}) {
                int first = block * BLOCK;
                int width = Math.min(BLOCK, NEURONS - first);
                p.send(record(sent, sent + "/" + block, batch(sent, BLOCK, 0, 5, first, width, null).toByteArray()));
                p.send(record(sent, sent + "/" + block, batch(sent, BLOCK, 5, OBSERVATIONS, first, width, null)
                        .toByteArray()));
            }
            // the same observations in one block: the reference every other layout must equal
            p.send(record(whole, whole, batch(whole, 0, 0, OBSERVATIONS, 0, NEURONS, null).toByteArray()));
            // late labels for the unlabelled (odd) observations join each block
            for (String model : List.of(split, sent, whole)) {
                for (int i = 1; i < OBSERVATIONS; i += 2) {
                    p.send(new ProducerRecord<>("nd.labels", null, MINUTE.plusSeconds(120).toEpochMilli(),
                            ("i-" + i).getBytes(StandardCharsets.UTF_8), LabelEvent.newBuilder().setModelId(model)
                                    .setInstanceId("i-" + i).setTrueLabel(7).build().toByteArray()));
                }
            }
        }
        TapWindowStore store = new TapWindowStore(dataSource);
        for (String model : List.of(whole, split, sent)) {
            await(() -> count(store, model, Slice.ALL) == OBSERVATIONS
                    && count(store, model, Slice.trueLabel(7)) == OBSERVATIONS / 2, model + " stored");
        }
        assertEquals(3, blocksStored(split), "split into the tap's 3 blocks");
        assertEquals(3, blocksStored(sent));
        assertEquals(1, blocksStored(whole));
        for (Slice slice : List.of(Slice.ALL, Slice.predictedClass(1), Slice.trueLabel(0), Slice.trueLabel(7))) {
            TapDistribution expected = minute(store, whole, slice);
            for (String model : List.of(split, sent)) {
                TapDistribution actual = minute(store, model, slice);
                assertEquals(expected.observationCount(), actual.observationCount(), model + " " + slice.key());
                for (int n = 0; n < NEURONS; n++) {
                    NeuronDistribution e = expected.neuron(n);
                    NeuronDistribution a = actual.neuron(n);
                    String what = model + " " + slice.key() + " neuron " + n;
                    assertEquals(e.count(), a.count(), what);
                    assertEquals(e.sum(), a.sum(), Math.abs(e.sum()) * 1e-9, what);
                    assertEquals(e.min(), a.min(), what);
                    assertEquals(e.max(), a.max(), what);
                    assertEquals(e.zeroCount(), a.zeroCount(), what);
                    assertEquals(e.quantile(0.5), a.quantile(0.5), what + " (exact below k)");
                }
            }
        }
        // the catalog counts a tap's observations once, not once per block
        CatalogStore catalog = new CatalogStore(dataSource);
        assertEquals(OBSERVATIONS, catalog.versions(split).get(0).observationCount());
        assertEquals(OBSERVATIONS, catalog.versions(sent).get(0).observationCount());
        TapDescriptor layout = catalog.find(sent, "1", "wide").orElseThrow();
        assertEquals(BLOCK, layout.blockSize());
        assertEquals(3, layout.blockCount());
        // an instance kept block by block is put back together
        RecentObservationStore recent = new RecentObservationStore(dataSource);
        List<RecentObservationStore.Assembled> kept = RecentObservationStore.assemble(recent.find(sent, "i-3"),
                r -> layout);
        assertEquals(1, kept.size());
        assertEquals(List.of(), kept.get(0).missingBlocks());
        for (int n = 0; n < NEURONS; n++) {
            assertEquals(value(3, n), kept.get(0).tap().activations()[n]);
        }
        // window updates speak of the whole tap: never more than its blocks' minimum, its full count at the end
        List<ConsumerRecord<byte[], byte[]>> updates = TopicRecords.await("nd.window-updates",
                r -> r.key() != null && new String(r.key(), StandardCharsets.UTF_8).equals(sent) && isAll(r), 1);
        long highest = 0;
        for (ConsumerRecord<byte[], byte[]> r : updates) {
            WindowUpdate u = WindowUpdate.parseFrom(r.value());
            assertEquals("wide", u.getTap());
            assertTrue(u.getObservationCount() <= OBSERVATIONS, "a tap's count is never its blocks' sum: "
                    + u.getObservationCount());
            highest = Math.max(highest, u.getObservationCount());
        }
        long last = highest;
        await(() -> highestAllCount(sent) == OBSERVATIONS, "an update announces the tap complete (last " + last
                + ")");
    }

    @Test
    void aTapIsCountedByItsEmptiestBlockAndAReferenceSealsWhenEveryBlockIsComplete() throws Exception {
        String model = "blocks-short-" + UUID.randomUUID();
        ReferenceStore references = new ReferenceStore(dataSource);
        ai.neuraldivergence.storage.SealStore seals = new ai.neuraldivergence.storage.SealStore(dataSource);
        ReferenceStore.ReferenceId id = new ReferenceStore.ReferenceId(model, "1", "base");
        TapWindowStore store = new TapWindowStore(dataSource);
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            // the layout first, then a reference expected to hold 12 observations per tap
            p.send(record(model, model, header(model, BLOCK).setOrigin(
                    ai.neuraldivergence.proto.v1.BatchOrigin.BATCH_ORIGIN_SERVED).build().toByteArray())).get();
            await(() -> new CatalogStore(dataSource).find(model, "1", "wide").isPresent(), "layout registered");
            seals.requestSeal(id, OBSERVATIONS);
            for (int block = 0; block < 3; block++) {
                int first = block * BLOCK;
                int width = Math.min(BLOCK, NEURONS - first);
                // block 2 has only 8 of the 12 live observations and of the reference's so far
                int to = block == 2 ? 8 : OBSERVATIONS;
                p.send(record(model, model + "/" + block, batch(model, BLOCK, 0, to, first, width, null)
                        .toByteArray()));
                p.send(record(model, model + "/" + block, batch(model, BLOCK, 0, to, first, width, "base")
                        .toByteArray()));
            }
        }
        await(() -> blocksStored(model) == 3 && rowsOf(model, "i-11") == 2, "blocks 0 and 1 complete");
        await(() -> count(store, model, Slice.ALL) == 8, "the tap's count is its emptiest block's");
        assertEquals(8, new CatalogStore(dataSource).versions(model).get(0).observationCount());
        assertEquals(8, references.read(model, "1", "base", "wide", Slice.ALL).orElseThrow().observationCount());
        assertFalse(seals.tapSealed(id, "wide"), "not sealed while a block lacks observations");
        RecentObservationStore recent = new RecentObservationStore(dataSource);
        TapDescriptor layout = new CatalogStore(dataSource).find(model, "1", "wide").orElseThrow();
        List<RecentObservationStore.Assembled> kept = RecentObservationStore.assemble(recent.find(model, "i-11"),
                r -> layout);
        assertEquals(List.of(2), kept.get(0).missingBlocks(), "the block not kept is named");
        assertTrue(Float.isNaN(kept.get(0).tap().activations()[9]));
        assertEquals(value(11, 3), kept.get(0).tap().activations()[3]);

        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, model + "/2", batch(model, BLOCK, 8, OBSERVATIONS, 8, 2, null).toByteArray()));
            p.send(record(model, model + "/2", batch(model, BLOCK, 8, OBSERVATIONS, 8, 2, "base").toByteArray()));
        }
        await(() -> count(store, model, Slice.ALL) == OBSERVATIONS, "complete once the last block is");
        await(() -> seals.tapSealed(id, "wide"), "sealed when every block reached the expected count");
        assertEquals(OBSERVATIONS, references.read(model, "1", "base", "wide", Slice.ALL).orElseThrow()
                .observationCount());
    }

    @Test
    void recordsThatDoNotFitTheStoredBlocksAreDeadLettered() throws Exception {
        String model = "blocks-bad-" + UUID.randomUUID();
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            p.send(record(model, model, batch(model, BLOCK, 0, 2, 0, NEURONS, null).toByteArray())).get();
            await(() -> new CatalogStore(dataSource).find(model, "1", "wide").isPresent(), "registered");
            // another block size than the one registered
            p.send(record(model, model, batch(model, 5, 2, 3, 0, NEURONS, null).toByteArray()));
            // a range that starts inside a block
            p.send(record(model, model, batch(model, BLOCK, 2, 3, 2, 4, null).toByteArray()));
            // a range that ends inside one
            p.send(record(model, model, batch(model, BLOCK, 2, 3, 4, 3, null).toByteArray()));
        }
        List<ConsumerRecord<byte[], byte[]>> letters = TopicRecords.await("nd.activations.dlq",
                r -> r.key() != null && new String(r.key(), StandardCharsets.UTF_8).equals(model), 3);
        List<String> reasons = new ArrayList<>();
        letters.forEach(l -> reasons.add(new String(l.headers().lastHeader("nd-error").value(),
                StandardCharsets.UTF_8)));
        assertEquals(3, reasons.size(), reasons.toString());
        assertTrue(reasons.get(0).contains("stored blocks of 4 neurons, batch declares 5"), reasons.get(0));
        assertTrue(reasons.get(1).contains("neurons 2..5 of tap wide are not whole blocks of 4"), reasons.get(1));
        assertTrue(reasons.get(2).contains("neurons 4..6 of tap wide are not whole blocks of 4"), reasons.get(2));
        assertEquals(2, new CatalogStore(dataSource).versions(model).get(0).observationCount(), "nothing merged");
    }

    private static boolean isAll(ConsumerRecord<byte[], byte[]> r) {
        try {
            return WindowUpdate.parseFrom(r.value()).getSlice().getKindCase()
                    == ai.neuraldivergence.proto.v1.Slice.KindCase.ALL;
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            return false;
        }
    }

    private static long highestAllCount(String model) {
        long highest = 0;
        for (ConsumerRecord<byte[], byte[]> r : TopicRecords.await("nd.window-updates", x -> x.key() != null
                && new String(x.key(), StandardCharsets.UTF_8).equals(model) && isAll(x), 1)) {
            try {
                highest = Math.max(highest, WindowUpdate.parseFrom(r.value()).getObservationCount());
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError(e);
            }
        }
        return highest;
    }

    private static TapDistribution minute(TapWindowStore store, String model, Slice slice) {
        List<TapWindowStore.StoredWindow> windows = store.read(model, "1", "wide", slice, Granularity.MINUTE,
                MINUTE, MINUTE.plusSeconds(60));
        assertEquals(1, windows.size(), model + " " + slice.key());
        return windows.get(0).distribution();
    }

    private static long count(TapWindowStore store, String model, Slice slice) {
        return store.read(model, "1", "wide", slice, Granularity.MINUTE, MINUTE, MINUTE.plusSeconds(60)).stream()
                .mapToLong(w -> w.distribution().observationCount()).sum();
    }

    private long blocksStored(String model) {
        return query("SELECT count(DISTINCT block) FROM window_delta WHERE model_id = ?", model);
    }

    private long rowsOf(String model, String instance) {
        return new RecentObservationStore(dataSource).find(model, instance).size();
    }

    private long query(String sql, String model) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, model);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void await(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within 60 s");
            }
            Thread.sleep(100);
        }
    }
}

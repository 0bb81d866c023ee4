package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.NeuronDivergence;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A hot wide tap spread: 10,000 neurons in 10 blocks of 1,000, each block its own records on consecutive partitions
 * of an 8-partition topic shared by 2 aggregator instances, against the same observations as one block in whole-tap
 * records. Two minutes of 2,000 observations, every one in three slices (sketches in estimation mode), half of them
 * labelled late; one aggregator is killed (SIGKILL) mid-stream. Stored per-neuron counts, sums, minima, maxima and zero counts, every Compare metric (within its
 * stated error), the layer statistic's counts and verdict (from block 0's projections), and the counts GetCatalog and
 * Watch report per tap are the unblocked layout's.
 */
class HotTapSpreadTest {

    private static final String TOPIC = "spread.activations";
    private static final String LABELS = "spread.labels";
    private static final int PARTITIONS = 8;
    private static final int NEURONS = 10_000;
    private static final int BLOCK = 1_000;
    private static final int PER_MINUTE = 2_000;
    private static final int PER_RECORD = 20;
    private static final String SPREAD = "spread";
    private static final String WHOLE = "whole";
    private static final Instant M0 = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MINUTES)
            .minus(Duration.ofMinutes(10));
    private static final Instant M1 = M0.plusSeconds(60);

    /** The layer statistic's map of the spread model's tap, which capture projects block 0's observations on. */
    private static final ai.neuraldivergence.domain.mmd.RandomFeatureMap SPREAD_MAP =
            ai.neuraldivergence.domain.mmd.FeatureMaps.of(ai.neuraldivergence.domain.LayerFeatures.seed(SPREAD, "hot",
                    0, NEURONS).orElseThrow(), NEURONS, null);

    /**
     * Observation i's activations: post-ReLU, a tenth zeros, the second minute shifted: every fourth neuron by half
     * its range (KS about 0.5), so that it is drifted beyond chance even at 2,000 observations a side in a tap of
     * 10,000 neurons (the verdict's sampling bound is 0.12 there).
     */
    private static float[] values(int i) {
        SplittableRandom r = new SplittableRandom(31L * i + 7);
        double shift = i < PER_MINUTE ? 0 : 1.0;
        float[] v = new float[NEURONS];
        for (int n = 0; n < NEURONS; n++) {
            double x = r.nextDouble() * 2 - 0.2 + shift * ((n % 4) / 3.0);
            v[n] = (float) Math.max(0, x * (1 + n % 7));
        }
        return v;
    }

    private static Instant eventTime(int i) {
        return (i < PER_MINUTE ? M0 : M1).plusMillis((i % PER_MINUTE) * 59_000L / PER_MINUTE);
    }

    private static Observation observation(int i) {
        Observation.Builder o = Observation.newBuilder().setInstanceId("h-" + i).setPredictedClass(0)
                .setConfidence(0.9f).setEventTime(Timestamp.newBuilder().setSeconds(eventTime(i).getEpochSecond())
                        .setNanos(eventTime(i).getNano()));
        if (i % 2 == 0) {
            o.setTrueLabel(0); // the odd ones are labelled late
        }
        return o.build();
    }

    @Test
    void aTenThousandNeuronTapInTenBlocksEqualsTheUnblockedLayout() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", infra.kafkaBootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1),
                    new NewTopic(LABELS, PARTITIONS, (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
        String db = infra.newDatabase("spread");
        Map<String, String> env = ServiceProcess.isolated(db, "spread");
        env.put("ND_AGGREGATOR_CONSUMER_GROUP", "spread");
        env.put("ND_ALLOWED_LATENESS", "1h");
        List<ServiceProcess> aggregators = new ArrayList<>();
        List<WatchEvent> spreadEvents = Collections.synchronizedList(new ArrayList<>());
        List<WatchEvent> wholeEvents = Collections.synchronizedList(new ArrayList<>());
        List<Thread> watchers = new ArrayList<>();
        try {
            for (int a = 0; a < 2; a++) {
                aggregators.add(ServiceProcess.start("aggregator", env, List.of(), "aggregator-spread-" + a));
            }
            for (ServiceProcess a : aggregators) {
                a.awaitReady(Duration.ofSeconds(120));
            }
            // the chart's heap for the comparison service (half of its 1 GiB limit): a 10,000-neuron selection in
            // estimation mode is about 25 MB, and a comparison holds both sides while the cache keeps a quarter
            try (ServiceProcess comparison = ServiceProcess.start("comparison", ServiceProcess.asComparison(env),
                    List.of("-Xmx512m"), "comparison-spread")) {
                comparison.awaitReady(Duration.ofSeconds(120));
                ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", comparison.port())
                        .usePlaintext().maxInboundMessageSize(64 << 20).build();
                try {
                    for (String model : List.of(SPREAD, WHOLE)) {
                        List<WatchEvent> into = model.equals(SPREAD) ? spreadEvents : wholeEvents;
                        Thread t = new Thread(() -> {
                            try {
                                ComparisonServiceGrpc.newBlockingStub(channel).withDeadlineAfter(240, TimeUnit.SECONDS)
                                        .watch(WatchRequest.newBuilder().setModelId(model).build())
                                        .forEachRemaining(into::add);
                            } catch (io.grpc.StatusRuntimeException ended) {
                                // the deadline or the channel's shutdown ends the stream
                            }
                        }, "watch-" + model);
                        t.start();
                        watchers.add(t);
                    }
                    Thread.sleep(1_000);
                    // one instance killed (SIGKILL) mid-stream: the other takes its blocks' partitions over from
                    // their stored offsets, and nothing is lost or counted twice
                    Thread killer = new Thread(() -> {
                        try {
                            Thread.sleep(8_000);
                            aggregators.get(1).kill();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }, "spread-killer");
                    killer.start();
                    produce(infra.kafkaBootstrapServers());
                    killer.join();
                    ComparisonServiceGrpc.ComparisonServiceBlockingStub api = ComparisonServiceGrpc
                            .newBlockingStub(channel);
                    awaitCatalog(api);
                    TapWindowStore store = new TapWindowStore(dataSource(db));
                    awaitLateLabels(store);
                    compareStored(store);
                    compareCompare(api);
                    awaitWatch(spreadEvents, wholeEvents);
                } finally {
                    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            }
        } finally {
            aggregators.forEach(ServiceProcess::close);
            for (Thread t : watchers) {
                t.join(10_000);
            }
        }
    }

    /**
     * The spread model as capture sends it, one record per block on consecutive partitions; the whole model in
     * whole-tap records of one block; then the late labels.
     */
    private static void produce(String bootstrap) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        p.put("acks", "all");
        p.put("linger.ms", "20");
        p.put("max.request.size", String.valueOf(4 << 20));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (int start = 0; start < 2 * PER_MINUTE; start += PER_RECORD) {
                float[][] rows = new float[PER_RECORD][];
                for (int i = 0; i < PER_RECORD; i++) {
                    rows[i] = values(start + i);
                }
                long stamp = eventTime(start + PER_RECORD - 1).plusSeconds(2).toEpochMilli();
                for (int block = 0; block < NEURONS / BLOCK; block++) {
                    ActivationBatch.Builder b = header(SPREAD, BLOCK).setNeuronOffset(block * BLOCK);
                    for (int i = 0; i < PER_RECORD; i++) {
                        b.addObservations(observation(start + i));
                        for (int n = block * BLOCK; n < (block + 1) * BLOCK; n++) {
                            b.addActivations(rows[i][n]);
                        }
                        if (block == 0) {
                            // as capture sends block 0: each observation's projections for the layer statistic
                            for (float v : SPREAD_MAP.projection(rows[i])) {
                                b.addLayerProjections(v);
                            }
                        }
                    }
                    producer.send(new ProducerRecord<>(TOPIC, block % PARTITIONS, stamp, (SPREAD + "/hot/" + block)
                            .getBytes(), b.build().toByteArray()));
                }
                ActivationBatch.Builder w = header(WHOLE, NEURONS);
                for (int i = 0; i < PER_RECORD; i++) {
                    w.addObservations(observation(start + i));
                    for (int n = 0; n < NEURONS; n++) {
                        w.addActivations(rows[i][n]);
                    }
                }
                producer.send(new ProducerRecord<>(TOPIC, null, stamp, (WHOLE + "/hot").getBytes(),
                        w.build().toByteArray()));
            }
            long stamp = M1.plusSeconds(65).toEpochMilli();
            for (String model : List.of(SPREAD, WHOLE)) {
                for (int i = 1; i < 2 * PER_MINUTE; i += 2) {
                    producer.send(new ProducerRecord<>(LABELS, null, stamp, ("h-" + i).getBytes(), LabelEvent
                            .newBuilder().setModelId(model).setInstanceId("h-" + i).setTrueLabel(0).build()
                            .toByteArray()));
                }
            }
        }
    }

    private static ActivationBatch.Builder header(String model, int blockSize) {
        return ActivationBatch.newBuilder().setModelId(model).setModelVersion("1").setTap("hot").setTapIndex(0)
                .addTapShape(NEURONS).setNeuronCount(NEURONS).setReduction(Reduction.REDUCTION_NONE)
                .setBlockSize(blockSize);
    }

    /** GetCatalog counts every observation once per model, whatever its blocks. */
    private static void awaitCatalog(ComparisonServiceGrpc.ComparisonServiceBlockingStub api) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
        Map<String, Long> counts = new HashMap<>();
        while (System.nanoTime() < deadline) {
            for (String model : List.of(SPREAD, WHOLE)) {
                Catalog c = api.withDeadlineAfter(30, TimeUnit.SECONDS).getCatalog(GetCatalogRequest.newBuilder()
                        .setModelId(model).build());
                counts.put(model, c.getModelsCount() == 0 ? 0 : c.getModels(0).getVersions(0).getObservationCount());
            }
            if (counts.get(SPREAD) == 2 * PER_MINUTE && counts.get(WHOLE) == 2 * PER_MINUTE) {
                return;
            }
            assertTrue(counts.get(SPREAD) <= 2 * PER_MINUTE, "a tap's count is never its blocks' sum: " + counts);
            Thread.sleep(1_000);
        }
        throw new AssertionError("GetCatalog never counted every observation: " + counts);
    }

    private static void awaitLateLabels(TapWindowStore store) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        Map<String, Long> labelled = new HashMap<>();
        while (System.nanoTime() < deadline) {
            for (String model : List.of(SPREAD, WHOLE)) {
                labelled.put(model, store.read(model, "1", "hot", Slice.trueLabel(0), Granularity.MINUTE, M0,
                        M1.plusSeconds(60)).stream().mapToLong(w -> w.distribution().observationCount()).sum());
            }
            if (labelled.get(SPREAD) == 2 * PER_MINUTE && labelled.get(WHOLE) == 2 * PER_MINUTE) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the late labels never joined every observation: " + labelled);
    }

    /** Every slice and minute, neuron by neuron: the blocked layout stores what the unblocked one does. */
    private static void compareStored(TapWindowStore store) {
        for (Slice slice : List.of(Slice.ALL, Slice.predictedClass(0), Slice.trueLabel(0))) {
            for (Instant minute : List.of(M0, M1)) {
                TapDistribution whole = only(store, WHOLE, slice, minute);
                TapDistribution spread = only(store, SPREAD, slice, minute);
                String what = slice.key() + " " + minute;
                assertEquals(PER_MINUTE, whole.observationCount(), what);
                assertEquals(whole.observationCount(), spread.observationCount(), what);
                for (int n = 0; n < NEURONS; n++) {
                    NeuronDistribution e = whole.neuron(n);
                    NeuronDistribution a = spread.neuron(n);
                    assertEquals(e.count(), a.count(), what + " neuron " + n);
                    assertEquals(e.sum(), a.sum(), Math.abs(e.sum()) * 1e-9, what + " neuron " + n);
                    assertEquals(e.min(), a.min(), what + " neuron " + n);
                    assertEquals(e.max(), a.max(), what + " neuron " + n);
                    assertEquals(e.zeroCount(), a.zeroCount(), what + " neuron " + n);
                }
            }
        }
    }

    private static TapDistribution only(TapWindowStore store, String model, Slice slice, Instant minute) {
        List<TapWindowStore.StoredWindow> w = store.read(model, "1", "hot", slice, Granularity.MINUTE, minute,
                minute.plusSeconds(60));
        assertEquals(1, w.size(), model + " " + slice.key() + " " + minute);
        return w.get(0).distribution();
    }

    /**
     * The first minute against the second, per neuron: each metric of the spread layout lies within the two results'
     * stated error bounds of the unblocked one (both estimate the same exact value within their own bound).
     */
    private static void compareCompare(ComparisonServiceGrpc.ComparisonServiceBlockingStub api) {
        Map<String, CompareResponse> responses = new HashMap<>();
        for (String model : List.of(SPREAD, WHOLE)) {
            responses.put(model, api.withDeadlineAfter(120, TimeUnit.SECONDS).compare(CompareRequest.newBuilder()
                    .setModelId(model).setTap("hot").setA(range(M0)).setB(range(M1)).build()));
        }
        List<NeuronDivergence> spread = responses.get(SPREAD).getTaps(0).getNeuronsList();
        List<NeuronDivergence> whole = responses.get(WHOLE).getTaps(0).getNeuronsList();
        assertEquals(NEURONS, spread.size());
        assertEquals(NEURONS, whole.size());
        int drifted = 0;
        for (int n = 0; n < NEURONS; n++) {
            NeuronDivergence s = spread.get(n);
            NeuronDivergence w = whole.get(n);
            String what = "neuron " + n + ": spread " + s + " whole " + w;
            assertEquals(w.getCountA(), s.getCountA(), what);
            assertEquals(w.getCountB(), s.getCountB(), what);
            assertTrue(s.getKsErrorBound() > 0, "sketches in estimation mode: " + what);
            assertEquals(w.getKs(), s.getKs(), w.getKsErrorBound() + s.getKsErrorBound() + 1e-12, what);
            assertEquals(w.getWasserstein(), s.getWasserstein(), w.getWassersteinErrorBound()
                    + s.getWassersteinErrorBound() + 1e-12, what);
            assertEquals(w.getJensenShannon(), s.getJensenShannon(), w.getJensenShannonErrorBound()
                    + s.getJensenShannonErrorBound() + 1e-12, what);
            assertEquals(w.getPsi(), s.getPsi(), w.getPsiErrorBound() + s.getPsiErrorBound() + 1e-12, what);
            assertEquals(w.getMeanShift(), s.getMeanShift(), Math.abs(w.getMeanShift()) * 1e-9 + 1e-12, what);
            drifted += w.getDrifted() ? 1 : 0;
        }
        assertEquals(responses.get(WHOLE).getTaps(0).getSummary().getCountA(),
                responses.get(SPREAD).getTaps(0).getSummary().getCountA());
        // the layer statistic of the tap in 10 blocks on 2 aggregators, from block 0's projections, says what the
        // one-block tap's says (each model its own map: the same verdict on the same counts, not the same digits)
        ai.neuraldivergence.proto.v1.LayerDrift spreadLayer = responses.get(SPREAD).getTaps(0).getSummary().getLayer();
        ai.neuraldivergence.proto.v1.LayerDrift wholeLayer = responses.get(WHOLE).getTaps(0).getSummary().getLayer();
        assertTrue(wholeLayer.getAvailable(), wholeLayer.toString());
        assertTrue(spreadLayer.getAvailable(), spreadLayer.toString());
        assertEquals(wholeLayer.getCountA(), spreadLayer.getCountA());
        assertEquals(wholeLayer.getCountB(), spreadLayer.getCountB());
        assertEquals(PER_MINUTE, spreadLayer.getCountA());
        assertEquals(wholeLayer.getDrifted(), spreadLayer.getDrifted(), "spread " + spreadLayer + " whole "
                + wholeLayer);
        assertTrue(drifted > 0, "the shifted neurons drift: a comparison that can tell the layouts apart");
    }

    private static Selection range(Instant from) {
        return Ranges.range(from, Duration.ofSeconds(60));
    }

    /**
     * Watch speaks of whole taps: the spread model's events name the tap, never count more than its blocks'
     * minimum, and end at the counts the unblocked model's end at, slice by slice and minute by minute.
     */
    private static void awaitWatch(List<WatchEvent> spread, List<WatchEvent> whole) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Map<String, Long> s = Map.of();
        Map<String, Long> w = Map.of();
        while (System.nanoTime() < deadline) {
            s = highest(spread);
            w = highest(whole);
            if (!w.isEmpty() && s.equals(w) && w.values().stream().allMatch(c -> c == PER_MINUTE)) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("Watch counts per tap differ: spread " + s + ", whole " + w);
    }

    /** The highest count Watch announced per slice and minute (every event of the tap "hot", none above a minute). */
    private static Map<String, Long> highest(List<WatchEvent> events) {
        Map<String, Long> out = new HashMap<>();
        synchronized (events) {
            for (WatchEvent e : events) {
                if (!e.hasWindowUpdate() || e.getWindowUpdate().getWindow().getGranularity()
                        != ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_MINUTE) {
                    continue;
                }
                var u = e.getWindowUpdate();
                assertEquals("hot", u.getTap());
                assertTrue(u.getObservationCount() <= PER_MINUTE, "never a blocks' sum: " + u);
                out.merge(u.getSlice().toString().replace('\n', ' ') + "@" + u.getWindow().getStart().getSeconds(),
                        u.getObservationCount(), Math::max);
            }
        }
        return out;
    }

    private static javax.sql.DataSource dataSource(String url) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(url);
        ds.setUser(TestInfrastructure.DB_USER);
        ds.setPassword(TestInfrastructure.DB_PASSWORD);
        return ds;
    }
}

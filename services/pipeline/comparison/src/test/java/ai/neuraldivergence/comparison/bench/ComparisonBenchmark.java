package ai.neuraldivergence.comparison.bench;

import ai.neuraldivergence.domain.DistributionCodec;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.Tag;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.flywaydb.core.Flyway;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * What a comparison query costs (deploy/benchmark-comparison.sh): 24 hours of minute windows of a 1,024-neuron tap
 * at 1,000 observations a minute per side (1.44 M observations per side, slices side=a and side=b), rolled up into
 * hours and a day as the aggregator would, read through the packaged comparison service over gRPC.
 *
 * <p>(a) one live query repeated while a writer commits into the newest minute every second and announces it
 * (WindowUpdate), as the aggregator does; (b) 200 distinct hour-aligned ranges and slices; (c) SciPy computing the
 * same metrics from raw samples for 32 neurons, scaled to 1,024, against (b); (d) the longest range a query may
 * merge, 400 days of day rows, at the service's default heap ({@link LongRead}).
 */
public final class ComparisonBenchmark {

    static final String MODEL = "bench";
    static final int NEURONS = 1024;
    static final int PER_MINUTE = 1000;
    static final int DISTINCT_MINUTES = 60;
    private static ai.neuraldivergence.storage.TimePartitions partitions;

    public static void main(String[] args) throws Exception {
        Path jar = Path.of(args[0]);
        String bootstrap = args[1];
        String jdbc = args[2];
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(jdbc);
        ds.setUser(args[3]);
        ds.setPassword(args[4]);
        Flyway.configure().dataSource(ds).load().migrate();
        Instant day = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(Duration.ofDays(1));
        long seedStart = System.nanoTime();
        seed(ds, day);
        System.out.printf(Locale.ROOT, "seeded 2 x 1,440 minutes, 2 x 24 hours, 2 days of %d neurons in %.0f s%n",
                NEURONS, (System.nanoTime() - seedStart) / 1e9);

        int port = 18082;
        double[] live;
        try (Service service = Service.start(jar, bootstrap, jdbc, args[3], args[4], port, true)) {
            live = live(service.api(), ds, bootstrap, day);
        }
        System.out.printf(Locale.ROOT, "(a) live query (yesterday side=a vs the last 15 minutes side=b, windows "
                + "committing every second), %d queries: p50 %.1f ms, p99 %.1f ms (target p99 <= 50 ms)%n",
                (int) live[2], live[0], live[1]);
        double[] distinct;
        // no result reuse: a service without its selection cache
        try (Service service = Service.start(jar, bootstrap, jdbc, args[3], args[4], port, false)) {
            distinct = distinct(service.api(), day);
        }
        System.out.printf(Locale.ROOT, "(b) 200 distinct hour-aligned ranges and slices, cache off: p50 %.0f ms, "
                + "p99 %.0f ms (target p99 <= 1000 ms)%n", distinct[0], distinct[1]);
        LongRead.Result longRead = LongRead.run(ds, day, () -> Service.start(jar, bootstrap, jdbc, args[3], args[4],
                port, false, LongRead.SERVICE_HEAP));
        System.out.printf(Locale.ROOT, "(d) long read: %d days of day rows of a %,d-neuron tap against yesterday, cache "
                + "off, at the service's default heap (%s): %.1f s, heap peak %.0f MiB%n", LongRead.DAYS, NEURONS,
                LongRead.SERVICE_HEAP, longRead.seconds(), longRead.heapPeakBytes() / 1048576.0);
        double scipy = sciPy(Path.of(args[5]));
        System.out.printf(Locale.ROOT, "(c) SciPy on raw samples (1.44 M per side, KS, W1, JS, PSI): %.2f s for 32 "
                + "neurons, %.0f s scaled to 1,024; %.0f x (b)'s p50%n", scipy, scipy * 32,
                scipy * 32 * 1000 / distinct[0]);
    }

    /** The packaged comparison service in a JVM of its own. */
    record Service(Process process, ManagedChannel channel) implements AutoCloseable {

        static Service start(Path jar, String bootstrap, String jdbc, String user, String password, int port,
                boolean cache) throws Exception {
            return start(jar, bootstrap, jdbc, user, password, port, cache, "1g");
        }

        static Service start(Path jar, String bootstrap, String jdbc, String user, String password, int port,
                boolean cache, String heap) throws Exception {
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "-Xmx" + heap, "-jar", jar.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(jar.toAbsolutePath().getParent().getParent()
                            .resolve("comparison-benchmark.log").toFile()));
            pb.environment().putAll(Map.of("KAFKA_BOOTSTRAP_SERVERS", bootstrap, "QUARKUS_DATASOURCE_JDBC_URL", jdbc,
                    "QUARKUS_DATASOURCE_USERNAME", user, "QUARKUS_DATASOURCE_PASSWORD", password,
                    "COMPARISON_HTTP_PORT", Integer.toString(port), "ND_COMPARISON_CACHE_ENABLED",
                    Boolean.toString(cache), "COMPARISON_MANAGEMENT_PORT", Integer.toString(managementPort(port))));
            Process process = pb.start();
            awaitReady(managementPort(port));
            return new Service(process, ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                    .maxInboundMessageSize(64 << 20).build());
        }

        ComparisonServiceGrpc.ComparisonServiceBlockingStub api() {
            return ComparisonServiceGrpc.newBlockingStub(channel);
        }

        @Override
        public void close() throws InterruptedException {
            channel.shutdownNow();
            process.destroy();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Minutes, hours and the day per side: 60 distinct minutes repeated (generating 1.44 M fresh ones adds nothing). */
    static void seed(PGSimpleDataSource ds, Instant day) throws Exception {
        CatalogStore catalog = new CatalogStore(ds);
        TapWindowStore windows = new TapWindowStore(ds);
        partitions = windows.partitions();
        TapDescriptor tap = new TapDescriptor(MODEL, "1", "dense", 0, new int[] {NEURONS}, NEURONS, Reduction.NONE);
        for (String side : new String[] {"a", "b"}) {
            Random random = new Random(side.hashCode());
            double shift = side.equals("a") ? 0 : 0.2;
            TapDistribution hour = new TapDistribution(NEURONS, 200);
            byte[][] minutes = new byte[DISTINCT_MINUTES][];
            float[] row = new float[NEURONS];
            for (int m = 0; m < DISTINCT_MINUTES; m++) {
                TapDistribution d = new TapDistribution(NEURONS, 200);
                for (int i = 0; i < PER_MINUTE; i++) {
                    for (int n = 0; n < NEURONS; n++) {
                        row[n] = (float) (random.nextGaussian() + (n % 4 == 0 ? shift : 0));
                    }
                    d.add(row, 0);
                }
                minutes[m] = DistributionCodec.encode(d);
                hour.merge(d);
            }
            TapDistribution dayDistribution = new TapDistribution(NEURONS, 200);
            for (int h = 0; h < 24; h++) {
                dayDistribution.merge(hour);
            }
            Slice slice = Slice.tag("side", side);
            try (Connection c = ds.getConnection()) {
                c.setAutoCommit(false);
                catalog.register(c, tap);
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO tap_window (model_id, model_version, tap, "
                        + "granularity, slice, window_start, observation_count, distributions) VALUES "
                        + "(?, '1', 'dense', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
                    byte[] hourBytes = DistributionCodec.encode(hour);
                    for (int m = 0; m < 1440; m++) {
                        insert(ps, "minute", slice, day.plusSeconds(60L * m), PER_MINUTE, minutes[m % 60]);
                        if (m % 60 == 0) {
                            insert(ps, "hour", slice, day.plusSeconds(60L * m), 60L * PER_MINUTE, hourBytes);
                        }
                        if (m % 50 == 49) {
                            ps.executeBatch();
                            c.commit();
                        }
                    }
                    insert(ps, "day", slice, day, 1440L * PER_MINUTE, DistributionCodec.encode(dayDistribution));
                    ps.executeBatch();
                }
                c.commit();
            }
        }
    }

    /** The rows go where the aggregator's would: into their time partition, made first (tap_window is partitioned). */
    private static void insert(PreparedStatement ps, String granularity, Slice slice, Instant start, long count,
            byte[] bytes) throws Exception {
        partitions.ensure(start, granularity);
        ps.setString(1, MODEL);
        ps.setString(2, granularity);
        ps.setString(3, slice.key());
        ps.setTimestamp(4, java.sql.Timestamp.from(start));
        ps.setLong(5, count);
        ps.setBytes(6, bytes);
        ps.addBatch();
    }

    /**
     * (a): the same query over and over for 30 s while a writer merges a small delta into the current minute of
     * side b every second and announces it on nd.window-updates, as the aggregator's flush does.
     */
    static double[] live(ComparisonServiceGrpc.ComparisonServiceBlockingStub api, PGSimpleDataSource ds,
            String bootstrap, Instant day) throws Exception {
        TapWindowStore windows = new TapWindowStore(ds);
        Slice slice = Slice.tag("side", "b");
        AtomicBoolean writing = new AtomicBoolean(true);
        Random random = new Random(7);
        Instant liveFrom = Instant.now().truncatedTo(ChronoUnit.MINUTES).minus(Duration.ofMinutes(15));
        // the last 15 minutes of side b, unrolled, as live traffic leaves them
        for (int m = 0; m <= 15; m++) {
            commitDelta(ds, windows, slice, liveFrom.plusSeconds(60L * m), random, PER_MINUTE);
        }
        Thread writer = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap,
                    "key.serializer", ByteArraySerializer.class.getName(),
                    "value.serializer", ByteArraySerializer.class.getName()))) {
                while (writing.get()) {
                    Instant minute = Instant.now().truncatedTo(ChronoUnit.MINUTES);
                    long count = commitDelta(ds, windows, slice, minute, random, 20);
                    producer.send(new ProducerRecord<>("nd.window-updates", MODEL.getBytes(), WindowUpdate
                            .newBuilder().setModelId(MODEL).setModelVersion("1").setTap("dense").setTapIndex(0)
                            .setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder().setTag(Tag.newBuilder()
                                    .setKey("side").setValue("b")))
                            .setWindow(ai.neuraldivergence.proto.v1.Window.newBuilder()
                                    .setGranularity(ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_MINUTE)
                                    .setStart(ts(minute)).setEnd(ts(minute.plusSeconds(60))))
                            .setObservationCount(count).setAddedCount(20).build().toByteArray()));
                    Thread.sleep(1000);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "bench-writer");
        writer.start();
        List<Double> times = new ArrayList<>();
        try {
            long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < end) {
                Instant now = Instant.now();
                CompareRequest request = CompareRequest.newBuilder().setModelId(MODEL).setTap("dense")
                        .setA(range(day, day.plus(Duration.ofDays(1)), "a"))
                        .setB(range(now.minus(Duration.ofMinutes(15)).truncatedTo(ChronoUnit.MINUTES),
                                now.truncatedTo(ChronoUnit.MINUTES).plusSeconds(60), "b"))
                        .build();
                long t = System.nanoTime();
                api.withDeadlineAfter(60, TimeUnit.SECONDS).compare(request);
                times.add((System.nanoTime() - t) / 1e6);
            }
        } finally {
            writing.set(false);
            writer.join();
        }
        // the first queries warm the JIT and the caches
        List<Double> measured = times.subList(Math.min(20, times.size() / 10), times.size());
        return new double[] {percentile(measured, 0.5), percentile(measured, 0.99), measured.size()};
    }

    private static long commitDelta(PGSimpleDataSource ds, TapWindowStore windows, Slice slice, Instant minute,
            Random random, int observations) throws Exception {
        TapDistribution delta = new TapDistribution(NEURONS, 200);
        float[] row = new float[NEURONS];
        for (int i = 0; i < observations; i++) {
            for (int n = 0; n < NEURONS; n++) {
                row[n] = (float) (random.nextGaussian() + (n % 4 == 0 ? 0.2 : 0));
            }
            delta.add(row, 0);
        }
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            long count = windows.merge(c, new WindowKey(MODEL, "1", "dense", slice, Granularity.MINUTE, minute),
                    delta).observationCount();
            c.commit();
            return count;
        }
    }

    /** (b): 200 distinct hour-aligned ranges of yesterday, each side in a slice of its own. */
    static double[] distinct(ComparisonServiceGrpc.ComparisonServiceBlockingStub api, Instant day) {
        Random random = new Random(11);
        java.util.Set<String> seen = new java.util.HashSet<>();
        List<Double> times = new ArrayList<>();
        while (times.size() < 200) {
            int fromA = random.nextInt(24);
            int toA = fromA + 1 + random.nextInt(24 - fromA);
            int fromB = random.nextInt(24);
            int toB = fromB + 1 + random.nextInt(24 - fromB);
            boolean swap = random.nextBoolean();
            if (!seen.add(fromA + "-" + toA + "-" + fromB + "-" + toB + "-" + swap)) {
                continue;
            }
            CompareRequest request = CompareRequest.newBuilder().setModelId(MODEL).setTap("dense")
                    .setA(range(day.plusSeconds(3600L * fromA), day.plusSeconds(3600L * toA), swap ? "b" : "a"))
                    .setB(range(day.plusSeconds(3600L * fromB), day.plusSeconds(3600L * toB), swap ? "a" : "b"))
                    .build();
            long t = System.nanoTime();
            api.withDeadlineAfter(60, TimeUnit.SECONDS).compare(request);
            times.add((System.nanoTime() - t) / 1e6);
        }
        return new double[] {percentile(times, 0.5), percentile(times, 0.99)};
    }

    /** (c): SciPy on 1.44 M raw samples per side, for 32 neurons; returns seconds. */
    static double sciPy(Path script) throws Exception {
        Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), "1440000", "32")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("SciPy failed: " + out);
        }
        String[] lines = out.split("\n");
        return Double.parseDouble(lines[lines.length - 1].trim());
    }

    private static Selection range(Instant from, Instant to, String side) {
        return Selection.newBuilder().setTimeRange(TimeRange.newBuilder().setFrom(ts(from)).setTo(ts(to)))
                .setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder().setTag(Tag.newBuilder().setKey("side")
                        .setValue(side)))
                .build();
    }

    private static Timestamp ts(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    private static double percentile(List<Double> values, double p) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    /** Health is served on the management interface, a port of its own: 1000 above the API's here. */
    static int managementPort(int port) {
        return port + 1000;
    }

    private static void awaitReady(int port) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready"))
                        .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("the comparison service did not get ready");
    }
}

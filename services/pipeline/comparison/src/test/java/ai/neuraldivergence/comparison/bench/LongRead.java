package ai.neuraldivergence.comparison.bench;

import ai.neuraldivergence.domain.DistributionCodec;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.Tag;
import ai.neuraldivergence.proto.v1.TimeRange;
import com.google.protobuf.Timestamp;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * (d) The longest range a query may merge: 400 days of day rows of the 1,024-neuron tap (slice side=long), compared
 * with yesterday (side=a) by a comparison service without its cache at the heap the chart gives it by default (half
 * of its 1 GiB limit). Reports the call's time and the service's heap peak, sampled from its metrics while the call
 * runs: a read that held every row at once would need about twice the heap.
 */
final class LongRead {

    static final int DAYS = 400;
    static final String SERVICE_HEAP = "512m";

    record Result(double seconds, double heapPeakBytes) {
    }

    interface Starter {
        ComparisonBenchmark.Service start() throws Exception;
    }

    private LongRead() {
    }

    static Result run(PGSimpleDataSource ds, Instant day, Starter starter) throws Exception {
        seed(ds, day);
        try (ComparisonBenchmark.Service service = starter.start()) {
            int management = ComparisonBenchmark.managementPort(18082);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong peak = new AtomicLong();
            Thread sampler = new Thread(() -> {
                HttpClient http = HttpClient.newHttpClient();
                while (running.get()) {
                    peak.accumulateAndGet(heapUsed(http, management), Math::max);
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            sampler.start();
            Instant from = day.minus(Duration.ofDays(DAYS - 1));
            CompareRequest request = CompareRequest.newBuilder().setModelId(ComparisonBenchmark.MODEL).setTap("dense")
                    .setA(range(from, day.plus(Duration.ofDays(1)), "long"))
                    .setB(range(day, day.plus(Duration.ofDays(1)), "a")).build();
            long t = System.nanoTime();
            service.api().withDeadlineAfter(10, TimeUnit.MINUTES).compare(request);
            double seconds = (System.nanoTime() - t) / 1e9;
            running.set(false);
            sampler.join();
            return new Result(seconds, peak.get());
        }
    }

    /** One day's distribution (1,000 observations a minute), stored as each of the 400 days. */
    private static void seed(PGSimpleDataSource ds, Instant day) throws Exception {
        int neurons = ComparisonBenchmark.NEURONS;
        Random random = new Random(13);
        TapDistribution d = new TapDistribution(neurons, 200);
        float[] row = new float[neurons];
        for (int i = 0; i < 20_000; i++) {
            for (int n = 0; n < neurons; n++) {
                row[n] = (float) random.nextGaussian();
            }
            d.add(row, 0);
        }
        byte[] bytes = DistributionCodec.encode(d);
        Slice slice = Slice.tag("side", "long");
        // tap_window is partitioned by time: each day's partition is made first, as the aggregator's writes do
        ai.neuraldivergence.storage.TimePartitions partitions = new ai.neuraldivergence.storage.TapWindowStore(ds)
                .partitions();
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("INSERT INTO tap_window "
                + "(model_id, model_version, tap, granularity, slice, window_start, observation_count, distributions) "
                + "VALUES (?, '1', 'dense', 'day', ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            c.setAutoCommit(false);
            for (int i = 0; i < DAYS; i++) {
                partitions.ensure(day.minus(Duration.ofDays(i)), "day");
                ps.setString(1, ComparisonBenchmark.MODEL);
                ps.setString(2, slice.key());
                ps.setTimestamp(3, java.sql.Timestamp.from(day.minus(Duration.ofDays(i))));
                ps.setLong(4, 1440L * ComparisonBenchmark.PER_MINUTE);
                ps.setBytes(5, bytes);
                ps.addBatch();
                if (i % 20 == 19) {
                    ps.executeBatch();
                    c.commit();
                }
            }
            ps.executeBatch();
            c.commit();
        }
    }

    /** The service's heap in use, summed over its pools (Micrometer's jvm_memory_used_bytes, area heap). */
    private static long heapUsed(HttpClient http, int management) {
        try {
            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + management
                    + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            long sum = 0;
            for (String line : metrics.split("\n")) {
                if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                    sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return sum;
        } catch (java.io.IOException | InterruptedException e) {
            return 0;
        }
    }

    private static Selection range(Instant from, Instant to, String side) {
        return Selection.newBuilder().setTimeRange(TimeRange.newBuilder().setFrom(ts(from)).setTo(ts(to)))
                .setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder().setTag(Tag.newBuilder().setKey("side")
                        .setValue(side))).build();
    }

    private static Timestamp ts(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }
}

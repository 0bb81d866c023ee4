package ai.neuraldivergence.aggregator.bench;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What storage costs for a wide model at a steady rate (the storage issue's scenario): a 10,000-neuron model (5 taps
 * of 2,000), post-ReLU activations (about half exactly 0, the rest positive with a scale per neuron), 10 uniform
 * classes, every observation labelled in its record, the slice tag {@code source} with 2 values on 70 % of them
 * (3.7 slices per observation), produced as the inference service would: one {@code ActivationBatch} per tap per
 * batch of a few observations, record timestamps and event times now, keyed {@code model/tap}. One packaged
 * aggregator with {@code -Xmx512m} against the launcher's PostgreSQL at its settings.
 *
 * <p>After a warm-up, whole minutes are measured ({@code T0..T1}). WAL and CPU are read at {@code T0 + 30 s} and
 * {@code T1 + 30 s}: the same length of time, shifted so that it holds the fold of each measured minute (a minute is
 * folded a few seconds after its end). The minute rows of the measured minutes are read once folded, and the
 * ratio WAL bytes / finished-row bytes printed beside the bytes per stored distribution, consumer lag (every 10 s),
 * flush p95, observation-to-visible latency (from the aggregator's window-updated events: a window's count as a
 * reader sees it, its row plus its unfolded deltas, against each observation's send time) and CPU seconds per
 * process; and where the WAL went, per table (rows inserted and updated, bytes grown).
 *
 * <pre>
 * WideModelBenchmark run AGGREGATOR_JAR BOOTSTRAP JDBC_URL USER PASSWORD LAUNCHER_RUN_DIR RESULTS_FILE
 * WideModelBenchmark table RESULTS_FILE
 * </pre>
 * System properties of a run: {@code nd.bench.rate} (observations/s, 10), {@code nd.bench.batch} (observations per
 * tap batch; max(2, rate/20)), {@code nd.bench.late-labels} (true: half the labels sent late on nd.labels instead of
 * in the record), {@code nd.bench.label-delay} (30s), {@code nd.bench.warmup} (2m), {@code nd.bench.measured}
 * (10m), {@code nd.bench.fold-wait} (5m), {@code nd.bench.clock-ticks} (100), {@code nd.bench.note}. Run it with
 * {@code deploy/benchmark-aggregation.sh wide}.
 */
public final class WideModelBenchmark {

    static final String MODEL = "wide";
    static final String VERSION = "1";
    static final int TAPS = 5;
    static final int NEURONS = 2_000;
    static final int CLASSES = 10;
    static final double TAGGED = 0.7;
    static final String[] SOURCES = {"camera-a", "camera-b"};
    static final String ACTIVATIONS = "nd.activations";
    static final String LABELS = "nd.labels";
    static final String WINDOW_UPDATES = "nd.window-updates";
    /** WAL and CPU are read this long after the measured minutes' start and end: each minute's fold falls inside. */
    static final Duration SHIFT = Duration.ofSeconds(30);
    static final Duration SAMPLE_EVERY = Duration.ofSeconds(10);
    /** How far back the lag trend looks. */
    static final Duration TREND = Duration.ofMinutes(5);

    private WideModelBenchmark() {
    }

    /** A run's parameters. */
    record Settings(double rate, int batch, boolean lateLabels, Duration labelDelay, Duration warmup,
            Duration measured, Duration foldWait, long clockTicks, String note) {

        static Settings fromSystemProperties() {
            double rate = Double.parseDouble(System.getProperty("nd.bench.rate", "10"));
            int batch = Integer.parseInt(System.getProperty("nd.bench.batch",
                    Integer.toString((int) Math.max(2, Math.round(rate / 20)))));
            return new Settings(rate, batch, Boolean.parseBoolean(System.getProperty("nd.bench.late-labels",
                    "false")), duration(System.getProperty("nd.bench.label-delay", "30s")),
                    duration(System.getProperty("nd.bench.warmup", "2m")),
                    duration(System.getProperty("nd.bench.measured", "10m")),
                    duration(System.getProperty("nd.bench.fold-wait", "5m")),
                    Long.parseLong(System.getProperty("nd.bench.clock-ticks", "100")),
                    System.getProperty("nd.bench.note", ""));
        }

        String name() {
            return String.format(Locale.ROOT, "%s/s, labels %s", trim(rate), lateLabels
                    ? "half late (+" + words(labelDelay) + ")" : "in record");
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("table")) {
            printTable(Path.of(args[1]));
            return;
        }
        if (args.length != 8 || !args[0].equals("run")) {
            System.err.println("usage: WideModelBenchmark run AGGREGATOR_JAR BOOTSTRAP JDBC_URL USER PASSWORD "
                    + "LAUNCHER_RUN_DIR RESULTS_FILE | table RESULTS_FILE");
            System.exit(2);
        }
        Settings settings = Settings.fromSystemProperties();
        Map<String, String> result = run(settings, Path.of(args[1]), args[2], args[3], args[4], args[5],
                Path.of(args[6]));
        Files.writeString(Path.of(args[7]), encode(result) + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    // ------------------------------------------------------------------------------------------------- one run

    static Map<String, String> run(Settings s, Path jar, String bootstrap, String jdbc, String user,
            String password, Path runDir) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("scenario", s.name());
        ProcessCpu cpu = new ProcessCpu(s.clockTicks());
        long postmaster = ProcessCpu.pidFile(runDir.resolve("postgres/postmaster.pid"));
        long kafka = ProcessCpu.pidFile(runDir.resolve("kafka.pid"));
        String slug = (trim(s.rate()) + (s.lateLabels() ? "-late" : "")).replace('.', '_');
        Path log = jar.toAbsolutePath().getParent().getParent().resolve("wide-model-benchmark-" + slug + ".log");
        System.out.printf(Locale.ROOT, "%n=== wide model: %d taps x %,d neurons, %s; batches of %d observations per "
                + "tap; warm-up %s, measured %s%n", TAPS, NEURONS, s.name(), s.batch(), words(s.warmup()),
                words(s.measured()));
        printSettings(jdbc, user, password);
        try (PackagedAggregator aggregator = PackagedAggregator.start(jar, "512m", bootstrap, jdbc, user, password,
                Map.of(), log); Connection db = DriverManager.getConnection(jdbc, user, password)) {
            aggregator.awaitReady(Duration.ofMinutes(3));
            Generator generator = new Generator(bootstrap, s);
            WindowUpdates updates = new WindowUpdates(bootstrap, generator);
            Sampler sampler = new Sampler(aggregator);
            WatermarkCheck watermarks = new WatermarkCheck(jdbc, user, password, generator);
            updates.start();
            watermarks.start();
            sampler.start();
            Instant started = Instant.now();
            generator.start();
            Instant t0 = started.plus(s.warmup()).truncatedTo(ChronoUnit.MINUTES).plus(Duration.ofMinutes(1));
            long minutes = Math.max(1, (s.measured().toSeconds() + 59) / 60);
            Instant t1 = t0.plus(Duration.ofMinutes(minutes));
            System.out.printf(Locale.ROOT, "started %s; measured minutes %s .. %s; WAL and CPU read at +%ds of each "
                    + "(aggregator log: %s)%n", started.truncatedTo(ChronoUnit.SECONDS), t0, t1, SHIFT.toSeconds(),
                    log);
            out.put("load", loadAverage() + (s.note().isEmpty() ? "" : " (" + s.note() + ")"));
            out.put("warmup", words(Duration.between(started, t0).truncatedTo(ChronoUnit.SECONDS)));
            out.put("measured", minutes + " min");
            sleepUntil(t0.plus(SHIFT), aggregator);
            Snapshot a = Snapshot.take(db, cpu, aggregator, postmaster, kafka);
            sleepUntil(t1.plus(SHIFT), aggregator);
            Snapshot b = Snapshot.take(db, cpu, aggregator, postmaster, kafka);
            out.put("load.end", loadAverage());
            generator.stop(t1);
            sampler.stop();
            Finished finished = awaitFolded(db, t0, t1, generator.sentBetween(t0, t1), s.foldWait());
            updates.stop();
            watermarks.stop();
            report(out, s, a, b, finished, generator, updates, sampler, t0, t1, minutes);
            out.put("watermark", watermarks.summary());
            out.put("aggregator", aggregator.isAlive() ? "alive" : "DIED (see its log)");
        }
        printResult(out);
        return out;
    }

    private static void report(Map<String, String> out, Settings s, Snapshot a, Snapshot b, Finished f,
            Generator generator, WindowUpdates updates, Sampler sampler, Instant t0, Instant t1, long minutes) {
        double seconds = Duration.between(a.at(), b.at()).toMillis() / 1000.0;
        long sent = generator.sentBetween(t0, t1);
        double wal = b.walPosition() - a.walPosition();
        double finishedBytes = f.minuteBytes() + f.exemplarBytes();
        out.put("rate.achieved", String.format(Locale.ROOT, "%.1f/s (%,d sent)", sent / (minutes * 60.0), sent));
        out.put("wal", mb(wal));
        out.put("wal.rate", String.format(Locale.ROOT, "%.2f MB/s", wal / seconds / 1e6));
        out.put("wal.records", String.format(Locale.ROOT, "%,d records, %,d full-page images, %d checkpoints",
                b.walRecords() - a.walRecords(), b.walFpi() - a.walFpi(), b.checkpoints() - a.checkpoints()));
        out.put("rows.minute", String.format(Locale.ROOT, "%,d rows, %s (stored %s)", f.minuteRows(),
                mb(f.minuteBytes()), mb(f.minuteStored())));
        out.put("rows.exemplar", String.format(Locale.ROOT, "%,d rows, %s (stored %s)", f.exemplarRows(),
                mb(f.exemplarBytes()), mb(f.exemplarStored())));
        out.put("rows.finished", mb(finishedBytes));
        double target = s.rate() <= 10 ? 3 : 5;
        out.put("ratio", String.format(Locale.ROOT, "%.2f (target <= %s)", wal / finishedBytes, trim(target)));
        // when the aggregator falls behind, the window holds the writes of fewer observations than the minutes
        // sent: the ratio scaled to what it committed estimates what the minutes will have cost
        double committed = counter(b, a, "nd_aggregator_observations_total") / TAPS;
        out.put("committed", String.format(Locale.ROOT, "%,.0f observations (%.0f %% of those sent), %.0f folds "
                + "(%.0f %% of the minute and exemplar rows)", committed, 100 * committed / sent,
                counter(b, a, "nd_aggregator_minutes_folded_total"), 100 * counter(b, a,
                        "nd_aggregator_minutes_folded_total") / (f.minuteRows() + f.exemplarRows())));
        out.put("ratio.scaled", String.format(Locale.ROOT, "%.2f", wal * sent / committed / finishedBytes));
        out.put("ratio.stored", String.format(Locale.ROOT, "%.2f", wal / (f.minuteStored() + f.exemplarStored())));
        out.put("per.distribution", String.format(Locale.ROOT, "%.0f B (stored %.0f B)", f.medianPerDistribution(),
                f.medianStoredPerDistribution()));
        out.put("deltas", String.format(Locale.ROOT, "%,d deltas, %s (stored %s)", f.deltaCount(),
                mb(f.deltaBytes()), mb(f.deltaStored())));
        out.put("deltas.exemplar", String.format(Locale.ROOT, "%,d, %s", f.exemplarDeltaCount(),
                mb(f.exemplarDeltaBytes())));
        out.put("deltas.late", String.format(Locale.ROOT, "%,d deltas, %s; slice all: %,d tap observations",
                f.lateDeltas(), mb(f.lateBytes()), f.lateObservations()));
        out.put("observations", String.format(Locale.ROOT, "%,d sent; %,d in the last tap's minute rows%s", sent,
                f.rowObservations(), f.folded() ? "" : "; NOT ALL FOLDED within " + words(s.foldWait())));
        List<Sample> measured = sampler.samples().stream()
                .filter(x -> !x.at().isBefore(a.at()) && !x.at().isAfter(b.at())).toList();
        out.put("lag", lag(measured, generator.recordsPerSecond()));
        out.put("flush.p95", String.format(Locale.ROOT, "%.0f ms at the end, max %.0f ms sampled (p50 %.0f ms)",
                1000 * PackagedAggregator.metric(b.metrics(), quantile("0.95")), 1000 * measured.stream()
                        .mapToDouble(Sample::flushP95).filter(x -> !Double.isNaN(x)).max().orElse(Double.NaN),
                1000 * PackagedAggregator.metric(b.metrics(), quantile("0.5"))));
        out.put("visible", updates.latency(t0, t1));
        out.put("heap", String.format(Locale.ROOT, "%.0f MB max sampled (of 512)",
                measured.stream().mapToDouble(Sample::heap).max().orElse(Double.NaN) / 1e6));
        double agg = b.aggregatorCpu() - a.aggregatorCpu();
        double pg = b.postgresCpu() - a.postgresCpu();
        double kafka = b.kafkaCpu() - a.kafkaCpu();
        double gen = b.generatorCpu() - a.generatorCpu();
        out.put("cpu", String.format(Locale.ROOT, "aggregator %.0f s (%.0f %%), PostgreSQL %.0f s (%.0f %%), Kafka "
                + "%.0f s (%.0f %%), generator %.0f s (%.0f %%)", agg, 100 * agg / seconds, pg, 100 * pg / seconds,
                kafka, 100 * kafka / seconds, gen, 100 * gen / seconds));
        out.put("counters", String.format(Locale.ROOT, "folded %.0f, deltas dropped (final) %.0f, observations "
                + "late %.0f, compaction failures %.0f, store failures %.0f, labels joined %.0f",
                counter(b, a, "nd_aggregator_minutes_folded_total"), counter(b, a, "nd_aggregator_deltas_dropped_total"
                        + "\\{[^}]*\\}"), counter(b, a, "nd_aggregator_observations_late_total"),
                counter(b, a, "nd_aggregator_compaction_failures_total"),
                counter(b, a, "nd_aggregator_store_failures_total"),
                counter(b, a, "nd_aggregator_labels_joined_total")));
        // where the WAL went: rows written and bytes grown per table (partitions counted with their table)
        for (Map.Entry<String, long[]> e : b.tables().entrySet()) {
            long[] before = a.tables().getOrDefault(e.getKey(), new long[5]);
            long[] now = e.getValue();
            long[] d = new long[5];
            for (int i = 0; i < 5; i++) {
                d[i] = now[i] - before[i];
            }
            if (d[0] != 0 || d[1] != 0 || d[3] != 0 || d[4] != 0) {
                out.put("table." + e.getKey(), String.format(Locale.ROOT, "%,d ins, %,d upd (%,d HOT), %,d del, "
                        + "%s grown", d[0], d[1], d[2], d[3], mb(d[4])));
            }
        }
    }

    private static double counter(Snapshot b, Snapshot a, String name) {
        return PackagedAggregator.sum(b.metrics(), name) - PackagedAggregator.sum(a.metrics(), name);
    }

    private static String quantile(String q) {
        return "nd_aggregator_flush_seconds\\{[^}]*quantile=\"" + q + "\"[^}]*\\}";
    }

    /** The largest lag sampled, and whether the last {@link #TREND} of samples rises (least-squares slope). */
    static String lag(List<Sample> samples, double recordsPerSecond) {
        if (samples.isEmpty()) {
            return "no samples";
        }
        double max = samples.stream().mapToDouble(Sample::lag).max().orElse(Double.NaN);
        Instant last = samples.get(samples.size() - 1).at();
        List<Sample> tail = samples.stream().filter(x -> !x.at().isBefore(last.minus(TREND))).toList();
        double n = tail.size();
        double mx = 0;
        double my = 0;
        for (Sample x : tail) {
            mx += x.at().toEpochMilli() / 60_000.0 / n;
            my += x.lag() / n;
        }
        double sxy = 0;
        double sxx = 0;
        for (Sample x : tail) {
            double dx = x.at().toEpochMilli() / 60_000.0 - mx;
            sxy += dx * (x.lag() - my);
            sxx += dx * dx;
        }
        double slope = sxx == 0 ? 0 : sxy / sxx;
        double span = Duration.between(tail.get(0).at(), last).toSeconds() / 60.0;
        // rising: the fitted line climbs by more than two seconds' worth of records over the window
        boolean rising = slope * span > Math.max(10, 2 * recordsPerSecond);
        return String.format(Locale.ROOT, "max %.0f records; last %.1f min: %s (slope %+.1f records/min, mean %.0f)",
                max, span, rising ? "RISING" : "flat", slope, my);
    }

    // -------------------------------------------------------------------------------------------- the generator

    /** Observations sent in one event-time minute, and when each became visible per tap (slice all). */
    static final class MinuteLog {
        private long[] sent = new long[64];
        private int sentCount;
        private final long[][] visibleAt = new long[TAPS][64];
        private final int[] visibleCount = new int[TAPS];

        synchronized void sent(long atMillis, int n) {
            for (int i = 0; i < n; i++) {
                if (sentCount == sent.length) {
                    sent = Arrays.copyOf(sent, sent.length * 2);
                }
                sent[sentCount++] = atMillis;
            }
        }

        synchronized int sentCount() {
            return sentCount;
        }

        /** A window update: the tap's window (slice all) holds {@code count} observations as of {@code at}. */
        synchronized void visible(int tap, long count, long atMillis) {
            while (visibleCount[tap] < count) {
                if (visibleCount[tap] == visibleAt[tap].length) {
                    visibleAt[tap] = Arrays.copyOf(visibleAt[tap], visibleAt[tap].length * 2);
                }
                visibleAt[tap][visibleCount[tap]++] = atMillis;
            }
        }

        /** Each observation's time from its event time to visible in every tap; -1 for one not visible yet. */
        synchronized long[] latencies() {
            long[] out = new long[sentCount];
            for (int i = 0; i < sentCount; i++) {
                long last = 0;
                for (int t = 0; t < TAPS; t++) {
                    last = i < visibleCount[t] ? Math.max(last, visibleAt[t][i]) : -1;
                    if (last < 0) {
                        break;
                    }
                }
                out[i] = last < 0 ? -1 : last - sent[i];
            }
            return out;
        }
    }

    /** A daemon thread that runs {@link #loop()} from {@link #start()} until {@link #stop()}. */
    abstract static class Worker {
        private final Thread thread;
        volatile boolean running = true;

        Worker(String name) {
            this.thread = new Thread(this::loop, name);
            thread.setDaemon(true);
        }

        abstract void loop();

        void start() {
            thread.start();
        }

        /** Ends the loop at its next turn and waits for it. */
        void stop() throws InterruptedException {
            running = false;
            thread.join();
        }
    }

    /**
     * Produces the stream on a fixed schedule (a batch every batch/rate seconds, catching up when late), as the
     * inference service publishes it; late labels are sent on nd.labels when due.
     */
    static final class Generator extends Worker {
        private final Settings settings;
        private final KafkaProducer<byte[], byte[]> producer;
        private final SplittableRandom random = new SplittableRandom(15);
        private final float[][] scale = new float[TAPS][NEURONS];
        private final float[][] zeroShare = new float[TAPS][NEURONS];
        private final Map<Long, MinuteLog> minutes = new ConcurrentHashMap<>();
        private final ArrayDeque<PendingLabel> labels = new ArrayDeque<>();
        private final AtomicLong failures = new AtomicLong();
        // per activations partition: each record's offset and its observations' event time (ms)
        private final Map<Integer, java.util.concurrent.ConcurrentSkipListMap<Long, Long>> eventTimes =
                new ConcurrentHashMap<>();
        private long sequence;
        private long behind;

        private record PendingLabel(long dueNanos, String instanceId, int label, Instant eventTime) {
        }

        Generator(String bootstrap, Settings settings) {
            super("generator");
            this.settings = settings;
            // the inference service's producer settings (CapturePipeline)
            this.producer = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap, "key.serializer",
                    ByteArraySerializer.class.getName(), "value.serializer", ByteArraySerializer.class.getName(),
                    "acks", "all", "enable.idempotence", true, "linger.ms", 5, "compression.type", "none"));
            for (int t = 0; t < TAPS; t++) {
                for (int j = 0; j < NEURONS; j++) {
                    // per neuron: a scale spread over about two orders of magnitude, and 30..70 % exact zeros
                    scale[t][j] = (float) Math.exp(random.nextDouble(-2.5, 2.5));
                    zeroShare[t][j] = (float) random.nextDouble(0.3, 0.7);
                }
            }
        }

        double recordsPerSecond() {
            return settings.rate() / settings.batch() * TAPS + (settings.lateLabels() ? settings.rate() / 2 : 0);
        }

        MinuteLog minute(long epochMinute) {
            return minutes.computeIfAbsent(epochMinute, m -> new MinuteLog());
        }

        long sentBetween(Instant from, Instant to) {
            long total = 0;
            for (long m = from.getEpochSecond() / 60; m < to.getEpochSecond() / 60; m++) {
                MinuteLog log = minutes.get(m);
                total += log == null ? 0 : log.sentCount();
            }
            return total;
        }

        @Override
        void loop() {
            long period = Math.round(settings.batch() * 1e9 / settings.rate());
            long next = System.nanoTime();
            while (running) {
                sendDueLabels(System.nanoTime());
                sendBatch();
                next += period;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                } else {
                    behind++;
                }
            }
        }

        private void sendBatch() {
            Instant now = Instant.now();
            Timestamp at = Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()).build();
            List<Observation> observations = new ArrayList<>(settings.batch());
            for (int i = 0; i < settings.batch(); i++) {
                int predicted = random.nextInt(CLASSES);
                int label = random.nextDouble() < 0.9 ? predicted : random.nextInt(CLASSES);
                String id = "w-" + sequence++;
                Observation.Builder o = Observation.newBuilder().setInstanceId(id).setEventTime(at)
                        .setPredictedClass(predicted).setConfidence((float) random.nextDouble(0.3, 1.0));
                if (random.nextDouble() < TAGGED) {
                    o.putTags("source", SOURCES[random.nextInt(SOURCES.length)]);
                }
                if (settings.lateLabels() && random.nextBoolean()) {
                    labels.add(new PendingLabel(System.nanoTime() + settings.labelDelay().toNanos(), id, label, now));
                } else {
                    o.setTrueLabel(label);
                }
                observations.add(o.build());
            }
            for (int t = 0; t < TAPS; t++) {
                ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId(MODEL).setModelVersion(VERSION)
                        .setTap("dense" + t).setTapIndex(t).addTapShape(NEURONS).setNeuronCount(NEURONS)
                        .setReduction(Reduction.REDUCTION_NONE).addAllObservations(observations);
                for (int i = 0; i < observations.size(); i++) {
                    for (int j = 0; j < NEURONS; j++) {
                        b.addActivations(random.nextDouble() < zeroShare[t][j] ? 0f
                                : (float) (scale[t][j] * -Math.log(1 - random.nextDouble())));
                    }
                }
                long eventTime = now.toEpochMilli();
                producer.send(new ProducerRecord<>(ACTIVATIONS, (MODEL + "/dense" + t).getBytes(StandardCharsets.UTF_8),
                        b.build().toByteArray()), (meta, error) -> {
                            if (error != null) {
                                failures.incrementAndGet();
                            } else {
                                eventTimes.computeIfAbsent(meta.partition(),
                                        p -> new java.util.concurrent.ConcurrentSkipListMap<>())
                                        .put(meta.offset(), eventTime);
                            }
                        });
            }
            minute(now.getEpochSecond() / 60).sent(now.toEpochMilli(), observations.size());
        }

        /** The event time of the activation record at {@code offset} of {@code partition}; null if none was sent. */
        Long eventTime(int partition, long offset) {
            Map<Long, Long> m = eventTimes.get(partition);
            return m == null ? null : m.get(offset);
        }

        private void sendDueLabels(long nowNanos) {
            while (!labels.isEmpty() && labels.peek().dueNanos() <= nowNanos) {
                sendLabel(labels.poll());
            }
        }

        private void sendLabel(PendingLabel l) {
            Instant now = Instant.now();
            send(LABELS, l.instanceId().getBytes(StandardCharsets.UTF_8), LabelEvent.newBuilder().setModelId(MODEL)
                    .setInstanceId(l.instanceId()).setTrueLabel(l.label()).setLabelledAt(Timestamp.newBuilder()
                            .setSeconds(now.getEpochSecond()).setNanos(now.getNano())).build().toByteArray());
        }

        private void send(String topic, byte[] key, byte[] value) {
            producer.send(new ProducerRecord<>(topic, key, value), (meta, error) -> {
                if (error != null) {
                    failures.incrementAndGet();
                }
            });
        }

        /** Stops producing; the late labels of observations before {@code until} still waiting are sent now. */
        void stop(Instant until) throws InterruptedException {
            stop();
            for (PendingLabel l : labels) {
                if (l.eventTime().isBefore(until)) {
                    sendLabel(l);
                }
            }
            producer.flush();
            producer.close();
            if (failures.get() > 0 || behind > 0) {
                System.out.printf(Locale.ROOT, "generator: %d sends failed, %d batches sent late%n", failures.get(),
                        behind);
            }
        }
    }

    // ------------------------------------------------------------------------------ visibility and sampling

    /** Follows the aggregator's window-updated events: when each minute's count (slice all) grew, per tap. */
    static final class WindowUpdates extends Worker {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final Generator generator;

        WindowUpdates(String bootstrap, Generator generator) {
            super("window-updates");
            this.generator = generator;
            this.consumer = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap, "key.deserializer",
                    ByteArrayDeserializer.class.getName(), "value.deserializer",
                    ByteArrayDeserializer.class.getName(), "enable.auto.commit", false));
            List<TopicPartition> partitions = consumer.partitionsFor(WINDOW_UPDATES).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
        }

        @Override
        void loop() {
            try {
                while (running) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        take(r.value());
                    }
                }
            } finally {
                consumer.close();
            }
        }

        private void take(byte[] value) {
            WindowUpdate u;
            try {
                u = WindowUpdate.parseFrom(value);
            } catch (InvalidProtocolBufferException e) {
                return;
            }
            if (u.getModelId().equals(MODEL) && u.getSlice().hasAll() && u.getWindow().getGranularity()
                    == ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_MINUTE) {
                long at = u.getCommittedAt().getSeconds() * 1000 + u.getCommittedAt().getNanos() / 1_000_000;
                generator.minute(u.getWindow().getStart().getSeconds() / 60).visible(u.getTapIndex(),
                        u.getObservationCount(), at);
            }
        }

        /** p50, p95 and max of event time to visible (every tap) over the observations of the minutes given. */
        String latency(Instant from, Instant to) {
            List<Long> all = new ArrayList<>();
            long unseen = 0;
            for (long m = from.getEpochSecond() / 60; m < to.getEpochSecond() / 60; m++) {
                for (long l : generator.minute(m).latencies()) {
                    if (l < 0) {
                        unseen++;
                    } else {
                        all.add(l);
                    }
                }
            }
            if (all.isEmpty()) {
                return "no window updates seen";
            }
            long[] sorted = all.stream().mapToLong(Long::longValue).sorted().toArray();
            return String.format(Locale.ROOT, "p50 %d ms, p95 %d ms, max %d ms%s", sorted[sorted.length / 2],
                    sorted[(int) Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)],
                    sorted[sorted.length - 1], unseen == 0 ? "" : String.format(Locale.ROOT, " (%,d not seen)",
                            unseen));
        }
    }

    /**
     * Checks the stored watermarks against the stream every half second: for each activations partition, whether
     * its stored watermark is past the event time of its first record not committed yet (the record at its stored
     * next offset), and whether the group's watermark (what the compaction folds by) has completed that record's
     * minute: a minute folded then misses the record, which becomes a late delta.
     */
    static final class WatermarkCheck extends Worker {
        private final Connection db;
        private final Generator generator;
        private long reads;
        private long ahead;
        private long maxAheadMillis;
        private long early;
        private final java.util.Set<Instant> earlyMinutes = new java.util.TreeSet<>();

        WatermarkCheck(String jdbc, String user, String password, Generator generator) throws SQLException {
            super("watermark-check");
            this.db = DriverManager.getConnection(jdbc, user, password);
            this.generator = generator;
        }

        @Override
        void loop() {
            try (db; PreparedStatement ps = db.prepareStatement("SELECT kafka_partition, next_offset, watermark, "
                    + "(SELECT min(watermark) FROM consumer_offset WHERE consumer_group = 'nd-aggregator' "
                    + "AND topic IN ('" + ACTIVATIONS + "', '" + LABELS + "')) FROM consumer_offset "
                    + "WHERE consumer_group = 'nd-aggregator' AND topic = '" + ACTIVATIONS + "'")) {
                while (running) {
                    try (ResultSet rs = ps.executeQuery()) {
                        synchronized (this) {
                            reads++;
                            while (rs.next()) {
                                java.sql.Timestamp w = rs.getTimestamp(3);
                                java.sql.Timestamp group = rs.getTimestamp(4);
                                Long event = generator.eventTime(rs.getInt(1), rs.getLong(2));
                                if (w == null || event == null || event >= w.getTime()) {
                                    continue;
                                }
                                ahead++;
                                maxAheadMillis = Math.max(maxAheadMillis, w.getTime() - event);
                                if (group != null && event / 60_000 < group.getTime() / 60_000) {
                                    early++;
                                    earlyMinutes.add(Instant.ofEpochSecond(event / 60_000 * 60));
                                }
                            }
                        }
                    }
                    LockSupport.parkNanos(Duration.ofMillis(500).toNanos());
                }
            } catch (SQLException e) {
                System.out.println("watermark check stopped: " + e);
            }
        }

        synchronized String summary() {
            return String.format(Locale.ROOT, "%,d reads: a partition's watermark past its first uncommitted "
                    + "record's event time in %,d (by up to %,d ms); that record's minute complete by the group's "
                    + "watermark in %,d%s", reads, ahead, maxAheadMillis, early, earlyMinutes.isEmpty() ? ""
                            : " (minutes " + earlyMinutes.stream().map(i -> i.toString().substring(11, 16)).toList()
                                    + ")");
        }
    }

    record Sample(Instant at, double lag, double flushP95, double heap) {
    }

    /** Reads the aggregator's metrics every {@link #SAMPLE_EVERY}. */
    static final class Sampler extends Worker {
        private final PackagedAggregator aggregator;
        private final List<Sample> samples = new CopyOnWriteArrayList<>();

        Sampler(PackagedAggregator aggregator) {
            super("sampler");
            this.aggregator = aggregator;
        }

        @Override
        void loop() {
            while (running) {
                try {
                    String m = aggregator.metrics();
                    samples.add(new Sample(Instant.now(), PackagedAggregator.metric(m,
                            "nd_aggregator_consumer_lag(\\{[^}]*\\})?"), PackagedAggregator.metric(m,
                            quantile("0.95")), PackagedAggregator.sum(m,
                            "jvm_memory_used_bytes\\{[^}]*area=\"heap\"[^}]*\\}")));
                } catch (IOException e) {
                    // not answering: a gap in the samples
                } catch (InterruptedException e) {
                    return;
                }
                LockSupport.parkNanos(SAMPLE_EVERY.toNanos());
            }
        }

        /** Not waited for: it may be asleep for a whole {@link #SAMPLE_EVERY}. */
        @Override
        void stop() {
            running = false;
        }

        List<Sample> samples() {
            return samples;
        }
    }

    // -------------------------------------------------------------------------------------- PostgreSQL readings

    /** What the server, the processes and the aggregator had done at one moment. */
    record Snapshot(Instant at, double walPosition, long walRecords, long walFpi, long checkpoints,
            Map<String, long[]> tables, double aggregatorCpu, double postgresCpu, double kafkaCpu,
            double generatorCpu, String metrics) {

        static Snapshot take(Connection c, ProcessCpu cpu, PackagedAggregator aggregator, long postmaster,
                long kafka) throws SQLException, IOException, InterruptedException {
            Instant at = Instant.now();
            double position;
            long records;
            long fpi;
            long checkpoints;
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_wal_lsn_diff("
                    + "pg_current_wal_lsn(), '0/0'), w.wal_records, w.wal_fpi, b.checkpoints_timed + "
                    + "b.checkpoints_req FROM pg_stat_wal w, pg_stat_bgwriter b")) {
                rs.next();
                position = rs.getDouble(1);
                records = rs.getLong(2);
                fpi = rs.getLong(3);
                checkpoints = rs.getLong(4);
            }
            Map<String, long[]> tables = new TreeMap<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT coalesce("
                    + "pg_partition_root(relid), relid::regclass)::text, sum(n_tup_ins), sum(n_tup_upd), "
                    + "sum(n_tup_hot_upd), sum(n_tup_del), sum(pg_total_relation_size(relid)) "
                    + "FROM pg_stat_user_tables WHERE schemaname NOT LIKE 'pg_temp%' GROUP BY 1")) {
                while (rs.next()) {
                    tables.put(rs.getString(1), new long[] {rs.getLong(2), rs.getLong(3), rs.getLong(4),
                        rs.getLong(5), rs.getLong(6)});
                }
            }
            return new Snapshot(at, position, records, fpi, checkpoints, tables, cpu.seconds(aggregator.pid()),
                    cpu.postgresSeconds(postmaster), cpu.seconds(kafka), ProcessCpu.ownSeconds(),
                    aggregator.metrics());
        }
    }

    /** The measured minutes as stored once folded. */
    record Finished(boolean folded, long minuteRows, double minuteBytes, double minuteStored,
            double medianPerDistribution, double medianStoredPerDistribution, long exemplarRows,
            double exemplarBytes, double exemplarStored, long rowObservations, long deltaCount, double deltaBytes,
            double deltaStored, long exemplarDeltaCount, double exemplarDeltaBytes, long lateDeltas,
            long lateObservations, double lateBytes) {
    }

    /**
     * Waits until the measured minutes are folded: every tap has its row (slice all) for every minute, every
     * observation sent is in a row or an unfolded delta of every tap (the aggregator caught up), and no unfolded delta
     * (window or exemplar) is left for a window without a row. What remains unfolded then are late deltas: they came
     * after their minute was folded, and wait for its finality. Then reads what is stored.
     */
    static Finished awaitFolded(Connection c, Instant t0, Instant t1, long sent, Duration timeout)
            throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long minutes = Duration.between(t0, t1).toMinutes();
        Object[] range = {MODEL, java.sql.Timestamp.from(t0), java.sql.Timestamp.from(t1)};
        boolean folded = false;
        while (!folded && System.nanoTime() < deadline) {
            Object[] orphans = query(c, "SELECT (SELECT count(*) FROM window_delta d WHERE NOT d.folded "
                    + "AND d.model_id = ? AND d.window_start >= ? AND d.window_start < ? AND NOT EXISTS (SELECT 1 "
                    + "FROM tap_window w WHERE w.model_id = d.model_id AND w.model_version = d.model_version "
                    + "AND w.tap = d.tap AND w.block = d.block AND w.granularity = 'minute' "
                    + "AND w.window_start = d.window_start)) + (SELECT count(*) FROM exemplar_delta d "
                    + "WHERE NOT d.folded AND d.model_id = ? AND d.window_start >= ? AND d.window_start < ? "
                    + "AND NOT EXISTS (SELECT 1 FROM neuron_exemplars x WHERE x.model_id = d.model_id "
                    + "AND x.model_version = d.model_version AND x.tap = d.tap AND x.block = d.block "
                    + "AND x.window_start = d.window_start))",
                    range[0], range[1], range[2], range[0], range[1], range[2]);
            // a tap's minute is folded when each of its blocks has its row; a tap's count is its blocks' minimum
            Object[] rows = query(c, "SELECT count(DISTINCT (tap, window_start)) FROM tap_window WHERE model_id = ? "
                    + "AND slice = 'all' AND granularity = 'minute' AND window_start >= ? AND window_start < ?", range);
            Object[] taps = query(c, "SELECT count(DISTINCT tap), coalesce(min(n), 0) FROM (SELECT tap, block, "
                    + "sum(observation_count) n FROM (SELECT tap, block, observation_count FROM tap_window WHERE "
                    + "model_id = ? AND slice = 'all' AND granularity = 'minute' AND window_start >= ? AND "
                    + "window_start < ? UNION ALL SELECT tap, block, observation_count FROM window_delta WHERE NOT "
                    + "folded AND model_id = ? AND 'all' = ANY(slices) AND window_start >= ? AND window_start < ?) x "
                    + "GROUP BY tap, block) y",
                    range[0], range[1], range[2], range[0], range[1], range[2]);
            folded = l(orphans[0]) == 0 && l(rows[0]) == TAPS * minutes && l(taps[0]) == TAPS
                    && l(taps[1]) >= sent;
            if (!folded) {
                Thread.sleep(2_000);
            }
        }
        // one more compaction pass (every 5 s) may still be folding the exemplars of the last minute
        Thread.sleep(6_000);
        Object[] rows = query(c, "SELECT count(*), coalesce(sum(octet_length(w.distributions)), 0), "
                + "coalesce(sum(pg_column_size(w.distributions)), 0), percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                + "octet_length(w.distributions)::float8 / least(t.block_size, t.neuron_count - w.block * "
                + "t.block_size)), percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_column_size(w.distributions)::float8 "
                + "/ least(t.block_size, t.neuron_count - w.block * t.block_size)) FROM tap_window w JOIN tap t "
                + "USING (model_id, model_version, tap) WHERE w.model_id = ? AND w.granularity = 'minute' "
                + "AND w.window_start >= ? AND w.window_start < ?", range);
        Object[] exemplars = query(c, "SELECT count(*), coalesce(sum(octet_length(exemplars)), 0), "
                + "coalesce(sum(pg_column_size(exemplars)), 0) FROM neuron_exemplars WHERE model_id = ? "
                + "AND window_start >= ? AND window_start < ?", range);
        Object[] inRows = query(c, "SELECT coalesce(min(n), 0) FROM (SELECT block, sum(observation_count) n FROM "
                + "tap_window WHERE model_id = ? AND tap = 'dense" + (TAPS - 1) + "' AND slice = 'all' AND granularity "
                + "= 'minute' AND window_start >= ? AND window_start < ? GROUP BY block) b", range);
        Object[] deltas = query(c, "SELECT count(*), coalesce(sum(octet_length(activations)), 0), "
                + "coalesce(sum(pg_column_size(activations)), 0) FROM window_delta WHERE model_id = ? "
                + "AND window_start >= ? AND window_start < ?", range);
        Object[] exemplarDeltas = query(c, "SELECT count(*), coalesce(sum(octet_length(exemplars)), 0) "
                + "FROM exemplar_delta WHERE model_id = ? AND window_start >= ? AND window_start < ?", range);
        Object[] late = query(c, "SELECT count(*), coalesce(sum(observation_count) FILTER (WHERE 'all' = ANY(slices)), 0), "
                + "coalesce(sum(octet_length(activations)), 0) "
                + "FROM window_delta WHERE NOT folded AND model_id = ? AND window_start >= ? AND window_start < ?",
                range);
        return new Finished(folded, l(rows[0]), d(rows[1]), d(rows[2]), d(rows[3]), d(rows[4]), l(exemplars[0]),
                d(exemplars[1]), d(exemplars[2]), l(inRows[0]), l(deltas[0]), d(deltas[1]), d(deltas[2]),
                l(exemplarDeltas[0]), d(exemplarDeltas[1]), l(late[0]), l(late[1]), d(late[2]));
    }

    private static Object[] query(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Object[] out = new Object[rs.getMetaData().getColumnCount()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = rs.getObject(i + 1);
                }
                return out;
            }
        }
    }

    private static long l(Object o) {
        return o == null ? 0 : ((Number) o).longValue();
    }

    private static double d(Object o) {
        return o == null ? Double.NaN : ((Number) o).doubleValue();
    }

    private static void printSettings(String jdbc, String user, String password) throws SQLException {
        String settings = BenchQueries.one(jdbc, user, password, "SELECT string_agg(name || '=' || setting || "
                + "coalesce(unit, ''), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('server_version', "
                + "'shared_buffers', 'synchronous_commit', 'fsync', 'full_page_writes', 'wal_compression', "
                + "'wal_level', 'checkpoint_timeout', 'max_wal_size', 'default_toast_compression', 'autovacuum')",
                rs -> rs.getString(1));
        System.out.println("PostgreSQL (the launcher's settings): " + settings);
    }

    // ------------------------------------------------------------------------------------------------ output

    private static final String[][] ROWS = {
        {"load", "1-min load average at start"},
        {"load.end", "1-min load average at end"},
        {"warmup", "warm-up (to the next whole minute)"},
        {"measured", "measured"},
        {"rate.achieved", "observations in the measured minutes"},
        {"wal", "WAL over the measured minutes"},
        {"wal.rate", "WAL rate"},
        {"wal.records", "WAL records"},
        {"rows.minute", "minute rows of those minutes (octet_length)"},
        {"rows.exemplar", "exemplar rows of those minutes"},
        {"rows.finished", "finished-row bytes"},
        {"ratio", "WAL / finished-row bytes"},
        {"committed", "committed in the WAL window"},
        {"ratio.scaled", "WAL / finished-row bytes, scaled to what was committed"},
        {"ratio.stored", "WAL / finished rows as stored (pg_column_size)"},
        {"per.distribution", "median bytes per stored distribution"},
        {"deltas", "window deltas of those minutes"},
        {"deltas.exemplar", "exemplar deltas of those minutes"},
        {"deltas.late", "late deltas awaiting the final fold"},
        {"observations", "observations (slice all)"},
        {"lag", "consumer lag (every 10 s)"},
        {"flush.p95", "flush p95"},
        {"visible", "event time -> visible (all taps)"},
        {"heap", "aggregator heap"},
        {"cpu", "CPU over the measured window"},
        {"counters", "aggregator counters (window)"},
        {"watermark", "stored watermarks against the stream (whole run)"},
        {"aggregator", "aggregator at the end"},
    };

    private static void printResult(Map<String, String> result) {
        System.out.println("--- " + result.get("scenario"));
        for (String[] row : ROWS) {
            if (result.containsKey(row[0])) {
                System.out.printf(Locale.ROOT, "%-48s %s%n", row[1], result.get(row[0]));
            }
        }
        result.forEach((k, v) -> {
            if (k.startsWith("table.")) {
                System.out.printf(Locale.ROOT, "  %-46s %s%n", k.substring("table.".length()), v);
            }
        });
    }

    /** Prints every run of the results file as one table: a column per run, then each run's per-table rows. */
    static void printTable(Path file) throws IOException {
        List<Map<String, String>> runs = Files.readAllLines(file, StandardCharsets.UTF_8).stream()
                .filter(l -> !l.isBlank()).map(WideModelBenchmark::decode).toList();
        if (runs.isEmpty()) {
            System.out.println("no wide-model runs recorded in " + file);
            return;
        }
        StringBuilder sb = new StringBuilder("\n| |");
        runs.forEach(r -> sb.append(' ').append(r.get("scenario")).append(" |"));
        sb.append("\n|---|");
        runs.forEach(r -> sb.append("---|"));
        for (String[] row : ROWS) {
            sb.append("\n| ").append(row[1]).append(" |");
            runs.forEach(r -> sb.append(' ').append(r.getOrDefault(row[0], "")).append(" |"));
        }
        for (Map<String, String> r : runs) {
            sb.append("\n\nWhere the WAL went, ").append(r.get("scenario")).append(" (rows and bytes per table "
                    + "over the measured window, partitions with their table):\n\n| table | rows and bytes |\n|---|---|");
            r.forEach((k, v) -> {
                if (k.startsWith("table.")) {
                    sb.append("\n| ").append(k.substring("table.".length())).append(" | ").append(v).append(" |");
                }
            });
        }
        System.out.println(sb);
    }

    private static String encode(Map<String, String> m) {
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : "\t").append(k).append('=')
                .append(v.replace('\t', ' ').replace('\n', ' ')));
        return sb.toString();
    }

    private static Map<String, String> decode(String line) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String field : line.split("\t")) {
            int eq = field.indexOf('=');
            m.put(field.substring(0, eq), field.substring(eq + 1));
        }
        return m;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** "90s", "2m", "1h", or an ISO-8601 duration. */
    static Duration duration(String text) {
        String t = text.trim();
        if (t.startsWith("P") || t.startsWith("p")) {
            return Duration.parse(t);
        }
        long n = Long.parseLong(t.substring(0, t.length() - 1));
        return switch (t.charAt(t.length() - 1)) {
            case 's' -> Duration.ofSeconds(n);
            case 'm' -> Duration.ofMinutes(n);
            case 'h' -> Duration.ofHours(n);
            default -> throw new IllegalArgumentException("a duration is <n>s, <n>m or <n>h, got " + text);
        };
    }

    static String words(Duration d) {
        long s = d.toSeconds();
        return s % 60 == 0 ? s / 60 + " min" : s >= 60 ? s / 60 + " min " + s % 60 + " s" : s + " s";
    }

    private static String trim(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }

    private static String mb(double bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    private static void sleepUntil(Instant when, PackagedAggregator aggregator) throws InterruptedException {
        while (Instant.now().isBefore(when)) {
            if (!aggregator.isAlive()) {
                System.out.println("the aggregator exited: measuring what it left");
                return;
            }
            Thread.sleep(Math.min(1_000, Math.max(1, Duration.between(Instant.now(), when).toMillis())));
        }
    }
}

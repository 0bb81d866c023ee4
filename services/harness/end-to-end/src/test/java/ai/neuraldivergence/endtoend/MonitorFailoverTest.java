package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.CreateMonitorRequest;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.ListMonitorsRequest;
import ai.neuraldivergence.proto.v1.Monitor;
import ai.neuraldivergence.proto.v1.MonitorDefinition;
import ai.neuraldivergence.proto.v1.MonitorHistoryRequest;
import ai.neuraldivergence.proto.v1.MonitorState;
import ai.neuraldivergence.proto.v1.MonitorTransition;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import ai.neuraldivergence.testkit.Watermarks;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Two packaged comparison replicas share the monitors, as the chart runs them. The minutes are stored sketches at
 * event times an hour or more back, made complete by the aggregator's watermark, which the test moves itself: the
 * monitor's minutes advance when the test says, and only the lease's own timing runs on the wall clock.
 * <ol>
 * <li>A monitor created after drift began back-fills: drifting since the first drifted minute.</li>
 * <li>The lease holder is killed (SIGKILL) mid-drift: the other takes over within the lease's bound (its time to
 * live and one renewal period), evaluates the next minutes and keeps {@code since}; no new transition.</li>
 * <li>The killed one, restarted, resumes the same state without a new transition.</li>
 * <li>The holder is frozen (SIGSTOP) past its lease; the restarted one takes over and records the drift's end; the
 * frozen one, resumed, writes nothing (every row after the freeze carries the new holder's epoch).</li>
 * </ol>
 * Every watcher of either replica receives each transition it was connected for once, in the order stored.
 */
class MonitorFailoverTest {

    private static final String MODEL = "failover-model";
    private static final String MONITOR = "failover-drift";
    private static final String PREFIX = "failover";
    /** The first stored minute: recent enough that no retention or pruning touches what the test reads. */
    private static final Instant T0 = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(2));
    private static final int MINUTES = 40;
    /** The drift: every neuron moved by one standard deviation from this minute to the one before {@link #CALM}. */
    private static final int ONSET = 12;
    private static final int CALM = 30;
    private static final int PER_MINUTE = 300;
    /** The lease's time to live (the default) and how often a replica renews or tries to take it. */
    private static final Duration TTL = Duration.ofSeconds(15);
    private static final Duration RENEWAL = Duration.ofSeconds(5);
    private static final Duration STARTUP = Duration.ofSeconds(120);
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void oneReplicaEvaluatesAtATimeAndATakeoverLosesAndRepeatsNothing() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String db = infra.newDatabase("failover");
        Flyway.configure().dataSource(db, TestInfrastructure.DB_USER, TestInfrastructure.DB_PASSWORD).load().migrate();
        PGSimpleDataSource owner = new PGSimpleDataSource();
        owner.setURL(db);
        owner.setUser(TestInfrastructure.DB_USER);
        owner.setPassword(TestInfrastructure.DB_PASSWORD);
        seed(owner);

        Map<String, String> env = ServiceProcess.isolated(db, PREFIX);
        List<Replica> replicas = new ArrayList<>();
        try (Services services = new Services()) {
            ServiceProcess first = services.startComparison(env, "failover-comparison-1");
            ServiceProcess second = services.startComparison(env, "failover-comparison-2");
            first.awaitReady(STARTUP);
            second.awaitReady(STARTUP);
            replicas.add(new Replica(first));
            replicas.add(new Replica(second));

            Replica any = replicas.get(0);
            any.api().createReference(CreateReferenceRequest.newBuilder().setModelId(MODEL).setName("calm")
                    .setRange(range(T0, minute(10))).build());
            watermark(owner, minute(20));
            any.api().createMonitor(CreateMonitorRequest.newBuilder().setMonitor(MonitorDefinition.newBuilder()
                    .setName(MONITOR).setModelId(MODEL).setTap("dense").setReference("calm").setThreshold(0.25)
                    .setWindowsInARow(2)).build());

            // 1. back-filled: the minute ending at ONSET + 1 is the first over the threshold, the next confirms it
            Instant since = minute(ONSET + 1);
            for (Replica r : replicas) {
                Monitor m = r.awaitEvaluated(minute(20));
                assertEquals(MonitorState.MONITOR_STATE_DRIFTING, m.getState(), m.toString());
                assertEquals(since.getEpochSecond(), m.getSince().getSeconds(), m.toString());
            }
            assertEquals(1, storedTransitions(owner), "one transition: ok to drifting");
            long drifting = replicas.get(0).api().getMonitorHistory(MonitorHistoryRequest.newBuilder()
                    .setName(MONITOR).build()).getTransitions(0).getId();
            for (Replica r : replicas) {
                r.awaitTransitions(List.of(drifting));
            }

            // 2. the holder killed mid-drift: the other takes over within the lease's bound and keeps since
            Replica killed = awaitSoleHolder(replicas);
            Replica survivor = replicas.get(1 - replicas.indexOf(killed));
            Instant killedAt = Instant.now();
            killed.process().kill();
            watermark(owner, minute(25));
            // the lease's bound: its time to live after the last renewal, then the survivor's next try; and one
            // period more for a loaded machine
            Duration takeover = survivor.awaitHolding(killedAt, TTL.plus(RENEWAL).plus(RENEWAL));
            System.out.printf("lease taken over %d ms after the holder was killed%n", takeover.toMillis());
            Monitor resumed = survivor.awaitEvaluated(minute(25));
            assertEquals(MonitorState.MONITOR_STATE_DRIFTING, resumed.getState(), resumed.toString());
            assertEquals(since.getEpochSecond(), resumed.getSince().getSeconds(), "since unchanged by the takeover");
            assertEquals(1, storedTransitions(owner), "no new transition after the takeover");

            // 3. the killed one restarted: the same state, no new transition, not evaluating
            ServiceProcess restartedProcess = services.startComparison(env, "failover-comparison-1");
            restartedProcess.awaitReady(STARTUP);
            Replica restarted = new Replica(restartedProcess);
            replicas.add(restarted);
            Monitor seen = restarted.awaitEvaluated(minute(25));
            assertEquals(MonitorState.MONITOR_STATE_DRIFTING, seen.getState(), seen.toString());
            assertEquals(since.getEpochSecond(), seen.getSince().getSeconds());
            assertEquals(0, restarted.metric("nd_comparison_monitor_lease_held"), "the survivor still evaluates");
            assertEquals(1, storedTransitions(owner));

            // 4. the holder frozen past its lease: the restarted one takes over, resumes from the stored evaluation
            long frozenEpoch = leaseEpoch(owner);
            survivor.process().signal("STOP");
            try {
                Duration frozenFor = restarted.awaitHolding(Instant.now(), TTL.plus(RENEWAL).plus(RENEWAL));
                System.out.printf("lease taken over %d ms after the holder was frozen%n", frozenFor.toMillis());
                watermark(owner, minute(27));
                Monitor later = restarted.awaitEvaluated(minute(27));
                assertEquals(MonitorState.MONITOR_STATE_DRIFTING, later.getState(), later.toString());
                assertEquals(since.getEpochSecond(), later.getSince().getSeconds());
                assertEquals(1, storedTransitions(owner), "the new holder resumed without a new transition");
                // the drift ends: the minute ending at CALM + 1 is the first under the threshold, the next confirms it
                watermark(owner, minute(35));
                Monitor calm = restarted.awaitEvaluated(minute(35));
                assertEquals(MonitorState.MONITOR_STATE_OK, calm.getState(), calm.toString());
                assertEquals(minute(CALM + 1).getEpochSecond(), calm.getSince().getSeconds(), calm.toString());
            } finally {
                survivor.process().signal("CONT");
            }
            // resumed, the frozen one writes nothing: its scheduled evaluations and renewals run, all of them fenced
            Thread.sleep(RENEWAL.plus(RENEWAL).toMillis());
            assertTrue(leaseEpoch(owner) > frozenEpoch);
            assertEquals(0, rowsWrittenUnder(owner, frozenEpoch, minute(25)),
                    "no evaluation or state written under the frozen holder's epoch after it was frozen");
            assertEquals(0, survivor.metric("nd_comparison_monitor_lease_held"));
            assertEquals(1, restarted.metric("nd_comparison_monitor_lease_held"));
            assertEquals(2, storedTransitions(owner), "drifting, then ok: nothing else");

            // every watcher: each transition stored while it watched, once, in order
            // read through a replica that is up (the killed one may be either of the first two)
            List<MonitorTransition> history = restarted.api().getMonitorHistory(MonitorHistoryRequest
                    .newBuilder().setName(MONITOR).build()).getTransitionsList();
            List<Long> stored = history.stream().map(MonitorTransition::getId).sorted().toList();
            assertEquals(2, stored.size(), history.toString());
            assertEquals(drifting, stored.get(0));
            assertEquals(List.of(drifting), killed.transitionIds(), "the killed replica's watcher, until the kill");
            survivor.awaitTransitions(stored);
            restarted.awaitTransitions(List.of(stored.get(1)));
            Thread.sleep(RENEWAL.toMillis());
            assertEquals(stored, survivor.transitionIds(), "the frozen replica's watcher, after it resumed");
            assertEquals(List.of(stored.get(1)), restarted.transitionIds(), "the restarted replica's watcher");
        } finally {
            replicas.forEach(Replica::close);
        }
    }

    /** The end of minute {@code m} of the stream (the start of the next). */
    private static Instant minute(int m) {
        return T0.plusSeconds(60L * m);
    }

    /** Every minute of the stream, stored as the aggregator stores it: a 4-neuron tap, N(0, 1), moved while drifting. */
    private static void seed(PGSimpleDataSource owner) throws Exception {
        TapDescriptor tap = new TapDescriptor(MODEL, "v1", "dense", 0, new int[] {4}, 4, Reduction.NONE);
        TapWindowStore windows = new TapWindowStore(owner);
        Random random = new Random(17);
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            new CatalogStore(owner).register(c, tap);
            for (int m = 0; m < MINUTES; m++) {
                double shift = m >= ONSET && m < CALM ? 1.0 : 0;
                TapDistribution d = new TapDistribution(4, 200);
                for (int i = 0; i < PER_MINUTE; i++) {
                    float[] values = new float[4];
                    for (int n = 0; n < values.length; n++) {
                        values[n] = (float) (random.nextGaussian() + shift);
                    }
                    d.add(values, 0);
                }
                windows.merge(c, new WindowKey(MODEL, "v1", "dense", Slice.ALL, Granularity.MINUTE, minute(m)), d);
            }
            c.commit();
        }
    }

    /** The aggregator's watermark at {@code at} (its default consumer group, this test's topics). */
    private static void watermark(PGSimpleDataSource owner, Instant at) throws Exception {
        Watermarks.advance(owner, Watermarks.DEFAULT_GROUP, List.of(PREFIX + ".activations", PREFIX + ".labels"), at);
    }

    private static long storedTransitions(PGSimpleDataSource owner) throws Exception {
        return count(owner, "SELECT count(*) FROM monitor_transition WHERE monitor = ?", MONITOR);
    }

    private static long leaseEpoch(PGSimpleDataSource owner) throws Exception {
        return count(owner, "SELECT epoch FROM monitor_lease WHERE name = 'monitors'");
    }

    /** Evaluations of minutes after {@code after}, and states, written under {@code epoch}. */
    private static long rowsWrittenUnder(PGSimpleDataSource owner, long epoch, Instant after) throws Exception {
        return count(owner, "SELECT (SELECT count(*) FROM monitor_evaluation WHERE epoch = ? AND window_end > ?) + "
                + "(SELECT count(*) FROM monitor_state WHERE epoch = ?)", epoch, java.sql.Timestamp.from(after), epoch);
    }

    private static long count(PGSimpleDataSource owner, String sql, Object... values) throws Exception {
        try (Connection c = owner.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < values.length; i++) {
                ps.setObject(i + 1, values[i]);
            }
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static TimeRange range(Instant from, Instant to) {
        return TimeRange.newBuilder().setFrom(ts(from)).setTo(ts(to)).build();
    }

    private static Timestamp ts(Instant at) {
        return Timestamp.newBuilder().setSeconds(at.getEpochSecond()).build();
    }

    /** The replica the lease says evaluates, once exactly one reports holding it. */
    private static Replica awaitSoleHolder(List<Replica> replicas) throws Exception {
        long deadline = System.nanoTime() + TTL.plus(RENEWAL).toNanos();
        while (System.nanoTime() < deadline) {
            List<Replica> holding = new ArrayList<>();
            for (Replica r : replicas) {
                if (r.metric("nd_comparison_monitor_lease_held") == 1) {
                    holding.add(r);
                }
            }
            if (holding.size() == 1) {
                return holding.get(0);
            }
            Thread.sleep(250);
        }
        throw new AssertionError("no single replica holds the monitors' lease");
    }

    /** One replica: its process, a client, and a watcher of the model's monitor transitions since it started. */
    private record Replica(ServiceProcess process, ManagedChannel channel, List<MonitorTransition> watched) {

        Replica(ServiceProcess process) {
            this(process, ManagedChannelBuilder.forAddress("127.0.0.1", process.port()).usePlaintext().build(),
                    Collections.synchronizedList(new ArrayList<>()));
            ComparisonServiceGrpc.newStub(channel).watch(WatchRequest.newBuilder().setModelId(MODEL)
                    .setIncludeMonitors(true).build(), new StreamObserver<>() {
                        @Override
                        public void onNext(WatchEvent event) {
                            if (event.hasMonitorTransition()) {
                                watched.add(event.getMonitorTransition());
                            }
                        }

                        @Override
                        public void onError(Throwable t) {
                            // the replica was killed or the test ended: what was received is what is checked
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
        }

        ComparisonServiceGrpc.ComparisonServiceBlockingStub api() {
            return ComparisonServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        }

        List<Long> transitionIds() {
            synchronized (watched) {
                return watched.stream().map(MonitorTransition::getId).toList();
            }
        }

        void awaitTransitions(List<Long> ids) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline && transitionIds().size() < ids.size()) {
                Thread.sleep(200);
            }
            assertEquals(ids, transitionIds(), process + ": the transitions its watcher received");
        }

        /** The monitor as this replica lists it, once its newest evaluation closed {@code end} (at most 60 s). */
        Monitor awaitEvaluated(Instant end) throws InterruptedException {
            return await(m -> m.hasWindow() && m.getWindow().getTo().getSeconds() == end.getEpochSecond(),
                    "evaluated up to " + end);
        }

        private Monitor await(Predicate<Monitor> done, String what) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            Monitor last = null;
            while (System.nanoTime() < deadline) {
                List<Monitor> listed = api().listMonitors(ListMonitorsRequest.newBuilder().setModelId(MODEL).build())
                        .getMonitorsList();
                last = listed.isEmpty() ? null : listed.get(0);
                if (last != null && done.test(last)) {
                    return last;
                }
                Thread.sleep(250);
            }
            throw new AssertionError(process + ": not " + what + ": " + last + "\n" + process.logTail(40));
        }

        /** Waits until this replica holds the lease, at most {@code atMost} after {@code from}; returns how long. */
        Duration awaitHolding(Instant from, Duration atMost) throws Exception {
            while (Duration.between(from, Instant.now()).compareTo(atMost) <= 0) {
                if (metric("nd_comparison_monitor_lease_held") == 1) {
                    return Duration.between(from, Instant.now());
                }
                Thread.sleep(250);
            }
            throw new AssertionError(process + " did not take the lease within " + atMost + "\n"
                    + process.logTail(40));
        }

        double metric(String name) throws Exception {
            String body = HTTP.send(HttpRequest.newBuilder(URI.create(process.managementUrl() + "/q/metrics"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(body);
            return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
        }

        void close() {
            channel.shutdownNow();
        }
    }
}

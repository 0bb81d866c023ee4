package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.CalibratedThreshold;
import ai.neuraldivergence.domain.monitor.MonitorRun;
import ai.neuraldivergence.domain.monitor.MonitorStatus;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import ai.neuraldivergence.domain.monitor.TrailingWindow;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Monitors as rows: configured ones upserted by replicas starting together land once; a change of what a monitor
 * measures starts a new generation; a transition found by two replicas is stored once; the API may not change a
 * configured monitor.
 */
class MonitorStoreTest {

    private static PGSimpleDataSource dataSource;
    private static ExecutorService replicas;

    @BeforeAll
    static void migrate() {
        dataSource = MigratedDatabase.create("monitor_store");
        replicas = Executors.newFixedThreadPool(4);
    }

    @AfterAll
    static void stop() {
        replicas.shutdownNow();
    }

    private static MonitorDefinition monitor(String name, String tap, double threshold) {
        return new MonitorDefinition(name, "m", tap, "training", Slice.ALL, Divergence.Metric.KS,
                MonitorDefinition.Mode.FIXED, threshold, 0.05, 1, 2, 200, 60);
    }

    @Test
    void replicasStartingTogetherStoreAConfiguredMonitorOnce() throws Exception {
        MonitorDefinition d = monitor("together", "*", 0.2);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<StoredMonitor>> starts = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            starts.add(replicas.submit(() -> {
                go.await();
                return new MonitorStore(dataSource).upsertFromConfig(d);
            }));
        }
        go.countDown();
        Long generation = null;
        for (Future<StoredMonitor> f : starts) {
            StoredMonitor stored = f.get();
            assertEquals(d, stored.definition());
            generation = generation == null ? stored.generation() : generation;
            assertEquals(generation, stored.generation(), "one monitor, one generation");
            assertEquals(StoredMonitor.Source.CONFIG, stored.source());
        }
        MonitorStore store = new MonitorStore(dataSource);
        assertEquals(1, store.list("m").stream().filter(s -> s.definition().name().equals("together")).count());
        // a threshold changed in the configuration keeps the generation; a tap changed starts a new one
        assertEquals(generation, store.upsertFromConfig(monitor("together", "*", 0.3)).generation());
        assertTrue(store.upsertFromConfig(monitor("together", "dense", 0.3)).generation() > generation);
        MonitorStore.RefusedException refused = assertThrows(MonitorStore.RefusedException.class,
                () -> store.update(monitor("together", "dense", 0.5), "someone"));
        assertEquals(MonitorStore.Refusal.FROM_CONFIG, refused.refusal());
        assertEquals(MonitorStore.Refusal.FROM_CONFIG, assertThrows(MonitorStore.RefusedException.class,
                () -> store.delete("together", "someone")).refusal());
        store.deleteFromConfig("together");
        assertTrue(store.find("together").isEmpty());
    }

    private static Transition transition(long generation, String tap, Transition.State state,
            Transition.State previous, Instant since, double value) {
        return new Transition(0, "twice", generation, tap, state, previous, since, false, value, 0.2, null,
                since.minusSeconds(120), since, "all", List.of(3, 1), Instant.now());
    }

    @Test
    void aTransitionFoundTwiceIsStoredOnceAndOnlyForTheCurrentGeneration() {
        MonitorStore store = new MonitorStore(dataSource);
        StoredMonitor created = store.create(monitor("twice", "dense", 0.2), "writer");
        assertEquals(MonitorStore.Refusal.EXISTS, assertThrows(MonitorStore.RefusedException.class,
                () -> store.create(monitor("twice", "conv", 0.2), "writer")).refusal());
        Instant since = Instant.parse("2026-12-02T10:01:00Z");
        Transition found = transition(created.generation(), "dense", Transition.State.DRIFTING, Transition.State.OK,
                since, 0.31);
        Transition first = store.record(found).orElseThrow();
        assertTrue(first.id() > 0);
        assertTrue(store.record(found).isEmpty(), "the second replica's copy is not stored again");
        // changed to measure another tap: a transition of the old generation is no longer stored
        StoredMonitor changed = store.update(monitor("twice", "conv", 0.2), "writer");
        assertTrue(changed.generation() > created.generation());
        assertTrue(store.record(transition(created.generation(), "dense", Transition.State.OK,
                Transition.State.DRIFTING, since.plusSeconds(600), 0.1)).isEmpty());
        Transition later = store.record(transition(changed.generation(), "conv", Transition.State.DRIFTING,
                Transition.State.OK, since, 0.4)).orElseThrow();
        assertEquals(List.of(3, 1), later.topNeurons());
        assertEquals(since.minusSeconds(120), later.windowStart());
        assertTrue(later.id() > first.id(), "ids increase");
        assertEquals(List.of(later.id(), first.id()), store.history("twice", 10).stream().map(Transition::id)
                .toList());
        // what a caller confined to some models reads: the generation since it last started over (a change of model
        // always starts one), never an earlier one's, which may have watched another model
        assertEquals(List.of(later.id()), store.history("twice", changed.generation(), 10).stream()
                .map(Transition::id).toList());
        // the state that held before a time: the newest transition of the tap begun before it
        assertEquals(later.id(), store.stateBefore("twice", changed.generation(), "conv", since.plusSeconds(60))
                .orElseThrow().id());
        assertTrue(store.stateBefore("twice", changed.generation(), "conv", since).isEmpty(), "none begun before");
        assertTrue(store.stateBefore("twice", changed.generation(), "dense", since.plusSeconds(60)).isEmpty(),
                "another tap's");
        assertEquals("writer", store.find("twice").orElseThrow().updatedBy());
        // a caller not granted the stored monitor's model changes nothing
        assertEquals(MonitorStore.Refusal.NOT_GRANTED, assertThrows(MonitorStore.RefusedException.class,
                () -> store.delete("twice", "team", model -> false)).refusal());
        assertEquals(MonitorStore.Refusal.NOT_GRANTED, assertThrows(MonitorStore.RefusedException.class,
                () -> store.update(monitor("twice", "dense", 0.9), "team", model -> false)).refusal());
        assertEquals("conv", store.find("twice").orElseThrow().definition().tap());
        store.delete("twice", "writer");
        assertTrue(store.history("twice", 10).isEmpty(), "a deleted monitor's history goes with it");
    }

    /**
     * The database as a dropped connection leaves it: every statement runs, then the commit fails and the
     * connection is gone (the server rolls back what it had not committed).
     */
    private static javax.sql.DataSource droppedAtCommit() {
        return (javax.sql.DataSource) java.lang.reflect.Proxy.newProxyInstance(MonitorStoreTest.class.getClassLoader(),
                new Class<?>[] {javax.sql.DataSource.class}, (ds, dsMethod, dsArgs) -> {
                    if (!dsMethod.getName().equals("getConnection")) {
                        return dsMethod.invoke(dataSource, dsArgs);
                    }
                    java.sql.Connection real = dataSource.getConnection();
                    return java.lang.reflect.Proxy.newProxyInstance(MonitorStoreTest.class.getClassLoader(),
                            new Class<?>[] {java.sql.Connection.class}, (c, method, args) -> {
                                if (method.getName().equals("commit")) {
                                    real.close();
                                    throw new java.sql.SQLException("connection lost", "08006");
                                }
                                try {
                                    return method.invoke(real, args);
                                } catch (java.lang.reflect.InvocationTargetException e) {
                                    throw e.getCause();
                                }
                            });
                });
    }

    @Test
    void aWriteWhoseConnectionDropsLeavesNothingAndIsStoredOnceWhenRetried() {
        MonitorStore broken = new MonitorStore(droppedAtCommit());
        MonitorStore store = new MonitorStore(dataSource);
        assertThrows(StorageException.class, () -> broken.create(monitor("dropped", "dense", 0.2), "writer"));
        assertTrue(store.find("dropped").isEmpty(), "nothing of the failed create is stored");
        StoredMonitor created = store.create(monitor("dropped", "dense", 0.2), "writer");

        Instant since = Instant.parse("2026-12-02T11:00:00Z");
        Transition t = new Transition(0, "dropped", created.generation(), "dense", Transition.State.DRIFTING,
                Transition.State.OK, since, false, 0.5, 0.2, null, since.minusSeconds(60), since, "all", List.of(1),
                Instant.now());
        assertThrows(StorageException.class, () -> broken.record(t));
        assertTrue(store.history("dropped", 10).isEmpty(), "nothing of the failed record is stored");
        assertTrue(store.record(t).isPresent(), "the retry stores it");
        assertTrue(store.record(t).isEmpty(), "and a second retry does not store it again");
        assertEquals(1, store.history("dropped", 10).size());

        assertThrows(StorageException.class, () -> broken.delete("dropped", "writer"));
        assertTrue(store.find("dropped").isPresent(), "a failed delete deletes nothing");
        assertThrows(StorageException.class, () -> broken.upsertFromConfig(monitor("dropped", "conv", 0.3)));
        assertEquals(created.definition(), store.find("dropped").orElseThrow().definition(),
                "a failed upsert changes nothing");
        assertEquals(StoredMonitor.Source.API, store.find("dropped").orElseThrow().source());
        assertEquals(StoredMonitor.Source.CONFIG, store.upsertFromConfig(monitor("dropped", "conv", 0.3)).source(),
                "an upsert from the configuration takes the name over, in the same statement as the definition");
    }

    /**
     * An evaluation whose connection drops at its commit leaves nothing (no evaluation, state or transition), and its
     * retry stores each once: a second retry stores no second transition.
     */
    @Test
    void anEvaluationWriteWhoseConnectionDropsLeavesNothingAndIsStoredOnceWhenRetried() throws Exception {
        MonitorStore store = new MonitorStore(dataSource);
        try (var c = dataSource.getConnection(); var ps = c.prepareStatement("DELETE FROM monitor_lease")) {
            ps.executeUpdate();
        }
        StoredMonitor m = store.create(monitor("dropped-write", "dense", 0.2), "writer");
        MonitorStore.Lease a = store.acquire("replica-a", java.time.Duration.ofSeconds(15)).orElseThrow();
        Instant end = Instant.parse("2026-12-02T12:01:00Z");
        MonitorRun.Evaluation e = MonitorRun.Evaluation.of(end, new TrailingWindow(end.minusSeconds(60), end, 300,
                true), 1000, 0.4, 0.2);
        MonitorStatus state = new MonitorStatus("dropped-write", m.generation(), "dense", Transition.State.DRIFTING,
                end, false, end, end.minusSeconds(60), 300, 1000, 0.4, 0.2, null, null);
        Transition up = new Transition(0, "dropped-write", m.generation(), "dense", Transition.State.DRIFTING,
                Transition.State.OK, end, false, 0.4, 0.2, null, end.minusSeconds(60), end, "all", List.of(1),
                Instant.now());
        assertThrows(StorageException.class, () -> new MonitorStore(droppedAtCommit()).write(a, e, state, up));
        assertTrue(store.evaluations("dropped-write", m.generation(), "dense").isEmpty(), "no evaluation");
        assertTrue(store.states().stream().noneMatch(s -> s.monitor().equals("dropped-write")), "no state");
        assertTrue(store.history("dropped-write", 10).isEmpty(), "no transition");
        assertTrue(store.write(a, e, state, up).isPresent(), "the retry stores it");
        assertTrue(store.write(a, e, state, up).isEmpty(), "a second retry stores no second transition");
        assertEquals(1, store.evaluations("dropped-write", m.generation(), "dense").size());
        assertEquals(1, store.history("dropped-write", 10).size());
        store.release(a);
    }

    /**
     * A replica taking the lease while the holder's write is between its statements waits for that write: the
     * transition it decided is stored with its evaluation and state. (The lease was checked per statement: taken
     * there, the transition was dropped as if stored already while its evaluation and state were committed, and the
     * new holder, finding the state agreed, never recorded it.)
     */
    @Test
    void aLeaseTakenDuringAWriteWaitsForItAndTheTransitionIsStored() throws Exception {
        MonitorStore store = new MonitorStore(dataSource);
        try (var c = dataSource.getConnection(); var ps = c.prepareStatement("DELETE FROM monitor_lease")) {
            ps.executeUpdate();
        }
        StoredMonitor m = store.create(monitor("mid-write", "dense", 0.2), "writer");
        MonitorStore.Lease a = store.acquire("replica-a", java.time.Duration.ofMillis(1500)).orElseThrow();
        java.util.concurrent.CountDownLatch atTransition = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch goOn = new java.util.concurrent.CountDownLatch(1);
        // the holder's connection pauses before it inserts the transition, as a slow replica may
        javax.sql.DataSource pausing = (javax.sql.DataSource) java.lang.reflect.Proxy.newProxyInstance(
                MonitorStoreTest.class.getClassLoader(), new Class<?>[] {javax.sql.DataSource.class},
                (ds, dsMethod, dsArgs) -> {
                    Object out = dsMethod.invoke(dataSource, dsArgs);
                    if (!dsMethod.getName().equals("getConnection")) {
                        return out;
                    }
                    java.sql.Connection real = (java.sql.Connection) out;
                    return java.lang.reflect.Proxy.newProxyInstance(MonitorStoreTest.class.getClassLoader(),
                            new Class<?>[] {java.sql.Connection.class}, (conn, method, args) -> {
                                if (method.getName().equals("prepareStatement")
                                        && String.valueOf(args[0]).startsWith("INSERT INTO monitor_transition")) {
                                    atTransition.countDown();
                                    goOn.await();
                                }
                                try {
                                    return method.invoke(real, args);
                                } catch (java.lang.reflect.InvocationTargetException e) {
                                    throw e.getCause();
                                }
                            });
                });
        Instant end = Instant.parse("2026-12-02T11:01:00Z");
        MonitorRun.Evaluation e = MonitorRun.Evaluation.of(end, new TrailingWindow(end.minusSeconds(60), end, 300,
                true), 1000, 0.4, 0.2);
        MonitorStatus state = new MonitorStatus("mid-write", m.generation(), "dense", Transition.State.DRIFTING, end,
                false, end, end.minusSeconds(60), 300, 1000, 0.4, 0.2, null, null);
        Transition up = new Transition(0, "mid-write", m.generation(), "dense", Transition.State.DRIFTING,
                Transition.State.OK, end, false, 0.4, 0.2, null, end.minusSeconds(60), end, "all", List.of(1),
                Instant.now());
        ExecutorService replicas = Executors.newFixedThreadPool(2);
        try {
            Future<Optional<Transition>> written = replicas.submit(() -> new MonitorStore(pausing).write(a, e, state,
                    up));
            assertTrue(atTransition.await(10, TimeUnit.SECONDS));
            Thread.sleep(1_700); // past a's lease
            Future<Optional<MonitorStore.Lease>> taken = replicas.submit(() -> store.acquire("replica-b",
                    java.time.Duration.ofSeconds(15)));
            Thread.sleep(500);
            assertFalse(taken.isDone(), "the new holder waits for the write in progress");
            goOn.countDown();
            assertTrue(written.get(10, TimeUnit.SECONDS).isPresent(), "the transition is stored");
            assertTrue(taken.get(10, TimeUnit.SECONDS).orElseThrow().epoch() > a.epoch(), "then b holds the lease");
            assertEquals(1, store.history("mid-write", 10).size());
        } finally {
            goOn.countDown();
            replicas.shutdownNow();
        }
    }

    @Test
    void onlyTheLeaseHolderWritesAndAFormerHolderWritesNothing() throws Exception {
        MonitorStore store = new MonitorStore(dataSource);
        StoredMonitor m = store.create(monitor("leased", "dense", 0.2), "writer");
        MonitorStore.Lease a = store.acquire("replica-a", java.time.Duration.ofMillis(800)).orElseThrow();
        assertTrue(store.acquire("replica-b", java.time.Duration.ofSeconds(15)).isEmpty(), "held by a");
        assertEquals(a, store.acquire("replica-a", java.time.Duration.ofMillis(800)).orElseThrow(),
                "renewed: the same epoch");
        Instant end = Instant.parse("2026-12-02T10:01:00Z");
        MonitorRun.Evaluation e = MonitorRun.Evaluation.of(end, new TrailingWindow(end.minusSeconds(60), end, 300,
                true), 1000, 0.4, 0.2);
        MonitorStatus state = new MonitorStatus("leased", m.generation(), "dense", Transition.State.DRIFTING, end,
                false, end, end.minusSeconds(60), 300, 1000, 0.4, 0.2, null, null);
        Transition up = new Transition(0, "leased", m.generation(), "dense", Transition.State.DRIFTING,
                Transition.State.OK, end, false, 0.4, 0.2, null, end.minusSeconds(60), end, "all", List.of(1),
                Instant.now());
        assertTrue(store.write(a, e, state, up).orElseThrow().id() > 0);
        assertEquals(List.of(state), store.states().stream().filter(s -> s.monitor().equals("leased")).toList());
        assertEquals(1, store.evaluations("leased", m.generation(), "dense").size());

        Thread.sleep(1200); // a is paused past its lease
        MonitorStore.Lease b = store.acquire("replica-b", java.time.Duration.ofSeconds(15)).orElseThrow();
        assertTrue(b.epoch() > a.epoch());
        Instant next = end.plusSeconds(60);
        MonitorStatus stale = new MonitorStatus("leased", m.generation(), "dense", Transition.State.OK, next, false,
                next, next.minusSeconds(60), 300, 1000, 0.1, 0.2, null, null);
        assertEquals(null, store.write(a, MonitorRun.Evaluation.of(next, new TrailingWindow(next.minusSeconds(60),
                next, 300, true), 1000, 0.1, 0.2), stale, null), "a former holder writes nothing");
        assertFalse(store.holds(a), "and learns why: the lease is gone");
        assertTrue(store.holds(b));
        assertEquals(List.of(state), store.states().stream().filter(s -> s.monitor().equals("leased")).toList());
        assertEquals(1, store.evaluations("leased", m.generation(), "dense").size());
        assertTrue(store.acquire("replica-a", java.time.Duration.ofSeconds(15)).isEmpty());
        store.release(b);
        MonitorStore.Lease again = store.acquire("replica-a", java.time.Duration.ofSeconds(15)).orElseThrow();
        assertTrue(again.epoch() > b.epoch(), "released: taken at once");
        store.release(again);
    }

    /**
     * A monitor deleted and made again under its name is another monitor to every writer: an evaluation run still in
     * flight for the deleted one (it works from a snapshot of the monitors) writes nothing into the new one, whose
     * state then starts empty and is back-filled. Its generation started at 1 again, so those writes landed.
     */
    @Test
    void aMonitorMadeAgainUnderItsNameTakesNoWriteOfTheOneDeleted() {
        MonitorStore store = new MonitorStore(dataSource);
        StoredMonitor deleted = store.create(monitor("again", "dense", 0.2), "writer");
        store.delete("again", "writer");
        StoredMonitor made = store.create(monitor("again", "dense", 0.2), "writer");
        assertTrue(made.generation() > deleted.generation(), "a generation is never used twice");
        MonitorStore.Lease lease = store.acquire("replica-a", java.time.Duration.ofSeconds(15)).orElseThrow();
        try {
            Instant end = Instant.parse("2026-12-02T12:01:00Z");
            MonitorRun.Evaluation e = MonitorRun.Evaluation.of(end, new TrailingWindow(end.minusSeconds(600), end,
                    900, true), 9_000, 0.4, 0.2);
            MonitorStatus stale = new MonitorStatus("again", deleted.generation(), "dense",
                    Transition.State.DRIFTING, end, false, end, end.minusSeconds(600), 900, 9_000, 0.4, 0.2, null,
                    null);
            assertNull(store.write(lease, e, stale, null), "the deleted monitor's run writes nothing");
            assertTrue(store.holds(lease), "the lease is still held: the monitor, not the lease, refused the write");
            assertTrue(store.states().stream().noneMatch(s -> s.monitor().equals("again")), "no state inherited");
            assertTrue(store.evaluations("again", made.generation(), "dense").isEmpty(), "no evaluation inherited");
        } finally {
            store.release(lease);
        }
    }

    @Test
    void aCalibratedEvaluationKeepsItsThresholdPartByPart() {
        MonitorStore store = new MonitorStore(dataSource);
        StoredMonitor m = store.create(monitor("calibrated-parts", "dense", 0.2), "writer");
        MonitorStore.Lease lease = store.acquire("replica-c", java.time.Duration.ofSeconds(15)).orElseThrow();
        Instant end = Instant.parse("2026-12-02T11:01:00Z");
        CalibratedThreshold parts = CalibratedThreshold.of(0.05, CalibratedThreshold.alpha(1, 3), 9_000, 60_000,
                0.013);
        MonitorRun.Evaluation e = MonitorRun.Evaluation.of(end, new TrailingWindow(end.minusSeconds(600), end, 9_000,
                true), 60_000, 0.31, parts);
        MonitorStatus state = new MonitorStatus("calibrated-parts", m.generation(), "dense",
                Transition.State.OK, null, false, end, end.minusSeconds(600), 9_000, 60_000, 0.31,
                parts.applied(), parts, null);
        try {
            assertTrue(store.write(lease, e, state, null).orElse(null) == null);
            assertEquals(List.of(state), store.states().stream().filter(s -> s.monitor().equals("calibrated-parts"))
                    .toList());
            assertEquals(parts, store.evaluations("calibrated-parts", m.generation(), "dense").get(0).calibration());
            assertEquals(parts.smallestDetectableEffect(), store.states().stream()
                    .filter(s -> s.monitor().equals("calibrated-parts")).findFirst().orElseThrow()
                    .smallestDetectableEffect(), 0);

            // a layer monitor's evaluation made while its reference was calibrating says so, in state and history
            Instant next = end.plusSeconds(60);
            CalibratedThreshold layer = CalibratedThreshold.ofLayer(0.001, CalibratedThreshold.alpha(1, 3), 0.004,
                    0.001, true);
            MonitorStatus calibrating = new MonitorStatus("calibrated-parts", m.generation(), "dense",
                    Transition.State.OK, null, false, next, next.minusSeconds(600), 9_000, 60_000, 0.002,
                    layer.applied(), layer, null);
            store.write(lease, MonitorRun.Evaluation.of(next, new TrailingWindow(next.minusSeconds(600), next, 9_000,
                    true), 60_000, 0.002, layer), calibrating, null);
            assertTrue(store.evaluations("calibrated-parts", m.generation(), "dense").get(1).calibration()
                    .calibrating());
            assertFalse(store.evaluations("calibrated-parts", m.generation(), "dense").get(0).calibration()
                    .calibrating());
            assertTrue(store.states().stream().filter(s -> s.monitor().equals("calibrated-parts")).findFirst()
                    .orElseThrow().calibration().calibrating());

            // the first evaluation decided again at a new budget (a re-decision writes it again): its history shows
            // the new threshold, parts and outcome, not the new value beside the old decision
            CalibratedThreshold wider = CalibratedThreshold.of(0.05, CalibratedThreshold.alpha(0.1, 3), 9_000,
                    60_000, 0.013);
            MonitorRun.Evaluation again = MonitorRun.Evaluation.of(end, new TrailingWindow(end.minusSeconds(600), end,
                    9_000, true), 60_000, 0.31, wider);
            store.write(lease, again, new MonitorStatus("calibrated-parts", m.generation(), "dense",
                    Transition.State.OK, null, false, next, next.minusSeconds(600), 9_000, 60_000, 0.002,
                    layer.applied(), layer, null), null);
            MonitorRun.Evaluation read = store.evaluations("calibrated-parts", m.generation(), "dense").get(0);
            assertEquals(wider, read.calibration());
            assertEquals(again.thresholdApplied(), read.thresholdApplied(), 0);
            assertEquals(again.outcome(), read.outcome());
        } finally {
            store.release(lease);
        }
    }
}

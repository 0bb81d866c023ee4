package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Sealing against a real PostgreSQL: a tap is sealed when its count reaches the expected number, the reference when
 * every tap of its version is; the timeout seals what there is and reports the emptiest tap's shortfall; a frozen
 * reference and a sealed one take no new expectation.
 */
class ReferenceSealTest {

    private static PGSimpleDataSource dataSource;
    private static ReferenceStore references;
    private static SealStore seals;

    @BeforeAll
    static void migrate() {
        dataSource = MigratedDatabase.create("seal_test");
        references = new ReferenceStore(dataSource);
        seals = new SealStore(dataSource);
    }

    /** A model version with two taps, and {@code counts[i]} observations of tap i tagged with the reference. */
    private static ReferenceStore.ReferenceId building(String model, long... counts) throws Exception {
        CatalogStore catalog = new CatalogStore(dataSource);
        ReferenceStore.ReferenceId id = new ReferenceStore.ReferenceId(model, "1", "training");
        try (Connection c = dataSource.getConnection()) {
            for (int t = 0; t < 2; t++) {
                catalog.register(c, new TapDescriptor(model, "1", "tap" + t, t, new int[] {1}, 1, Reduction.NONE));
            }
            seals.lockForMerge(c, id);
            for (int t = 0; t < counts.length; t++) {
                add(c, id, "tap" + t, counts[t]);
            }
        }
        return id;
    }

    private static void add(Connection c, ReferenceStore.ReferenceId id, String tap, long count) throws Exception {
        TapDistribution d = new TapDistribution(1, 64);
        for (int i = 0; i < count; i++) {
            d.add(new float[] {i}, 0);
        }
        references.merge(c, new ReferenceKey(id.modelId(), id.modelVersion(), id.name(), tap, Slice.ALL), d);
    }

    private static ReferenceStore.StoredReference stored(ReferenceStore.ReferenceId id) {
        return references.find(id.modelId(), id.name()).get(0);
    }

    @Test
    void aReferenceIsSealedWhenEveryTapReachesTheExpectedCount() throws Exception {
        ReferenceStore.ReferenceId id = building("seal-complete", 10, 4);
        var request = seals.requestSeal(id, 10);
        assertInstanceOf(SealStore.SealRequest.Accepted.class, request);
        assertFalse(stored(id).sealed(), "tap1 holds 4 of 10");
        assertTrue(seals.tapSealed(id, "tap0"), "tap0 reached 10 and is sealed on its own");
        assertFalse(seals.tapSealed(id, "tap1"));

        Optional<SealStore.Sealed> sealed;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            SealStore.SealState state = seals.lockForMerge(c, id);
            assertEquals(10L, state.expectedObservations());
            add(c, id, "tap1", 6);
            sealed = SealStore.sealDue(c, id, 10, false);
            c.commit();
        }
        assertTrue(sealed.isPresent());
        assertEquals(0, sealed.get().shortfall());
        assertTrue(stored(id).sealed());
        assertNull(stored(id).shortfall());
        assertTrue(seals.unpublished().contains(id));
        assertTrue(seals.publishSeal(id, r -> assertEquals(10, r.observationCount())));
        assertFalse(seals.publishSeal(id, r -> { }), "published once");
    }

    /**
     * A seal is published under a lock of its own, not the reference's row: a flush merging into the reference goes
     * on while the send waits (a seal-topic outage holds it for the producer's whole delivery timeout), and a delete
     * waits for the publication, so that the tombstone follows the seal.
     */
    @Test
    void aSealBeingPublishedHoldsNoFlushAndADeleteWaitsForIt() throws Exception {
        ReferenceStore.ReferenceId id = building("seal-publishing", 10, 10);
        seals.requestSeal(id, 10);
        seals.sealIfDue(id, Duration.ofHours(1));
        assertTrue(stored(id).sealed());
        java.util.concurrent.CountDownLatch sending = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch acknowledged = new java.util.concurrent.CountDownLatch(1);
        List<String> topic = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            var publishing = threads.submit(() -> seals.publishSeal(id, r -> {
                sending.countDown();
                acknowledged.await();
                topic.add("seal");
            }));
            assertTrue(sending.await(10, java.util.concurrent.TimeUnit.SECONDS), "the send started");
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                try (var s = c.createStatement()) {
                    s.execute("SET LOCAL lock_timeout = '2s'");
                }
                assertTrue(SealStore.lockForMerge(c, id).sealed(), "a flush locks the reference during the send");
                c.commit();
            }
            var deleting = threads.submit(() -> references.delete(id.modelId(), id.name(), null,
                    deleted -> topic.add("tombstone")));
            Thread.sleep(500); // the delete's chance to overtake the publication, were it not held back
            assertFalse(deleting.isDone(), "the delete waits for the publication");
            acknowledged.countDown();
            assertTrue(publishing.get(10, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(deleting.get(10, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(List.of("seal", "tombstone"), topic, "the tombstone follows the seal");
        } finally {
            acknowledged.countDown();
            threads.shutdownNow();
        }
    }

    @Test
    void theTimeoutSealsWhatThereIsAndReportsTheShortfall() throws Exception {
        ReferenceStore.ReferenceId id = building("seal-timeout", 7);
        seals.requestSeal(id, 10);
        assertEquals(Optional.empty(), seals.sealIfDue(id, Duration.ofMinutes(10)), "not due yet");
        SealStore.Sealed sealed = seals.sealIfDue(id, Duration.ZERO).orElseThrow();
        // tap1 never saw an observation: the emptiest tap lacks all 10
        assertEquals(10, sealed.shortfall());
        assertEquals(7, sealed.observationCount());
        assertEquals(10L, stored(id).shortfall());
        assertTrue(seals.tapSealed(id, "tap0"));
        assertTrue(seals.tapSealed(id, "tap1"), "the whole reference is sealed");
    }

    /**
     * A frozen reference's distributions are written as they are handed over (so that a freeze of every slice holds
     * one at a time): a failure after some are written, as a freeze's deadline or a refused read would throw, keeps
     * nothing of it, and the name stays free; handed over again, every one is stored.
     */
    @Test
    void aFreezeThatFailsPartWayKeepsNothing() throws Exception {
        TapDescriptor tap = new TapDescriptor("freeze-fails", "1", "tap0", 0, new int[] {2}, 2, Reduction.NONE);
        try (Connection c = dataSource.getConnection()) {
            new CatalogStore(dataSource).register(c, tap);
        }
        TapDistribution d = new TapDistribution(2, 64);
        d.add(new float[] {1, 2}, 0);
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> references.createFrozen("freeze-fails", "1", "partial", java.time.Instant.EPOCH,
                        java.time.Instant.EPOCH.plusSeconds(60), null, sink -> {
                            sink.put("tap0", Slice.ALL, d);
                            sink.put("tap0", Slice.predictedClass(1), d);
                            throw new IllegalStateException("the deadline passed");
                        }));
        assertEquals("the deadline passed", e.getMessage());
        assertTrue(references.find("freeze-fails", "partial").isEmpty(), "no reference");
        try (Connection c = dataSource.getConnection();
                var ps = c.prepareStatement("SELECT count(*) FROM reference_distribution WHERE model_id = ?")) {
            ps.setString(1, "freeze-fails");
            try (var rs = ps.executeQuery()) {
                rs.next();
                assertEquals(0, rs.getLong(1), "no distribution of it");
            }
        }
        assertTrue(references.createFrozen("freeze-fails", "1", "partial", java.time.Instant.EPOCH,
                java.time.Instant.EPOCH.plusSeconds(60), null, sink -> {
                    sink.put("tap0", Slice.ALL, d);
                    sink.put("tap0", Slice.predictedClass(1), d);
                }), "the name is free");
        assertEquals(List.of("all", "predicted=1"), references.slices("freeze-fails", "1", "partial", "tap0").stream()
                .map(Slice::key).sorted().toList());
    }

    @Test
    void aSealedOrFrozenReferenceTakesNoNewExpectation() throws Exception {
        ReferenceStore.ReferenceId id = building("seal-twice", 5, 5);
        assertTrue(stored(id).expectedObservations() == null);
        var first = (SealStore.SealRequest.Accepted) seals.requestSeal(id, 5);
        assertTrue(first.reference().sealed(), "already complete: sealed by the request itself");
        assertInstanceOf(SealStore.SealRequest.Accepted.class, seals.requestSeal(id, 5), "idempotent");
        assertInstanceOf(SealStore.SealRequest.Refused.class, seals.requestSeal(id, 6));

        ReferenceStore.ReferenceId frozen = new ReferenceStore.ReferenceId("seal-twice", "1", "frozen");
        TapDistribution d = new TapDistribution(1, 64);
        d.add(new float[] {1}, 0);
        assertTrue(references.createFrozen("seal-twice", "1", "frozen", java.time.Instant.EPOCH,
                java.time.Instant.EPOCH.plusSeconds(60), null, java.util.Map.of("tap0", java.util.Map.of(Slice.ALL,
                        d))));
        assertTrue(stored(frozen).sealed());
        assertTrue(seals.tapSealed(frozen, "tap0"));
        assertInstanceOf(SealStore.SealRequest.Refused.class, seals.requestSeal(frozen, 1));

        // deleting it locks it and runs the tombstone step first; a failure there keeps it
        List<String> tombstoned = new java.util.ArrayList<>();
        try {
            references.delete("seal-twice", "frozen", "1", deleted -> {
                throw new IllegalStateException("Kafka away");
            });
        } catch (IllegalStateException expected) {
            // the reference stays
        }
        assertTrue(stored(frozen).sealed());
        assertTrue(references.delete("seal-twice", "frozen", "1", deleted -> deleted.forEach(r ->
                tombstoned.add(r.name()))));
        assertEquals(List.of("frozen"), tombstoned);
        assertTrue(references.find("seal-twice", "frozen").isEmpty());
    }
}

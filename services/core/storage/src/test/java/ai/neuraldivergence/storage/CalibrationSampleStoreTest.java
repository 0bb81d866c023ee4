package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.storage.CalibrationSampleStore.Cutoffs;
import ai.neuraldivergence.storage.CalibrationSampleStore.Member;
import ai.neuraldivergence.storage.CalibrationSampleStore.Scope;
import java.sql.Connection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Calibration samples against a real PostgreSQL: whatever the order and grouping of the flushes that bring them
 * (two replicas, a replay), a scope keeps exactly the observations of the smallest ranks, and the same ones; a
 * reference's sample is apart from the hours'; retention takes hours past it and the samples of deleted references.
 * Neuron values are kept likewise on the smallest ranks of the members that bring them.
 */
class CalibrationSampleStoreTest {

    private static final int SIZE = 50;
    private static final int VALUE_SIZE = 20;
    private static final Slice CLASS3 = Slice.predictedClass(3);
    private static final Instant HOUR = Instant.parse("2026-12-01T10:00:00Z");
    private static PGSimpleDataSource dataSource;
    private static CalibrationSampleStore store;

    @BeforeAll
    static void migrate() {
        dataSource = MigratedDatabase.create("sample_test");
        store = new CalibrationSampleStore(dataSource);
    }

    private static List<Member> observations(Scope scope, int count) {
        List<Member> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = "obs-" + i;
            out.add(new Member(scope, CalibrationSampleStore.rank(scope.modelId(), id, HOUR.plusSeconds(60 * (i % 60))),
                    id, new float[] {i, -i}));
        }
        return out;
    }

    /**
     * Members {@code firstId} onwards whose neuron values are {id, -id}; every fifth brings none (one sent past the
     * value cutoff), every third is in class 3's slice.
     */
    private static List<Member> valued(Scope scope, int firstId, int count) {
        List<Member> out = new ArrayList<>();
        for (int i = firstId; i < firstId + count; i++) {
            String id = "obs-" + i;
            out.add(new Member(scope, CalibrationSampleStore.rank(scope.modelId(), id, HOUR), id, new float[] {i},
                    i % 3 == 0 ? List.of(Slice.ALL, CLASS3) : List.of(Slice.ALL),
                    i % 5 == 0 ? null : new float[] {i, -i}));
        }
        return out;
    }

    /** What a scope sent {@code sent} keeps values on: its value size smallest ranks with values, of those it keeps. */
    private static List<Member> keptWithValues(List<Member> sent) {
        return sent.stream().sorted(Comparator.comparingLong(Member::rank)).limit(SIZE)
                .filter(m -> m.activations() != null).limit(VALUE_SIZE).toList();
    }

    /** The members' ids (their first neuron value), in the order given. */
    private static List<Float> ids(List<Member> members) {
        return members.stream().map(m -> m.activations()[0]).toList();
    }

    /** The first value of each row read, in the order read. */
    private static List<Float> inOrder(List<float[]> read) {
        return read.stream().map(v -> v[0]).toList();
    }

    private static Map<Scope, Cutoffs> flush(List<Member> members, int valueSize) throws Exception {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            Map<Scope, Cutoffs> cutoffs = store.insert(c, members, s -> SIZE, s -> valueSize);
            c.commit();
            return cutoffs;
        }
    }

    private static void flush(List<Member> members) throws Exception {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            store.insert(c, members, s -> SIZE);
            c.commit();
        }
    }

    @Test
    void aScopeKeepsTheSmallestRanksWhateverTheOrderAndAReplayChangesNothing() throws Exception {
        Scope scope = Scope.hour("m", "1", "dense", HOUR);
        List<Member> all = observations(scope, 400);
        List<Member> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new java.util.Random(3));
        // in flushes of 37, and the second half flushed twice (a replay after a crash)
        for (int from = 0; from < shuffled.size(); from += 37) {
            flush(shuffled.subList(from, Math.min(shuffled.size(), from + 37)));
        }
        flush(shuffled.subList(200, 400));
        List<Member> expected = all.stream().sorted(Comparator.comparingLong(Member::rank)).limit(SIZE).toList();
        List<float[]> read = store.readHours("m", "1", "dense", HOUR, HOUR.plusSeconds(3600), 1_000);
        assertEquals(SIZE, read.size(), "exactly the scope's size is kept");
        for (int i = 0; i < SIZE; i++) {
            assertArrayEquals(expected.get(i).values(), read.get(i), "rank " + i);
        }
    }

    @Test
    void twoHoursMergeByTheirSmallestRanksAndAReferenceIsApart() throws Exception {
        Scope first = Scope.hour("m2", "1", "dense", HOUR);
        Scope second = Scope.hour("m2", "1", "dense", HOUR.plusSeconds(3600));
        Scope reference = Scope.reference("m2", "1", "dense", "training");
        flush(observations(first, 100));
        List<Member> later = new ArrayList<>();
        for (Member m : observations(second, 100)) {
            // other instances in the second hour
            later.add(new Member(second, CalibrationSampleStore.rank("m2", "late-" + m.instanceId(), HOUR),
                    "late-" + m.instanceId(), new float[] {1000 + m.values()[0], 0}));
        }
        flush(later);
        flush(observations(reference, 10));
        List<float[]> both = store.readHours("m2", "1", "dense", HOUR, HOUR.plusSeconds(7200), SIZE);
        assertEquals(SIZE, both.size());
        assertTrue(both.stream().anyMatch(r -> r[0] >= 1000) && both.stream().anyMatch(r -> r[0] < 1000),
                "the union of both hours' samples");
        assertEquals(10, store.readReference("m2", "1", "dense", "training", SIZE).size());
        // retention: the first hour goes, the reference (it does not exist as a reference row) too
        store.deleteOlderThan(HOUR.plusSeconds(3600));
        assertEquals(SIZE, store.readHours("m2", "1", "dense", HOUR, HOUR.plusSeconds(7200), 1_000).size());
        assertTrue(store.readHours("m2", "1", "dense", HOUR, HOUR.plusSeconds(3600), 1_000).isEmpty());
        assertTrue(store.readReference("m2", "1", "dense", "training", SIZE).isEmpty());
    }

    @Test
    void retentionKeepsTheHoursAReferenceFrozenFromThemStillResamples() throws Exception {
        Scope covered = Scope.hour("m5", "1", "dense", HOUR);
        Scope past = Scope.hour("m5", "1", "dense", HOUR.plusSeconds(3600));
        flush(observations(covered, 20));
        flush(observations(past, 20));
        // frozen from the first hour (a minute into it to its end): its slices' nulls are resampled from that sample
        try (Connection c = dataSource.getConnection()) {
            new CatalogStore(dataSource).register(c, new ai.neuraldivergence.domain.TapDescriptor("m5", "1", "dense", 0,
                    new int[] {2}, 2, ai.neuraldivergence.domain.Reduction.NONE));
        }
        assertTrue(new ReferenceStore(dataSource).createFrozen("m5", "1", "calm", HOUR.plusSeconds(60),
                HOUR.plusSeconds(3600), Slice.ALL, Map.of()));
        store.deleteOlderThan(HOUR.plusSeconds(7200));
        assertEquals(20, store.readHours("m5", "1", "dense", HOUR, HOUR.plusSeconds(3600), 1_000).size(),
                "the frozen reference's hour is kept");
        assertTrue(store.readHours("m5", "1", "dense", HOUR.plusSeconds(3600), HOUR.plusSeconds(7200), 1_000)
                .isEmpty(), "the other goes");
        // once the reference is deleted, its hours go at the next pass
        try (Connection c = dataSource.getConnection(); var ps = c.prepareStatement(
                "DELETE FROM reference WHERE model_id = 'm5'")) {
            ps.executeUpdate();
        }
        store.deleteOlderThan(HOUR.plusSeconds(7200));
        assertTrue(store.readHours("m5", "1", "dense", HOUR, HOUR.plusSeconds(3600), 1_000).isEmpty());
    }

    /**
     * A slice's sample is the scope's members in that slice: each member keeps its slices, a late label adds its
     * slice to the member it joins (once, and only in its hour), and a member stored before members kept slices (V21)
     * counts for the slice all only.
     */
    @Test
    void aSliceReadsTheMembersInItAndALateLabelJoinsItsMember() throws Exception {
        Scope scope = Scope.hour("sliced", "1", "dense", HOUR);
        ai.neuraldivergence.domain.Slice class3 = ai.neuraldivergence.domain.Slice.predictedClass(3);
        ai.neuraldivergence.domain.Slice label3 = ai.neuraldivergence.domain.Slice.trueLabel(3);
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String id = "obs-" + i;
            members.add(new Member(scope, CalibrationSampleStore.rank("sliced", id, HOUR), id, new float[] {i},
                    i % 4 == 0 ? List.of(ai.neuraldivergence.domain.Slice.ALL, class3)
                            : List.of(ai.neuraldivergence.domain.Slice.ALL)));
        }
        flush(members);
        try (Connection c = dataSource.getConnection(); var s = c.createStatement()) {
            // as a member stored before V21 reads: no slices
            s.execute("INSERT INTO calibration_sample (model_id, model_version, tap, reference, window_start, rank, "
                    + "instance_id, projections) VALUES ('sliced', '1', 'dense', '', '" + HOUR + "', 1, 'old', "
                    + "'\\x0000c842')");
        }
        assertEquals(41, store.readHours("sliced", "1", "dense", HOUR, HOUR.plusSeconds(3600), 1_000).size());
        assertEquals(List.of(0f, 4f, 8f, 12f, 16f, 20f, 24f, 28f, 32f, 36f), firstValues(store.readHours("sliced",
                "1", "dense", HOUR, HOUR.plusSeconds(3600), class3, 1_000)), "class 3: every fourth, sorted below");
        assertTrue(store.readHours("sliced", "1", "dense", HOUR, HOUR.plusSeconds(3600), label3, 1_000).isEmpty());

        List<CalibrationSampleStore.LabelJoin> joins = List.of(
                new CalibrationSampleStore.LabelJoin("sliced", "1", "dense", HOUR.plusSeconds(90), "obs-1", 3),
                new CalibrationSampleStore.LabelJoin("sliced", "1", "dense", HOUR.plusSeconds(90), "obs-2", 3),
                // another hour's observation of the same id, and a member stored without slices: left alone
                new CalibrationSampleStore.LabelJoin("sliced", "1", "dense", HOUR.plusSeconds(3_700), "obs-5", 3),
                new CalibrationSampleStore.LabelJoin("sliced", "1", "dense", HOUR.plusSeconds(90), "old", 3));
        // a flush whose connection dies before its commit: its joins are not there
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            store.joinLabels(c, joins);
            c.rollback();
        }
        assertTrue(store.readHours("sliced", "1", "dense", HOUR, HOUR.plusSeconds(3600), label3, 1_000).isEmpty(),
                "a rolled-back join leaves nothing");
        for (int twice = 0; twice < 2; twice++) {
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                store.joinLabels(c, joins);
                c.commit();
            }
        }
        assertEquals(List.of(1f, 2f), firstValues(store.readHours("sliced", "1", "dense", HOUR, HOUR.plusSeconds(3600),
                label3, 1_000)));
        try (Connection c = dataSource.getConnection(); var s = c.createStatement();
                var rs = s.executeQuery("SELECT array_length(slices, 1) FROM calibration_sample WHERE model_id = "
                        + "'sliced' AND instance_id = 'obs-1'")) {
            rs.next();
            assertEquals(2, rs.getInt(1), "the label's slice added once, however often the join is replayed");
        }
    }

    /**
     * Values stay on exactly the value size smallest ranks of the members that brought them, whatever the order and
     * grouping of the flushes; a member stored without values (before V23) is never given them and does not count;
     * the cutoffs returned say which ranks may still send values.
     */
    @Test
    void valuesStayOnTheSmallestRanksThatBroughtThemAndTheCutoffSaysWhichMaySendThem() throws Exception {
        Scope scope = Scope.hour("valued", "1", "dense", HOUR);
        try (Connection c = dataSource.getConnection(); var s = c.createStatement()) {
            // as a member stored before V23 reads: projections and slices, no activations, and the smallest rank
            s.execute("INSERT INTO calibration_sample (model_id, model_version, tap, reference, window_start, rank, "
                    + "instance_id, projections, slices) VALUES ('valued', '1', 'dense', '', '" + HOUR + "', 0, "
                    + "'old', '\\x0000c842', '{all}')");
        }
        Member old = new Member(scope, 0, "old", new float[] {100}, List.of(Slice.ALL), new float[] {-7, 7});
        List<Member> all = new ArrayList<>(valued(scope, 1, 400));
        List<Member> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new java.util.Random(7));
        all.add(new Member(scope, 0, "old", new float[] {100}));

        Cutoffs first = flush(shuffled.subList(0, 10), VALUE_SIZE).get(scope);
        assertEquals(new Cutoffs(Long.MAX_VALUE, Long.MAX_VALUE), first, "fewer than either size: send everything");
        for (int from = 10; from < shuffled.size(); from += 37) {
            flush(shuffled.subList(from, Math.min(shuffled.size(), from + 37)), VALUE_SIZE);
        }
        // the old member replayed with values, and the second half again (a replay after a crash)
        flush(List.of(old), VALUE_SIZE);
        Cutoffs cutoffs = flush(shuffled.subList(200, 400), VALUE_SIZE).get(scope);

        List<Member> expected = keptWithValues(all);
        List<float[]> read = store.readHoursValues("valued", "1", "dense", HOUR, HOUR.plusSeconds(3600), Slice.ALL,
                1_000);
        assertEquals(ids(expected), inOrder(read), "the value size smallest that brought values, in rank order");
        assertArrayEquals(expected.get(0).activations(), read.get(0), "the values as sent");
        assertEquals(SIZE, store.readHours("valued", "1", "dense", HOUR, HOUR.plusSeconds(3600), 1_000).size());
        List<Member> kept = all.stream().sorted(Comparator.comparingLong(Member::rank)).limit(SIZE).toList();
        assertEquals(new Cutoffs(kept.get(SIZE - 1).rank(), expected.get(VALUE_SIZE - 1).rank()), cutoffs);

        // a replay of everything changes nothing
        Cutoffs again = flush(all, VALUE_SIZE).get(scope);
        assertEquals(cutoffs, again);
        assertEquals(ids(expected), inOrder(store.readHoursValues("valued", "1", "dense", HOUR,
                HOUR.plusSeconds(3600), Slice.ALL, 1_000)));
    }

    @Test
    void aScopeOfValueSizeZeroKeepsNoValuesAndSendsNone() throws Exception {
        Scope scope = Scope.hour("unvalued", "1", "dense", HOUR);
        List<Member> members = valued(scope, 1, 100);
        flush(members.subList(0, 50), VALUE_SIZE);
        assertEquals(VALUE_SIZE, store.readHoursValues("unvalued", "1", "dense", HOUR, HOUR.plusSeconds(3600),
                Slice.ALL, 1_000).size());
        // a flush that keeps no values and brings none (a wide tap's, every flush; here a replay of the members kept)
        // runs no statement for them: the values kept before stay
        List<Member> bare = members.subList(0, 50).stream().map(m -> new Member(m.scope(), m.rank(), m.instanceId(),
                m.values(), m.slices(), null)).toList();
        assertEquals(CalibrationSampleStore.NO_VALUES, flush(bare, 0).get(scope).valueRank());
        assertEquals(VALUE_SIZE, store.readHoursValues("unvalued", "1", "dense", HOUR, HOUR.plusSeconds(3600),
                Slice.ALL, 1_000).size());
        // one that brings values its cap no longer allows (a replica of before a lowered cap): those kept go too
        Cutoffs cutoffs = flush(members.subList(50, 100), 0).get(scope);
        assertEquals(CalibrationSampleStore.NO_VALUES, cutoffs.valueRank());
        assertTrue(members.stream().allMatch(m -> m.rank() > cutoffs.valueRank()), "no rank sends values");
        assertEquals(List.of(), store.readHoursValues("unvalued", "1", "dense", HOUR, HOUR.plusSeconds(3600),
                Slice.ALL, 1_000));
    }

    /**
     * Two hours' values read as the union's value size smallest (each is among its own hour's), a slice's as the
     * members in it; a reference's apart from the hours', likewise.
     */
    @Test
    void valuesOfHoursReadAsTheirUnionsSmallestAndASliceAsItsMembers() throws Exception {
        Scope early = Scope.hour("values2", "1", "dense", HOUR);
        Scope late = Scope.hour("values2", "1", "dense", HOUR.plusSeconds(3600));
        Scope reference = Scope.reference("values2", "1", "dense", "training");
        List<Member> earlyMembers = valued(early, 0, 150);
        List<Member> lateMembers = valued(late, 1_000, 150);
        List<Member> referenceMembers = valued(reference, 2_000, 150);
        List<Member> mixed = new ArrayList<>(earlyMembers);
        mixed.addAll(lateMembers);
        mixed.addAll(referenceMembers);
        Collections.shuffle(mixed, new java.util.Random(11));
        for (int from = 0; from < mixed.size(); from += 50) {
            flush(mixed.subList(from, from + 50), VALUE_SIZE);
        }

        List<Member> union = new ArrayList<>(keptWithValues(earlyMembers));
        union.addAll(keptWithValues(lateMembers));
        union.sort(Comparator.comparingLong(Member::rank));
        assertEquals(ids(union.subList(0, VALUE_SIZE)), inOrder(store.readHoursValues("values2", "1", "dense", HOUR,
                HOUR.plusSeconds(7200), Slice.ALL, VALUE_SIZE)));
        assertEquals(ids(union.stream().filter(m -> m.slices().contains(CLASS3)).toList()),
                inOrder(store.readHoursValues("values2", "1", "dense", HOUR, HOUR.plusSeconds(7200), CLASS3, 1_000)));

        List<Member> ofReference = keptWithValues(referenceMembers);
        assertEquals(ids(ofReference), inOrder(store.readReferenceValues("values2", "1", "dense", "training",
                Slice.ALL, 1_000)));
        assertEquals(ids(ofReference.subList(0, 5)), inOrder(store.readReferenceValues("values2", "1", "dense",
                "training", Slice.ALL, 5)));
        assertEquals(ids(ofReference.stream().filter(m -> m.slices().contains(CLASS3)).toList()),
                inOrder(store.readReferenceValues("values2", "1", "dense", "training", CLASS3, 1_000)));
    }

    private static List<Float> firstValues(List<float[]> read) {
        return read.stream().map(v -> v[0]).sorted().toList();
    }
}

package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapMinute;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A compaction pass pages past the hours it cannot build yet: a full batch of them (here an hour of 500 slices whose
 * minute's fold keeps failing) no longer stops the pass before every later hour, which stayed unbuilt for as long as
 * the first one did.
 */
class BuildPagingTest {

    private static final TapDescriptor TAP = new TapDescriptor("paged", "1", "dense", 0, new int[] {2}, 2,
            Reduction.NONE);
    private static final Instant STUCK = Granularity.HOUR.windowStart(Instant.now()).minus(Duration.ofHours(5));
    private static final Instant LATER = STUCK.plus(Duration.ofHours(1));
    private static final int SLICES = 500;

    private static void append(PGSimpleDataSource ds, Instant minute, List<Slice> slices) throws Exception {
        SlicedRows.Builder rows = new SlicedRows.Builder(2);
        List<float[]> one = List.of(new float[] {1f, 2f});
        slices.forEach(s -> rows.add(s, one));
        try (Connection c = ds.getConnection()) {
            new WindowDeltaStore().append(c, List.of(new WindowDeltaStore.Append(new TapMinute("paged", "1", "dense",
                    minute, 0), rows.build())));
        }
    }

    @Test
    void hoursThatCannotBeBuiltYetDoNotHoldBackTheHoursAfterThem() throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.create("build_paging_test");
        try (Connection c = ds.getConnection()) {
            new CatalogStore(ds).register(c, TAP);
        }
        new DeltaPartitions(ds).ensure(STUCK, LATER.plus(Duration.ofHours(1)));
        List<Slice> sources = new java.util.ArrayList<>();
        for (int i = 0; i < SLICES; i++) {
            sources.add(Slice.tag("source", "s" + i));
        }
        Compaction compaction = new Compaction(ds, 200, Duration.ofMinutes(5), Compaction.Listener.NONE);
        // the stuck hour's first minute, folded while the hour is open: 500 minute rows, one per slice
        Instant first = STUCK.plus(Duration.ofMinutes(5));
        append(ds, first, sources);
        assertEquals(1, compaction.run(first.plus(Duration.ofMinutes(2))).folded());
        // a later minute of it whose delta names a slice twice: its fold fails at every pass, so none of the hour's
        // 500 windows is ever ready
        Instant broken = STUCK.plus(Duration.ofMinutes(10));
        List<Slice> withExtra = new java.util.ArrayList<>(List.of(Slice.tag("source", "x"), Slice.tag("source", "y")));
        withExtra.addAll(sources);
        append(ds, broken, withExtra);
        try (Connection c = ds.getConnection(); var ps = c.prepareStatement("UPDATE window_delta SET slices[2] = "
                + "slices[1] WHERE window_start = ?")) {
            ps.setTimestamp(1, java.sql.Timestamp.from(broken));
            assertEquals(1, ps.executeUpdate());
        }
        // the next hour, sound
        append(ds, LATER.plus(Duration.ofMinutes(1)), List.of(Slice.ALL));

        Compaction.Pass pass = compaction.run(LATER.plus(Duration.ofHours(2)));
        assertFalse(pass.deferred());
        assertEquals(1, pass.failed(), "the broken minute's fold");
        assertEquals(1, pass.hours(), "the later hour is built");
        assertEquals(STUCK, pass.oldestUnbuiltHour());
        assertEquals(1, new TapWindowStore(ds).read("paged", "1", "dense", Slice.ALL, Granularity.HOUR, LATER,
                LATER.plus(Duration.ofHours(1))).size());
    }
}

package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapMinute;
import ai.neuraldivergence.domain.WindowKey;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A tap stored in several blocks has a window of its own once every block's row is built, and that window is
 * announced (the window-updated event). Two instances building two blocks of one hour at once each counted the blocks
 * inside its own transaction, saw only its own, and neither announced; no later pass did either (the rows exist).
 * Here both builds commit slowly (a deferred trigger sleeps at commit), so that each counts before the other commits.
 */
class WholeWindowAnnouncementTest {

    private static final TapDescriptor TAP = new TapDescriptor("blocks", "1", "wide", 0, new int[] {4}, 4,
            Reduction.NONE, 2, null);
    private static final Instant HOUR = Granularity.HOUR.windowStart(Instant.now()).minus(Duration.ofHours(3));

    @Test
    void twoInstancesBuildingTwoBlocksAtOnceAnnounceTheWholeWindow() throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.create("whole_window_test");
        try (Connection c = ds.getConnection()) {
            new CatalogStore(ds).register(c, TAP);
        }
        new DeltaPartitions(ds).ensure(HOUR, HOUR.plus(Duration.ofHours(1)));
        Instant minute = HOUR.plus(Duration.ofMinutes(5));
        for (int block = 0; block < 2; block++) {
            try (Connection c = ds.getConnection()) {
                new WindowDeltaStore().append(c, List.of(new WindowDeltaStore.Append(new TapMinute("blocks", "1",
                        "wide", minute, block), new SlicedRows.Builder(2).add(Slice.ALL, List.of(new float[] {1f, 2f},
                        new float[] {3f, 4f})).build())));
            }
        }
        List<Compaction.Built> announced = new CopyOnWriteArrayList<>();
        Compaction.Listener listener = new Compaction.Listener() {
            @Override
            public void built(Compaction.Built built) {
                announced.add(built);
            }

            @Override
            public void failed(String what, RuntimeException cause) {
                throw cause;
            }
        };
        Compaction first = new Compaction(ds, 200, Duration.ofMinutes(5), listener);
        Compaction second = new Compaction(ds, 200, Duration.ofMinutes(5), listener);
        // the minutes folded, the hour not final yet
        assertEquals(2, first.run(minute.plus(Duration.ofMinutes(2))).folded());
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "PERFORM pg_sleep(2); RETURN NULL; END $$");
            s.execute("CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON tap_window DEFERRABLE INITIALLY "
                    + "DEFERRED FOR EACH ROW WHEN (NEW.granularity = 'hour') EXECUTE FUNCTION slow_commit()");
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Boolean> block0 = pool.submit(() -> first.build(new WindowKey("blocks", "1", "wide", Slice.ALL,
                    Granularity.HOUR, HOUR, 0)));
            Future<Boolean> block1 = pool.submit(() -> second.build(new WindowKey("blocks", "1", "wide", Slice.ALL,
                    Granularity.HOUR, HOUR, 1)));
            assertTrue(block0.get(30, TimeUnit.SECONDS) && block1.get(30, TimeUnit.SECONDS), "both blocks built");
        } finally {
            pool.shutdownNow();
        }
        assertTrue(!announced.isEmpty(), "the whole hour is announced");
        for (Compaction.Built b : announced) {
            assertEquals(new WindowKey("blocks", "1", "wide", Slice.ALL, Granularity.HOUR, HOUR, 0), b.key());
            assertEquals(2, b.observationCount());
        }
    }
}

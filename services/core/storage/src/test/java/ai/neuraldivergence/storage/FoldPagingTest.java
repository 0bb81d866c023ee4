package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.TapMinute;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A compaction pass pages past the minutes it cannot fold: a full batch of them (here two batches of 5 listed at a
 * time, and one more: tap minutes whose deltas name a slice twice, so that each fold fails) no longer stops the pass
 * before every later minute, which stayed unfolded (and its hour unbuilt) for as long as the broken ones did.
 */
class FoldPagingTest {

    private static final int BATCH = 5;
    private static final int BROKEN = 2 * BATCH + 1;

    @Test
    void minutesThatCannotBeFoldedDoNotHoldBackTheMinutesAfterThem() throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.create("fold_paging_test");
        Instant broken = Granularity.MINUTE.windowStart(Instant.now()).minus(Duration.ofMinutes(30));
        Instant later = broken.plusSeconds(60);
        new DeltaPartitions(ds).ensure(broken, later.plusSeconds(60));
        List<float[]> one = List.of(new float[] {1f, 2f});
        List<WindowDeltaStore.Append> appends = new ArrayList<>();
        for (int t = 0; t < BROKEN; t++) {
            appends.add(new WindowDeltaStore.Append(new TapMinute("paged", "1", String.format("tap%04d", t),
                    broken, 0), new SlicedRows.Builder(2).add(Slice.ALL, one).add(Slice.predictedClass(1), one)
                    .build()));
        }
        appends.add(new WindowDeltaStore.Append(new TapMinute("paged", "1", "sound", later, 0),
                new SlicedRows.Builder(2).add(Slice.ALL, one).build()));
        try (Connection c = ds.getConnection()) {
            new WindowDeltaStore().append(c, appends);
            try (var ps = c.prepareStatement("UPDATE window_delta SET slices[2] = slices[1] WHERE window_start = ?")) {
                ps.setTimestamp(1, java.sql.Timestamp.from(broken));
                assertEquals(BROKEN, ps.executeUpdate());
            }
        }

        Compaction.Pass pass = new Compaction(ds, 200, Duration.ofMinutes(5), Compaction.Listener.NONE,
                Compaction.FOLD_BYTES, BATCH)
                .run(later.plus(Duration.ofMinutes(20)));
        assertEquals(BROKEN, pass.failed(), "every broken minute tried, and counted");
        assertEquals(1, pass.folded(), "the later minute is folded");
        assertEquals(1, new TapWindowStore(ds).read("paged", "1", "sound", Slice.ALL, Granularity.MINUTE, later,
                later.plusSeconds(60)).size());
    }
}

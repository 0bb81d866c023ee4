package ai.neuraldivergence.storage;

import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;

/**
 * The hourly partitions of {@code window_delta} and {@code exemplar_delta}. Made ahead of the traffic, and on demand
 * for a delta whose hour has none (a replay of older records); retired by detaching and dropping them once every
 * delta in them is folded and their minutes are final, never by deleting rows ({@link TimePartitions}).
 */
public final class DeltaPartitions {

    /** The partitioned tables of deltas: window deltas and exemplar deltas. */
    public static final String WINDOWS = "window_delta";
    public static final String EXEMPLARS = "exemplar_delta";

    private final TimePartitions partitions;
    private final String table;

    /** The partitions of {@code window_delta}. */
    public DeltaPartitions(DataSource dataSource) {
        this(dataSource, WINDOWS);
    }

    /** The partitions of {@code table}, one of {@link #WINDOWS} and {@link #EXEMPLARS}. */
    public DeltaPartitions(DataSource dataSource, String table) {
        if (!WINDOWS.equals(table) && !EXEMPLARS.equals(table)) {
            throw new IllegalArgumentException("not a delta table: " + table);
        }
        this.partitions = new TimePartitions(dataSource, PartitionLayout.of(table));
        this.table = table;
    }

    /** The table partitioned: {@link #WINDOWS} or {@link #EXEMPLARS}. */
    public String table() {
        return table;
    }

    /** The name of the partition holding {@code hour}'s window deltas. */
    public static String partitionName(Instant hour) {
        return PartitionLayout.ranges(WINDOWS, PartitionLayout.Width.HOUR).path(hour, "").get(0).name();
    }

    /** Makes sure every hour in {@code [from, to]} has its partition; returns how many were created. */
    public int ensure(Instant from, Instant to) {
        return partitions.ensure(from, to);
    }

    /** Makes sure the hours of these minutes have partitions (known ones cost nothing). */
    public void ensureFor(java.util.Collection<Instant> minutes) {
        partitions.ensureFor("", minutes);
    }

    /** Forgets what it knows, after a missing partition was reported: the next write asks the database. */
    public void forgetAll() {
        partitions.forgetAll();
    }

    /** An attached partition and the hour it holds. */
    public record Partition(String name, Instant hour, boolean detachPending) {
    }

    /** The attached partitions, oldest first. */
    public List<Partition> list() {
        return partitions.list().stream().filter(a -> a.part().from() != null)
                .map(a -> new Partition(a.part().name(), a.part().from(), a.detachPending())).toList();
    }

    /** How many partitions start after {@code now}. */
    public long ahead(Instant now) {
        return partitions.ahead(now);
    }

    /** What a retirement pass did: partitions dropped, kept with unfolded deltas, and failed (tried again). */
    public record Retired(int dropped, List<String> keptUnfolded, List<String> failed) {
    }

    /**
     * Detaches and drops every partition whose hour ended before {@code finalBefore} (its minutes are final: no
     * delta can reach them any more) and whose deltas are all folded. One that holds an unfolded delta is kept and
     * reported; one found to hold one after its detach (a flush that slipped in) is attached again and reported.
     */
    public Retired retire(Instant finalBefore) {
        TimePartitions.Retired r = partitions.retire((c, p) -> {
            if (p.to() == null || p.to().isAfter(finalBefore)) {
                return TimePartitions.Verdict.KEEP;
            }
            return TimePartitions.any(c, p.name(), "NOT folded") ? TimePartitions.Verdict.HOLD
                    : TimePartitions.Verdict.DROP;
        });
        return new Retired(r.dropped().size(), r.held(), r.failed());
    }
}

package ai.neuraldivergence.storage;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;

/**
 * Retention of stored windows and exemplars by dropping their partitions. A partition goes once its range is past
 * its granularity's retention and final, and only when what it holds is held elsewhere: a minute partition once the
 * hour row of every minute row in it is built and no delta of its hour is unfolded, an hour partition once the day of
 * every hour row in it is built, a month (its day rows) once its minute and hour partitions are gone. One past its
 * retention that cannot go yet is kept and reported (a roll-up that fell behind must never turn retention into data
 * loss). The rows stored before partitioning are deleted in bounded batches as before, and their table dropped once
 * empty and past finality.
 */
public final class WindowRetention {

    /** How long each granularity is kept. */
    public record Spans(Duration minute, Duration hour, Duration day) {
    }

    /** What a pass did, per table. */
    public record Pass(TimePartitions.Retired windows, TimePartitions.Retired exemplars) {
    }

    private static final String ORIGIN = "'2000-01-01 00:00+00'";

    private final TimePartitions windows;
    private final TimePartitions exemplars;

    public WindowRetention(DataSource dataSource) {
        this.windows = new TimePartitions(dataSource, PartitionLayout.of("tap_window"));
        this.exemplars = new TimePartitions(dataSource, PartitionLayout.of("neuron_exemplars"));
    }

    /** Retires what has expired at {@code now}, with minutes final before {@code finalBefore}. */
    public Pass run(Instant now, Instant finalBefore, Spans spans) {
        // each table on its own: one that cannot be listed (a lock, a lost connection) does not stop the other
        return new Pass(isolated(windows, () -> windows.retire((c, p) -> judgeWindows(c, p, now, finalBefore,
                spans))), isolated(exemplars, () -> exemplars.retire((c, p) -> judgeExemplars(c, p, now,
                        finalBefore, spans))));
    }

    private static TimePartitions.Retired isolated(TimePartitions table,
            java.util.function.Supplier<TimePartitions.Retired> pass) {
        try {
            return pass.get();
        } catch (StorageException e) {
            return new TimePartitions.Retired(List.of(), List.of(), List.of(table.layout().root() + ": "
                    + e.getMessage() + (e.getCause() == null ? "" : ": " + e.getCause().getMessage())));
        }
    }

    static TimePartitions.Verdict judgeWindows(Connection c, PartitionLayout.Part p, Instant now,
            Instant finalBefore, Spans spans) throws SQLException {
        switch (p.kind()) {
            case "minute" -> {
                if (p.to().isAfter(now.minus(spans.minute())) || p.to().isAfter(finalBefore)) {
                    return TimePartitions.Verdict.KEEP;
                }
                boolean held = TimePartitions.any(c, p.name(), "NOT " + coarser("hour", "1 hour"))
                        || TimePartitions.any(c, "window_delta", "NOT r.folded AND r.window_start >= "
                                + PartitionLayout.literal(p.from()) + " AND r.window_start < "
                                + PartitionLayout.literal(p.to()));
                return held ? TimePartitions.Verdict.HOLD : TimePartitions.Verdict.DROP;
            }
            case "hour" -> {
                if (p.to().isAfter(now.minus(spans.hour())) || p.to().isAfter(finalBefore)) {
                    return TimePartitions.Verdict.KEEP;
                }
                return TimePartitions.any(c, p.name(), "NOT " + coarser("day", "1 day"))
                        ? TimePartitions.Verdict.HOLD : TimePartitions.Verdict.DROP;
            }
            case "month" -> {
                if (p.to().isAfter(now.minus(spans.day())) || p.to().isAfter(finalBefore)) {
                    return TimePartitions.Verdict.KEEP;
                }
                // its minutes and hours are retired first (their retention is shorter): one still there is held
                return hasPartitions(c, List.of(p.name() + "_minute", p.name() + "_hour"))
                        ? TimePartitions.Verdict.HOLD : TimePartitions.Verdict.DROP;
            }
            case PartitionLayout.LEGACY -> {
                // emptied by the batched deletes; dropped once no fold or build can write into its range any more
                // (a day row is built up to a day after its last minute is final)
                return p.to() != null && p.to().isBefore(finalBefore.minus(Duration.ofDays(2)))
                        && !TimePartitions.any(c, p.name(), "true") ? TimePartitions.Verdict.DROP
                                : TimePartitions.Verdict.KEEP;
            }
            default -> {
                return TimePartitions.Verdict.KEEP;
            }
        }
    }

    static TimePartitions.Verdict judgeExemplars(Connection c, PartitionLayout.Part p, Instant now,
            Instant finalBefore, Spans spans) throws SQLException {
        if (PartitionLayout.LEGACY.equals(p.kind())) {
            return p.to() != null && !p.to().isAfter(finalBefore) && !TimePartitions.any(c, p.name(), "true")
                    ? TimePartitions.Verdict.DROP : TimePartitions.Verdict.KEEP;
        }
        // exemplars are kept as long as the minutes they belong to
        if (p.to().isAfter(now.minus(spans.minute())) || p.to().isAfter(finalBefore)) {
            return TimePartitions.Verdict.KEEP;
        }
        return TimePartitions.any(c, "exemplar_delta", "NOT r.folded AND r.window_start >= "
                + PartitionLayout.literal(p.from()) + " AND r.window_start < " + PartitionLayout.literal(p.to()))
                ? TimePartitions.Verdict.HOLD
                        : TimePartitions.Verdict.DROP;
    }

    /** The row {@code r}'s coarser window (its hour or day) exists. */
    private static String coarser(String granularity, String width) {
        return "EXISTS (SELECT 1 FROM tap_window b WHERE b.model_id = r.model_id AND b.model_version = "
                + "r.model_version AND b.tap = r.tap AND b.block = r.block AND b.granularity = '" + granularity + "' AND "
                + "b.slice = r.slice "
                + "AND b.window_start = date_bin('" + width + "', r.window_start, " + ORIGIN + "))";
    }

    private static boolean hasPartitions(Connection c, List<String> parents) throws SQLException {
        for (String parent : parents) {
            if (TimePartitions.any(c, "pg_inherits", "r.inhparent = to_regclass('" + parent + "')")) {
                return true;
            }
        }
        return false;
    }

    /** The windows' partitions, to make ahead and on demand. */
    public TimePartitions windows() {
        return windows;
    }

    public TimePartitions exemplars() {
        return exemplars;
    }
}

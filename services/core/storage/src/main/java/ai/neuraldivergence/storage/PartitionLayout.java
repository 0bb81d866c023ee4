package ai.neuraldivergence.storage;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How one table is partitioned by time: which partitions hold the rows of an instant, what they are called, and which
 * of them are retired as a whole. Plain names and bounds; {@link TimePartitions} makes and drops them.
 *
 * <p>Most tables have one level: a range partition per hour (deltas, exemplars) or per ten minutes (the recent store,
 * late labels). {@code tap_window} has three, because its granularities are kept for different times: by month, then
 * by granularity, then minutes by hour and hours by day (the month's day rows are one partition). Time comes first,
 * not granularity, so that the rows stored before partitioning, of every granularity, can be attached as they are
 * as the first range (a copy of them would write them all again).
 */
public final class PartitionLayout {

    /** How wide one partition is, in UTC. */
    public enum Width {
        TEN_MINUTES, HOUR, DAY, MONTH;

        public Instant floor(Instant t) {
            return switch (this) {
                case TEN_MINUTES -> {
                    Instant m = t.truncatedTo(ChronoUnit.MINUTES);
                    yield m.minus(m.atZone(ZoneOffset.UTC).getMinute() % 10, ChronoUnit.MINUTES);
                }
                case HOUR -> t.truncatedTo(ChronoUnit.HOURS);
                case DAY -> t.truncatedTo(ChronoUnit.DAYS);
                case MONTH -> ZonedDateTime.ofInstant(t, ZoneOffset.UTC).withDayOfMonth(1).truncatedTo(ChronoUnit.DAYS)
                        .toInstant();
            };
        }

        public Instant next(Instant start) {
            return switch (this) {
                case TEN_MINUTES -> start.plus(10, ChronoUnit.MINUTES);
                case HOUR -> start.plus(1, ChronoUnit.HOURS);
                case DAY -> start.plus(1, ChronoUnit.DAYS);
                case MONTH -> ZonedDateTime.ofInstant(start, ZoneOffset.UTC).plusMonths(1).toInstant();
            };
        }

        /**
         * A partition name's suffix: the start's digits down to the width (yyyyMM, yyyyMMdd, yyyyMMdd_HH,
         * yyyyMMdd_HHmm), a year of more than four digits written out and one before year 1 led by "n" (PostgreSQL
         * keeps years up to 294,276, and a client may send one).
         */
        String format(Instant start) {
            ZonedDateTime z = ZonedDateTime.ofInstant(start, ZoneOffset.UTC);
            String year = (z.getYear() < 0 ? "n" : "") + String.format("%04d", Math.abs(z.getYear()));
            return switch (this) {
                case MONTH -> year + String.format("%02d", z.getMonthValue());
                case DAY -> year + String.format("%02d%02d", z.getMonthValue(), z.getDayOfMonth());
                case HOUR -> year + String.format("%02d%02d_%02d", z.getMonthValue(), z.getDayOfMonth(),
                        z.getHour());
                case TEN_MINUTES -> year + String.format("%02d%02d_%02d%02d", z.getMonthValue(), z.getDayOfMonth(),
                        z.getHour(), z.getMinute());
            };
        }

        /** The start a name's suffix stands for; null when it is not one of this width (strictly: it formats back). */
        Instant parse(String suffix) {
            // the year takes what the fields after it leave
            Matcher m = Pattern.compile(switch (this) {
                case MONTH -> "(n?)([0-9]{4,})([0-9]{2})()()()";
                case DAY -> "(n?)([0-9]{4,})([0-9]{2})([0-9]{2})()()";
                case HOUR -> "(n?)([0-9]{4,})([0-9]{2})([0-9]{2})_([0-9]{2})()";
                case TEN_MINUTES -> "(n?)([0-9]{4,})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]{2})";
            }).matcher(suffix);
            if (!m.matches()) {
                return null;
            }
            try {
                int year = Integer.parseInt(m.group(2)) * (m.group(1).isEmpty() ? 1 : -1);
                Instant t = ZonedDateTime.of(year, Integer.parseInt(m.group(3)),
                        m.group(4).isEmpty() ? 1 : Integer.parseInt(m.group(4)),
                        m.group(5).isEmpty() ? 0 : Integer.parseInt(m.group(5)),
                        m.group(6).isEmpty() ? 0 : Integer.parseInt(m.group(6)), 0, 0, ZoneOffset.UTC).toInstant();
                return floor(t).equals(t) && format(t).equals(suffix) ? t : null;
            } catch (RuntimeException e) {
                return null; // not a date
            }
        }
    }

    /** An instant as a PostgreSQL timestamptz literal, whatever its year (ISO 8601's "+12000-..." is refused). */
    public static String literal(Instant t) {
        ZonedDateTime z = ZonedDateTime.ofInstant(t, ZoneOffset.UTC);
        int year = z.getYear();
        String time = String.format("%04d-%02d-%02d %02d:%02d:%02d.%06d+00", year > 0 ? year : 1 - year,
                z.getMonthValue(), z.getDayOfMonth(), z.getHour(), z.getMinute(), z.getSecond(), z.getNano() / 1000);
        return "'" + time + (year > 0 ? "" : " BC") + "'";
    }

    /**
     * One table of the tree: attached to {@code parent} for {@code [from, to)} (from null: everything before
     * {@code to}) or, with a list value, for that value; partitioned itself when {@code partitionBy} is set. Its kind
     * says which rows it holds ("" for a table with one kind; a granularity in {@code tap_window}; "legacy" for the
     * rows stored before partitioning).
     */
    public record Part(String name, String parent, String kind, Instant from, Instant to, String listValue,
            String partitionBy) {
    }

    /** The kind of the table stored before partitioning, attached whole as the first range. */
    public static final String LEGACY = "legacy";

    private final String root;
    private final List<String> kinds;
    private final Width width;
    private final boolean byGranularity;

    private PartitionLayout(String root, Width width, boolean byGranularity) {
        this.root = root;
        this.width = width;
        this.byGranularity = byGranularity;
        this.kinds = byGranularity ? List.of("minute", "hour", "day") : List.of("");
    }

    /** One range partition per {@code width}. */
    public static PartitionLayout ranges(String root, Width width) {
        return new PartitionLayout(root, width, false);
    }

    /** Every table partitioned by time. */
    public static final List<String> TABLES = List.of("window_delta", "exemplar_delta", "tap_window",
            "neuron_exemplars", "recent_observation", "captured_input", "late_label");

    /**
     * The layout of one of {@link #TABLES}: deltas and exemplars by hour (a fold takes a minute, retention is hours),
     * the recent store and labels by ten minutes (kept for an hour or less: an hour a partition would keep up to twice
     * what the ttl says), windows by {@link #windows()}.
     */
    public static PartitionLayout of(String table) {
        return switch (table) {
            case "tap_window" -> windows();
            case "window_delta", "exemplar_delta", "neuron_exemplars" -> ranges(table, Width.HOUR);
            case "recent_observation", "captured_input", "late_label" -> ranges(table, Width.TEN_MINUTES);
            default -> throw new IllegalArgumentException("not partitioned by time: " + table);
        };
    }

    /** {@code tap_window}: months, then granularities, then minutes by hour and hours by day. */
    public static PartitionLayout windows() {
        return new PartitionLayout("tap_window", Width.MONTH, true);
    }

    public String root() {
        return root;
    }

    public List<String> kinds() {
        return kinds;
    }

    /** The name of the rows stored before partitioning, attached as the first range. */
    public String legacyName() {
        return root + "_unpartitioned";
    }

    /** How wide the leaves holding rows of {@code kind} are. */
    public Width width(String kind) {
        if (!byGranularity) {
            return width;
        }
        return switch (kind) {
            case "minute" -> Width.HOUR;
            case "hour" -> Width.DAY;
            case "day" -> Width.MONTH;
            default -> throw new IllegalArgumentException("not a granularity: " + kind);
        };
    }

    /** The tables holding rows of {@code kind} at {@code t}, outermost first; the last one is the leaf. */
    public List<Part> path(Instant t, String kind) {
        if (!byGranularity) {
            Instant from = width.floor(t);
            return List.of(new Part(root + "_" + width.format(from), root, "", from, width.next(from), null, null));
        }
        Instant month = Width.MONTH.floor(t);
        Part shell = shell(month);
        String child = shell.name() + "_" + kind;
        if (kind.equals("day")) {
            return List.of(shell, new Part(child, shell.name(), "day", month, shell.to(), "day", null));
        }
        Width w = width(kind);
        Instant from = w.floor(t);
        return List.of(shell,
                new Part(child, shell.name(), kind + "s", month, shell.to(), kind, "RANGE (window_start)"),
                new Part(root + "_" + kind + "_" + w.format(from), child, kind, from, w.next(from), null, null));
    }

    private Part shell(Instant month) {
        return new Part(root + "_" + Width.MONTH.format(month), root, "month", month, Width.MONTH.next(month), null,
                "LIST (granularity)");
    }

    /** The part a table name stands for; empty when the name is not one this layout makes. */
    public Optional<Part> parse(String name) {
        if (name.equals(legacyName())) {
            return Optional.of(new Part(name, root, LEGACY, null, null, null, null));
        }
        if (!name.startsWith(root + "_")) {
            return Optional.empty();
        }
        String rest = name.substring(root.length() + 1);
        if (!byGranularity) {
            Instant from = width.parse(rest);
            return from == null ? Optional.empty() : Optional.of(path(from, "").get(0));
        }
        for (String kind : List.of("minute", "hour")) {
            if (rest.startsWith(kind + "_")) {
                Instant from = width(kind).parse(rest.substring(kind.length() + 1));
                return from == null ? Optional.empty() : Optional.of(path(from, kind).get(2));
            }
        }
        int sep = rest.indexOf('_');
        Instant month = Width.MONTH.parse(sep < 0 ? rest : rest.substring(0, sep));
        if (month == null) {
            return Optional.empty();
        }
        if (sep < 0) {
            return Optional.of(shell(month));
        }
        String kind = rest.substring(sep + 1);
        return kinds.contains(kind) ? Optional.of(path(month, kind).get(1)) : Optional.empty();
    }

    /**
     * Whether a part is retired as a whole: every leaf of a one-level table, the legacy table, and in
     * {@code tap_window} the minute and hour leaves and the month (with its day rows), not the month's granularity
     * tables.
     */
    public boolean retiredWhole(Part p) {
        return !byGranularity || p.kind().equals(LEGACY) || p.kind().equals("minute") || p.kind().equals("hour")
                || p.kind().equals("month");
    }
}

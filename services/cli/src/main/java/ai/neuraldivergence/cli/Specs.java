package ai.neuraldivergence.cli;

import ai.neuraldivergence.wire.WireMapping;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TimeRange;
import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Selections as typed on a command line: {@code ref:training}, {@code last:15m}, or {@code FROM/TO} (ISO-8601
 * instants), each optionally narrowed by {@code @SLICE} ({@code @predicted=3}, {@code @label=3},
 * {@code @tag:source=prod}, {@code @pair=attacked}).
 */
final class Specs {

    private Specs() {
    }

    static Selection selection(String spec) {
        String source = spec;
        Selection.Builder b = Selection.newBuilder();
        int at = spec.indexOf('@');
        if (at >= 0) {
            source = spec.substring(0, at);
            b.setSlice(WireMapping.slice(Slice.parse(spec.substring(at + 1))));
        }
        if (source.startsWith("ref:")) {
            return b.setReference(source.substring(4)).build();
        }
        return b.setTimeRange(range(source)).build();
    }

    static TimeRange range(String source) {
        Instant now = Instant.now();
        if (source.startsWith("last:")) {
            Duration d = duration(source.substring(5));
            return TimeRange.newBuilder().setFrom(ts(now.minus(d))).setTo(ts(now)).build();
        }
        int slash = source.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("a selection is ref:NAME, last:DURATION (15m, 2h, 7d) or FROM/TO "
                    + "(ISO-8601 instants), optionally followed by @SLICE; got '" + source + "'");
        }
        try {
            return TimeRange.newBuilder().setFrom(ts(Instant.parse(source.substring(0, slash))))
                    .setTo(ts(Instant.parse(source.substring(slash + 1)))).build();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("cannot read '" + source + "' as FROM/TO: " + e.getMessage());
        }
    }

    static Duration duration(String s) {
        if (s.length() < 2) {
            throw new IllegalArgumentException("a duration is a number and s, m, h or d; got '" + s + "'");
        }
        long n;
        try {
            n = Long.parseLong(s.substring(0, s.length() - 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("a duration is a number and s, m, h or d; got '" + s + "'");
        }
        return switch (s.charAt(s.length() - 1)) {
            case 's' -> Duration.ofSeconds(n);
            case 'm' -> Duration.ofMinutes(n);
            case 'h' -> Duration.ofHours(n);
            case 'd' -> Duration.ofDays(n);
            default -> throw new IllegalArgumentException("a duration ends in s, m, h or d; got '" + s + "'");
        };
    }

    static Timestamp ts(Instant t) {
        return WireMapping.timestamp(t);
    }

    static String time(Timestamp t) {
        return WireMapping.instant(t).toString();
    }
}

package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.service.SelectionReader;
import ai.neuraldivergence.contract.ProtoSlices;
import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.proto.v1.Metric;
import ai.neuraldivergence.proto.v1.NonFiniteCounts;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TapInfo;
import ai.neuraldivergence.proto.v1.TimeRange;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.Arrays;

/** Between the wire's v1 messages and the domain's types; malformed input raises IllegalArgumentException. */
final class ProtoMapping {

    private ProtoMapping() {
    }

    /** One side of a comparison: a reference or a time range, in a slice (all when unset). */
    static SelectionReader.Side side(Selection s, String name) {
        ai.neuraldivergence.domain.Slice slice = s.hasSlice() ? ProtoSlices.fromProto(s.getSlice())
                : ai.neuraldivergence.domain.Slice.ALL;
        switch (s.getSourceCase()) {
            case REFERENCE -> {
                if (s.getReference().isEmpty()) {
                    throw new IllegalArgumentException("selection " + name + ": reference name is empty");
                }
                return new SelectionReader.ReferenceSide(s.getReference(), slice);
            }
            case TIME_RANGE -> {
                TimeRange r = s.getTimeRange();
                if (!r.hasFrom() || !r.hasTo()) {
                    throw new IllegalArgumentException("selection " + name + ": time_range needs from and to");
                }
                try {
                    return new SelectionReader.RangeSide(instant(r.getFrom()), instant(r.getTo()), slice);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("selection " + name + ": " + e.getMessage());
                }
            }
            default -> throw new IllegalArgumentException("selection " + name + " needs a reference or a time_range");
        }
    }

    static Divergence.Metric metric(Metric m) {
        return switch (m) {
            case METRIC_UNSPECIFIED, METRIC_KS -> Divergence.Metric.KS;
            case METRIC_WASSERSTEIN -> Divergence.Metric.WASSERSTEIN;
            case METRIC_JENSEN_SHANNON -> Divergence.Metric.JENSEN_SHANNON;
            case METRIC_PSI -> Divergence.Metric.PSI;
            case METRIC_MEAN_SHIFT -> Divergence.Metric.MEAN_SHIFT;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown metric");
        };
    }

    static Metric metric(Divergence.Metric m) {
        return switch (m) {
            case KS -> Metric.METRIC_KS;
            case WASSERSTEIN -> Metric.METRIC_WASSERSTEIN;
            case JENSEN_SHANNON -> Metric.METRIC_JENSEN_SHANNON;
            case PSI -> Metric.METRIC_PSI;
            case MEAN_SHIFT -> Metric.METRIC_MEAN_SHIFT;
        };
    }

    static TapInfo tapInfo(TapDescriptor t) {
        return TapInfo.newBuilder().setName(t.tap()).setIndex(t.tapIndex())
                .addAllShape(Arrays.stream(t.shape()).boxed().toList()).setNeuronCount(t.neuronCount())
                .setReduction(switch (t.reduction()) {
                    case NONE -> Reduction.REDUCTION_NONE;
                    case MAX -> Reduction.REDUCTION_MAX;
                    case MEAN -> Reduction.REDUCTION_MEAN;
                }).build();
    }

    static ai.neuraldivergence.proto.v1.Granularity granularity(ai.neuraldivergence.domain.Granularity g) {
        return switch (g) {
            case MINUTE -> ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_MINUTE;
            case HOUR -> ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_HOUR;
            case DAY -> ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_DAY;
        };
    }

    static ai.neuraldivergence.proto.v1.Monitor monitor(
            ai.neuraldivergence.comparison.service.Monitors.Status s) {
        var d = s.definition();
        ai.neuraldivergence.proto.v1.Monitor.Builder m = ai.neuraldivergence.proto.v1.Monitor.newBuilder()
                .setName(d.name()).setModelId(d.modelId()).setTap(s.tap()).setReference(d.reference())
                .setSlice(ProtoSlices.toProto(d.slice())).setMetric(metric(d.metric())).setThreshold(d.threshold())
                .setWindowsInARow(d.windowsInARow())
                .setState(s.drifting() ? ai.neuraldivergence.proto.v1.MonitorState.MONITOR_STATE_DRIFTING
                        : ai.neuraldivergence.proto.v1.MonitorState.MONITOR_STATE_OK);
        if (s.since() != null) {
            m.setSince(timestamp(s.since()));
        }
        if (!Double.isNaN(s.value())) {
            m.setCurrentValue(s.value());
        }
        return m.build();
    }

    static NonFiniteCounts nonFinite(Divergence.NonFinite n) {
        return NonFiniteCounts.newBuilder().setNan(n.nan()).setPositiveInfinity(n.positiveInfinity())
                .setNegativeInfinity(n.negativeInfinity()).build();
    }

    /** The first instant protobuf's {@code Timestamp} can hold: 0001-01-01T00:00:00Z. */
    static final Instant MIN_TIMESTAMP = Instant.parse("0001-01-01T00:00:00Z");
    /** The last instant protobuf's {@code Timestamp} can hold: 9999-12-31T23:59:59.999999999Z. */
    static final Instant MAX_TIMESTAMP = Instant.parse("9999-12-31T23:59:59.999999999Z");

    /** A requested instant; one outside protobuf's {@code Timestamp} range (or with invalid nanos) is malformed. */
    static Instant instant(Timestamp t) {
        if (t.getSeconds() < MIN_TIMESTAMP.getEpochSecond() || t.getSeconds() > MAX_TIMESTAMP.getEpochSecond()
                || t.getNanos() < 0 || t.getNanos() > 999_999_999) {
            throw new IllegalArgumentException("a timestamp must lie in 0001-01-01T00:00:00Z..9999-12-31T23:59:59"
                    + ".999999999Z, got " + t.getSeconds() + " s " + t.getNanos() + " ns since 1970");
        }
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }

    /**
     * A stored instant on the wire, clamped to protobuf's {@code Timestamp} range (0001-01-01..9999-12-31). The
     * database holds what PostgreSQL accepts (years 4713 BC..294276 AD), and one event time far outside protobuf's
     * range once made every answer that carried it fail ("Timestamp is not valid" when the JSON mirror printed the
     * catalog), so that the UI showed nothing at all. Producers no longer store such instants, but one already
     * stored must not take the API down with it: it reads as the nearest instant the API can say.
     */
    static Timestamp timestamp(Instant t) {
        Instant clamped = t.isBefore(MIN_TIMESTAMP) ? MIN_TIMESTAMP : t.isAfter(MAX_TIMESTAMP) ? MAX_TIMESTAMP : t;
        return Timestamp.newBuilder().setSeconds(clamped.getEpochSecond()).setNanos(clamped.getNano()).build();
    }
}

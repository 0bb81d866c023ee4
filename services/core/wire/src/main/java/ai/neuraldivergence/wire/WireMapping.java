package ai.neuraldivergence.wire;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.PairRole;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import ai.neuraldivergence.proto.v1.Metric;
import ai.neuraldivergence.proto.v1.MonitorMode;
import ai.neuraldivergence.proto.v1.MonitorSource;
import ai.neuraldivergence.proto.v1.MonitorState;
import ai.neuraldivergence.proto.v1.NonFiniteCounts;
import ai.neuraldivergence.proto.v1.Tag;
import ai.neuraldivergence.proto.v1.TapInfo;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.Arrays;

/**
 * Between the wire's v1 messages and the domain's types, both ways: slices, timestamps, the enums both sides name,
 * a tap's layout. Every service maps here, so that a concept has one translation. Malformed wire values raise
 * {@link IllegalArgumentException}.
 */
public final class WireMapping {

    /** The first instant protobuf's {@code Timestamp} can hold: 0001-01-01T00:00:00Z. */
    public static final Instant MIN_TIMESTAMP = Instant.parse("0001-01-01T00:00:00Z");
    /** The last instant protobuf's {@code Timestamp} can hold: 9999-12-31T23:59:59.999999999Z. */
    public static final Instant MAX_TIMESTAMP = Instant.parse("9999-12-31T23:59:59.999999999Z");

    private WireMapping() {
    }

    // ------------------------------------------------------------------ slices

    /** The domain slice of a wire slice; an unset slice means all. */
    public static Slice slice(ai.neuraldivergence.proto.v1.Slice s) {
        return switch (s.getKindCase()) {
            case KIND_NOT_SET, ALL -> Slice.ALL;
            case PREDICTED_CLASS -> Slice.predictedClass(s.getPredictedClass());
            case TRUE_LABEL -> Slice.trueLabel(s.getTrueLabel());
            case TAG -> Slice.tag(s.getTag().getKey(), s.getTag().getValue());
            case PAIR_ROLE -> switch (s.getPairRole()) {
                case PAIR_ROLE_BENIGN -> Slice.pairRole(PairRole.BENIGN);
                case PAIR_ROLE_ATTACKED -> Slice.pairRole(PairRole.ATTACKED);
                default -> throw new IllegalArgumentException("slice pair_role must be BENIGN or ATTACKED");
            };
        };
    }

    public static ai.neuraldivergence.proto.v1.Slice slice(Slice s) {
        ai.neuraldivergence.proto.v1.Slice.Builder b = ai.neuraldivergence.proto.v1.Slice.newBuilder();
        return switch (s.kind()) {
            case ALL -> b.setAll(true).build();
            case PREDICTED_CLASS -> b.setPredictedClass(Integer.parseInt(s.value())).build();
            case TRUE_LABEL -> b.setTrueLabel(Integer.parseInt(s.value())).build();
            case TAG -> b.setTag(Tag.newBuilder().setKey(s.tagKey()).setValue(s.value())).build();
            case PAIR_ROLE -> b.setPairRole(pairRole(PairRole.fromWord(s.value()))).build();
        };
    }

    // ------------------------------------------------------------------ time

    /** A wire instant; one outside protobuf's {@code Timestamp} range (or with invalid nanos) is malformed. */
    public static Instant instant(Timestamp t) {
        if (!validTimestamp(t)) {
            throw new IllegalArgumentException("a timestamp must lie in 0001-01-01T00:00:00Z..9999-12-31T23:59:59"
                    + ".999999999Z, got " + t.getSeconds() + " s " + t.getNanos() + " ns since 1970");
        }
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }

    public static boolean validTimestamp(Timestamp t) {
        return t.getSeconds() >= MIN_TIMESTAMP.getEpochSecond() && t.getSeconds() <= MAX_TIMESTAMP.getEpochSecond()
                && t.getNanos() >= 0 && t.getNanos() <= 999_999_999;
    }

    /**
     * An instant on the wire, clamped to protobuf's {@code Timestamp} range (0001-01-01..9999-12-31). The database
     * holds what PostgreSQL accepts (years 4713 BC..294276 AD), and one event time far outside protobuf's range once
     * made every answer that carried it fail ("Timestamp is not valid" when the JSON mirror printed the catalog), so
     * that the UI showed nothing at all. Producers no longer store such instants, but one already stored must not
     * take the API down with it: it reads as the nearest instant the API can say.
     */
    public static Timestamp timestamp(Instant t) {
        Instant clamped = t.isBefore(MIN_TIMESTAMP) ? MIN_TIMESTAMP : t.isAfter(MAX_TIMESTAMP) ? MAX_TIMESTAMP : t;
        return Timestamp.newBuilder().setSeconds(clamped.getEpochSecond()).setNanos(clamped.getNano()).build();
    }

    // ------------------------------------------------------------------ enums

    /** The metric asked for; unspecified means KS. */
    public static Divergence.Metric metric(Metric m) {
        return switch (m) {
            case METRIC_UNSPECIFIED, METRIC_KS -> Divergence.Metric.KS;
            case METRIC_WASSERSTEIN -> Divergence.Metric.WASSERSTEIN;
            case METRIC_JENSEN_SHANNON -> Divergence.Metric.JENSEN_SHANNON;
            case METRIC_PSI -> Divergence.Metric.PSI;
            case METRIC_MEAN_SHIFT -> Divergence.Metric.MEAN_SHIFT;
            case METRIC_MMD -> Divergence.Metric.MMD;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown metric");
        };
    }

    public static Metric metric(Divergence.Metric m) {
        return switch (m) {
            case KS -> Metric.METRIC_KS;
            case WASSERSTEIN -> Metric.METRIC_WASSERSTEIN;
            case JENSEN_SHANNON -> Metric.METRIC_JENSEN_SHANNON;
            case PSI -> Metric.METRIC_PSI;
            case MEAN_SHIFT -> Metric.METRIC_MEAN_SHIFT;
            case MMD -> Metric.METRIC_MMD;
        };
    }

    /** A window size; unspecified is null (the reader chooses). */
    public static Granularity granularity(ai.neuraldivergence.proto.v1.Granularity g) {
        return switch (g) {
            case GRANULARITY_UNSPECIFIED -> null;
            case GRANULARITY_MINUTE -> Granularity.MINUTE;
            case GRANULARITY_HOUR -> Granularity.HOUR;
            case GRANULARITY_DAY -> Granularity.DAY;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown granularity");
        };
    }

    public static ai.neuraldivergence.proto.v1.Granularity granularity(Granularity g) {
        return switch (g) {
            case MINUTE -> ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_MINUTE;
            case HOUR -> ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_HOUR;
            case DAY -> ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_DAY;
        };
    }

    /** A pair member's role; unspecified is null (not part of a pair). */
    public static PairRole pairRole(ai.neuraldivergence.proto.v1.PairRole r) {
        return switch (r) {
            case PAIR_ROLE_UNSPECIFIED -> null;
            case PAIR_ROLE_BENIGN -> PairRole.BENIGN;
            case PAIR_ROLE_ATTACKED -> PairRole.ATTACKED;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown pair_role");
        };
    }

    public static ai.neuraldivergence.proto.v1.PairRole pairRole(PairRole r) {
        return r == PairRole.BENIGN ? ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_BENIGN
                : ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_ATTACKED;
    }

    /** A tap's reduction as a producer declared it; unspecified is malformed (the validator refuses it first). */
    public static Reduction reduction(ai.neuraldivergence.proto.v1.Reduction r) {
        return switch (r) {
            case REDUCTION_MAX -> Reduction.MAX;
            case REDUCTION_MEAN -> Reduction.MEAN;
            case REDUCTION_NONE -> Reduction.NONE;
            default -> throw new IllegalArgumentException("no reduction given");
        };
    }

    public static ai.neuraldivergence.proto.v1.Reduction reduction(Reduction r) {
        return switch (r) {
            case NONE -> ai.neuraldivergence.proto.v1.Reduction.REDUCTION_NONE;
            case MAX -> ai.neuraldivergence.proto.v1.Reduction.REDUCTION_MAX;
            case MEAN -> ai.neuraldivergence.proto.v1.Reduction.REDUCTION_MEAN;
        };
    }

    // ------------------------------------------------------------------ taps

    /** A tap's layout as the API shows it ({@code TapInfo}). */
    public static TapInfo tapInfo(TapDescriptor t) {
        return TapInfo.newBuilder().setName(t.tap()).setIndex(t.tapIndex())
                .addAllShape(Arrays.stream(t.shape()).boxed().toList()).setNeuronCount(t.neuronCount())
                .setReduction(reduction(t.reduction())).build();
    }

    public static NonFiniteCounts nonFinite(Divergence.NonFinite n) {
        return NonFiniteCounts.newBuilder().setNan(n.nan()).setPositiveInfinity(n.positiveInfinity())
                .setNegativeInfinity(n.negativeInfinity()).build();
    }

    public static MonitorDefinition.Mode mode(MonitorMode m) {
        return switch (m) {
            case MONITOR_MODE_UNSPECIFIED, MONITOR_MODE_FIXED -> MonitorDefinition.Mode.FIXED;
            case MONITOR_MODE_CALIBRATED -> MonitorDefinition.Mode.CALIBRATED;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown monitor mode");
        };
    }

    public static MonitorMode mode(MonitorDefinition.Mode m) {
        return switch (m) {
            case FIXED -> MonitorMode.MONITOR_MODE_FIXED;
            case CALIBRATED -> MonitorMode.MONITOR_MODE_CALIBRATED;
        };
    }

    public static MonitorSource source(StoredMonitor.Source s) {
        return switch (s) {
            case API -> MonitorSource.MONITOR_SOURCE_API;
            case CONFIG -> MonitorSource.MONITOR_SOURCE_CONFIG;
        };
    }

    public static MonitorState state(Transition.State s) {
        return switch (s) {
            case OK -> MonitorState.MONITOR_STATE_OK;
            case DRIFTING -> MonitorState.MONITOR_STATE_DRIFTING;
            case INSUFFICIENT_DATA -> MonitorState.MONITOR_STATE_INSUFFICIENT_DATA;
            case INVALID -> MonitorState.MONITOR_STATE_INVALID;
        };
    }
}

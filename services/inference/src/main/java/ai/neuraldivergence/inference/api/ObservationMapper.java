package ai.neuraldivergence.inference.api;

import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.PairRole;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Turns an {@link ObservationRequest} into one {@link ActivationBatch} per tap, checked by the same validator the
 * aggregator applies: what this service accepts, the aggregator can aggregate. Plain Java, no framework.
 */
public final class ObservationMapper {

    public static final int MAX_TAPS = 256;

    private final Clock clock;
    private final int maxObservations;

    public ObservationMapper(Clock clock, int maxObservations) {
        this.clock = clock;
        this.maxObservations = maxObservations;
    }

    /** The batches, and the instance ids assigned (given ones are kept). */
    public record Mapped(List<ActivationBatch> batches, List<String> instanceIds) {
    }

    /** Throws {@link IllegalArgumentException} with a message saying what was expected. */
    public Mapped map(ObservationRequest request) {
        if (request == null) {
            throw new IllegalArgumentException("a JSON body is required");
        }
        List<ObservationRequest.Tap> taps = request.taps();
        List<ObservationRequest.Observation> observations = request.observations();
        if (taps == null || taps.isEmpty() || taps.size() > MAX_TAPS) {
            throw new IllegalArgumentException("taps must list 1.." + MAX_TAPS + " taps");
        }
        if (observations == null || observations.isEmpty() || observations.size() > maxObservations) {
            throw new IllegalArgumentException("observations must hold 1.." + maxObservations + " observations");
        }
        Set<String> names = new HashSet<>();
        for (ObservationRequest.Tap t : taps) {
            if (t == null || t.name() == null || !names.add(t.name())) {
                throw new IllegalArgumentException("every tap needs a name, each name once");
            }
        }
        Instant now = clock.instant();
        List<Observation> metadata = new ArrayList<>(observations.size());
        List<String> ids = new ArrayList<>(observations.size());
        for (int i = 0; i < observations.size(); i++) {
            ObservationRequest.Observation o = observations.get(i);
            if (o == null) {
                throw new IllegalArgumentException("observation " + i + " is null");
            }
            Observation meta = metadata(o, now, i);
            metadata.add(meta);
            ids.add(meta.getInstanceId());
        }
        List<ActivationBatch> batches = new ArrayList<>(taps.size());
        for (ObservationRequest.Tap t : taps) {
            ActivationBatch batch = batch(request, t, observations, metadata);
            ActivationBatchValidator.problem(batch).ifPresent(problem -> {
                throw new IllegalArgumentException("tap '" + t.name() + "': " + problem);
            });
            batches.add(batch);
        }
        return new Mapped(batches, ids);
    }

    private static Observation metadata(ObservationRequest.Observation o, Instant now, int i) {
        if (o.predictedClass() == null) {
            throw new IllegalArgumentException("observation " + i + ": predictedClass is required");
        }
        Instant t = o.eventTime() == null ? now : o.eventTime();
        Observation.Builder b = Observation.newBuilder()
                .setInstanceId(o.instanceId() == null ? UUID.randomUUID().toString() : o.instanceId())
                .setEventTime(Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()))
                .setPredictedClass(o.predictedClass())
                .setConfidence(o.confidence() == null ? 0f : o.confidence());
        if (o.trueLabel() != null) {
            b.setTrueLabel(o.trueLabel());
        }
        if (o.tags() != null) {
            for (Map.Entry<String, String> tag : o.tags().entrySet()) {
                if (tag.getKey() == null || tag.getValue() == null) {
                    throw new IllegalArgumentException("observation " + i + ": tags must be string keys and values");
                }
                b.putTags(tag.getKey(), tag.getValue());
            }
        }
        if (o.pairId() != null) {
            b.setPairId(o.pairId());
        }
        if (o.pairRole() != null) {
            b.setPairRole(switch (o.pairRole().toLowerCase(Locale.ROOT)) {
                case "benign" -> PairRole.PAIR_ROLE_BENIGN;
                case "attacked" -> PairRole.PAIR_ROLE_ATTACKED;
                default -> throw new IllegalArgumentException("observation " + i
                        + ": pairRole must be benign or attacked, got '" + o.pairRole() + "'");
            });
        }
        return b.build();
    }

    private static ActivationBatch batch(ObservationRequest request, ObservationRequest.Tap tap,
            List<ObservationRequest.Observation> observations, List<Observation> metadata) {
        List<Integer> shape = tap.shape() == null ? List.of() : tap.shape();
        int neurons = shape.isEmpty() || shape.contains(null) ? 0 : shape.get(shape.size() - 1);
        ActivationBatch.Builder b = ActivationBatch.newBuilder()
                .setModelId(nullToEmpty(request.modelId()))
                .setModelVersion(nullToEmpty(request.modelVersion()))
                .setTap(tap.name())
                .setTapIndex(tap.index() == null ? -1 : tap.index())
                .addAllTapShape(shape.contains(null) ? List.of() : shape)
                .setNeuronCount(neurons)
                .setReduction(reduction(tap))
                .addAllObservations(metadata);
        for (int i = 0; i < observations.size(); i++) {
            Map<String, List<Float>> activations = observations.get(i).activations();
            List<Float> values = activations == null ? null : activations.get(tap.name());
            if (values == null || values.size() != neurons) {
                throw new IllegalArgumentException("observation " + i + ": activations of tap '" + tap.name()
                        + "' must be " + neurons + " numbers (one per neuron), got "
                        + (values == null ? "none" : values.size()));
            }
            for (Float v : values) {
                if (v == null) {
                    throw new IllegalArgumentException("observation " + i + ": activations of tap '" + tap.name()
                            + "' must be numbers, got null");
                }
                b.addActivations(v);
            }
        }
        return b.build();
    }

    private static Reduction reduction(ObservationRequest.Tap tap) {
        if (tap.reduction() == null) {
            // a rank-2 tap needs none; a rank-4 tap defaults to the channel max, as Summit does
            return tap.shape() != null && tap.shape().size() == 3 ? Reduction.REDUCTION_MAX : Reduction.REDUCTION_NONE;
        }
        return switch (tap.reduction().toLowerCase(Locale.ROOT)) {
            case "none" -> Reduction.REDUCTION_NONE;
            case "max" -> Reduction.REDUCTION_MAX;
            case "mean" -> Reduction.REDUCTION_MEAN;
            default -> throw new IllegalArgumentException("tap '" + tap.name()
                    + "': reduction must be none, max or mean, got '" + tap.reduction() + "'");
        };
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}

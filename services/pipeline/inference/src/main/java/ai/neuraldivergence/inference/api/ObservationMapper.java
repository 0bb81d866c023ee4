package ai.neuraldivergence.inference.api;

import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.inference.capture.TapRows;
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
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Turns an {@link ObservationRequest} into one set of rows per tap, checked field by field with the validator the
 * aggregator applies, before anything is queued: one client's bad request never reaches a batch that carries other
 * clients' observations. Errors name the field as the JSON body spells it. Plain Java, no framework.
 */
public final class ObservationMapper {

    public static final int MAX_TAPS = 256;

    private final Clock clock;
    private final int maxObservations;
    private final ActivationBatchValidator.Rules rules;

    public ObservationMapper(Clock clock, int maxObservations, ActivationBatchValidator.Rules rules) {
        this.clock = clock;
        this.maxObservations = maxObservations;
        this.rules = rules;
    }

    /** Each tap's rows, and the instance ids assigned (given ones are kept). */
    public record Mapped(List<TapRows> taps, List<String> instanceIds) {
    }

    /** Throws {@link IllegalArgumentException} with a message naming the field and saying what was expected. */
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
        List<ActivationBatch> headers = new ArrayList<>(taps.size());
        Set<String> names = new HashSet<>();
        for (int t = 0; t < taps.size(); t++) {
            ObservationRequest.Tap tap = taps.get(t);
            if (tap == null || tap.name() == null || !names.add(tap.name())) {
                throw new IllegalArgumentException("taps[" + t + "]: every tap needs a name, each name once");
            }
            ActivationBatch header = header(request, tap, t);
            String where = "taps[" + t + "] ('" + tap.name() + "')";
            fail(ActivationBatchValidator.headerProblem(header, rules), where + ": ");
            headers.add(header);
        }
        Instant now = clock.instant();
        List<Observation> metadata = new ArrayList<>(observations.size());
        List<String> ids = new ArrayList<>(observations.size());
        for (int i = 0; i < observations.size(); i++) {
            ObservationRequest.Observation o = observations.get(i);
            if (o == null) {
                throw new IllegalArgumentException("observations[" + i + "] is null");
            }
            Observation meta = metadata(o, now, i);
            fail(ActivationBatchValidator.observationProblem(meta, rules, now), "observations[" + i + "].");
            metadata.add(meta);
            ids.add(meta.getInstanceId());
        }
        List<TapRows> rows = new ArrayList<>(taps.size());
        for (int t = 0; t < taps.size(); t++) {
            rows.add(new TapRows(headers.get(t), metadata, activations(taps.get(t), headers.get(t), observations)));
        }
        return new Mapped(rows, ids);
    }

    private static void fail(Optional<String> problem, String where) {
        problem.ifPresent(p -> {
            throw new IllegalArgumentException(where + ActivationBatchValidator.inJsonNames(p));
        });
    }

    private static Observation metadata(ObservationRequest.Observation o, Instant now, int i) {
        if (o.predictedClass() == null) {
            throw new IllegalArgumentException("observations[" + i + "].predictedClass is required");
        }
        if (o.confidence() != null && !(o.confidence() >= 0 && o.confidence() <= 1)) {
            // a probability: NaN or 3 would be stored and shown as one
            throw new IllegalArgumentException("observations[" + i + "].confidence must lie in [0, 1], got "
                    + o.confidence());
        }
        Instant t = o.eventTime() == null ? now : o.eventTime();
        Observation.Builder b = Observation.newBuilder()
                .setInstanceId(o.instanceId() == null ? UUID.randomUUID().toString() : o.instanceId())
                .setPredictedClass(o.predictedClass())
                .setConfidence(o.confidence() == null ? 0f : o.confidence());
        if (!ActivationBatchValidator.representable(t)) {
            throw new IllegalArgumentException("observations[" + i + "].eventTime must lie in "
                    + "0001-01-01..9999-12-31, got " + t);
        }
        b.setEventTime(ai.neuraldivergence.wire.WireMapping.timestamp(t));
        if (o.trueLabel() != null) {
            b.setTrueLabel(o.trueLabel());
        }
        if (o.tags() != null) {
            for (Map.Entry<String, String> tag : o.tags().entrySet()) {
                if (tag.getKey() == null || tag.getValue() == null) {
                    throw new IllegalArgumentException("observations[" + i
                            + "].tags must be string keys and values");
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
                default -> throw new IllegalArgumentException("observations[" + i
                        + "].pairRole must be benign or attacked, got '" + o.pairRole() + "'");
            });
        }
        return b.build();
    }

    private static ActivationBatch header(ObservationRequest request, ObservationRequest.Tap tap, int t) {
        List<Integer> shape = tap.shape() == null ? List.of() : tap.shape();
        int neurons = shape.isEmpty() || shape.contains(null) ? 0 : shape.get(shape.size() - 1);
        ActivationBatch.Builder b = ActivationBatch.newBuilder();
        if (tap.neuronScales() != null) {
            for (float s : tap.neuronScales()) {
                b.addNeuronScales(s);
            }
        }
        return b
                .setModelId(nullToEmpty(request.modelId()))
                .setModelVersion(nullToEmpty(request.modelVersion()))
                .setTap(tap.name())
                .setTapIndex(tap.index() == null ? -1 : tap.index())
                .addAllTapShape(shape.contains(null) ? List.of() : shape)
                .setNeuronCount(neurons)
                .setReduction(reduction(tap, t))
                .setOrigin(ai.neuraldivergence.proto.v1.BatchOrigin.BATCH_ORIGIN_RECORDED)
                .build();
    }

    /** The tap's activations, [observations x neurons], row-major; non-finite values are data. */
    private static float[] activations(ObservationRequest.Tap tap, ActivationBatch header,
            List<ObservationRequest.Observation> observations) {
        int neurons = header.getNeuronCount();
        float[] out = new float[observations.size() * neurons];
        for (int i = 0; i < observations.size(); i++) {
            Map<String, float[]> activations = observations.get(i).activations();
            float[] values = activations == null ? null : activations.get(tap.name());
            if (values == null || values.length != neurons) {
                throw new IllegalArgumentException("observations[" + i + "].activations['" + tap.name()
                        + "'] must be " + neurons + " numbers (one per neuron), got "
                        + (values == null ? "none" : values.length));
            }
            System.arraycopy(values, 0, out, i * neurons, neurons);
        }
        return out;
    }

    private static Reduction reduction(ObservationRequest.Tap tap, int t) {
        if (tap.reduction() == null) {
            // a rank-2 tap needs none; a rank-4 tap defaults to the channel max, as Summit does
            return tap.shape() != null && tap.shape().size() == 3 ? Reduction.REDUCTION_MAX : Reduction.REDUCTION_NONE;
        }
        return switch (tap.reduction().toLowerCase(Locale.ROOT)) {
            case "none" -> Reduction.REDUCTION_NONE;
            case "max" -> Reduction.REDUCTION_MAX;
            case "mean" -> Reduction.REDUCTION_MEAN;
            default -> throw new IllegalArgumentException("taps[" + t + "].reduction must be none, max or mean, got '"
                    + tap.reduction() + "'");
        };
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}

package ai.neuraldivergence.contract;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.PairRole;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * What makes an {@link ActivationBatch} or a {@link LabelEvent} valid: one definition, used by the inference service
 * before anything is queued and by the aggregator before it aggregates (other producers write to Kafka too). Says
 * what is wrong, naming the field, when it is not.
 *
 * <p>Everything a batch carries ends up in PostgreSQL and back in protobuf: strings without control characters (a
 * NUL fails every transaction that carries it) or unpaired surrogates, instants inside protobuf's
 * {@code Timestamp} range (0001..9999; PostgreSQL would store year 294,000 and then no catalog could be answered),
 * a bounded neuron count. Activations may be any float: NaN and the infinities are data, counted per neuron.
 */
public final class ActivationBatchValidator {

    public static final int MAX_NAME_LENGTH = 128;
    /** Neurons per tap unless configured otherwise: see the memory cost in the README. */
    public static final int DEFAULT_MAX_NEURONS = 16_384;
    /** The most any setting may allow: a tap's row beyond it no longer fits PostgreSQL's 1 GB field. */
    public static final int MAX_NEURONS_LIMIT = 262_144;
    public static final int MAX_TAGS = 32;
    /** Layer projections per observation: the layer statistic's feature directions. */
    public static final int PROJECTIONS = 128;
    public static final int MAX_TAG_VALUE_LENGTH = 256;

    public static final Duration DEFAULT_FUTURE_SKEW = Duration.ofMinutes(5);
    /** protobuf's Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z. */
    static final long MIN_TIMESTAMP_SECONDS = -62_135_596_800L;
    static final long MAX_TIMESTAMP_SECONDS = 253_402_300_799L;

    /**
     * The limits both sides apply. Event times are checked against a clock instant: the edge's own clock, or at the
     * aggregator the record's timestamp (so that a replay decides alike).
     *
     * @param maxNeurons the most neurons a tap may have
     * @param futureSkew how far after the clock an event time may lie (clocks drift)
     * @param allowedLateness how far before the clock a live observation's event time may lie; null for no lower
     *     bound (the aggregator drops and counts late observations itself). Reference-tagged observations have no
     *     window and are never late.
     */
    public record Rules(int maxNeurons, Duration futureSkew, Duration allowedLateness) {

        public Rules {
            if (maxNeurons < 1 || maxNeurons > MAX_NEURONS_LIMIT) {
                throw new IllegalArgumentException("the neuron limit must be 1.." + MAX_NEURONS_LIMIT + ", got "
                        + maxNeurons);
            }
            if (futureSkew.isNegative() || (allowedLateness != null && allowedLateness.isNegative())) {
                throw new IllegalArgumentException("skew and lateness must not be negative");
            }
        }

        public static Rules defaults() {
            return new Rules(DEFAULT_MAX_NEURONS, DEFAULT_FUTURE_SKEW, null);
        }
    }

    private ActivationBatchValidator() {
    }

    /** Empty when the batch is valid under {@code rules} at {@code now}, else a message naming the first problem. */
    public static Optional<String> problem(ActivationBatch b, Rules rules, Instant now) {
        Optional<String> header = headerProblem(b, rules);
        if (header.isPresent()) {
            return header;
        }
        if (b.getObservationsCount() == 0 && b.getOrigin() != ai.neuraldivergence.proto.v1.BatchOrigin
                .BATCH_ORIGIN_SERVED) {
            // only the serving inference service declares a layout without observations (at its start)
            return Optional.of("batch has no observations");
        }
        int observations = b.getObservationsCount();
        int free = b.getNeuronCount() - b.getNeuronOffset();
        if (observations == 0 ? b.getActivationsCount() != 0 : b.getActivationsCount() % observations != 0
                || b.getActivationsCount() / observations == 0 || b.getActivationsCount() / observations > free) {
            return Optional.of("activations must hold observations x neurons = " + observations + " x 1.." + free
                    + " floats (the neurons from neuron_offset " + b.getNeuronOffset() + " of " + b.getNeuronCount()
                    + "), got " + b.getActivationsCount());
        }
        Optional<String> projections = projectionsProblem(b);
        if (projections.isPresent()) {
            return projections;
        }
        for (int i = 0; i < b.getObservationsCount(); i++) {
            Optional<String> o = observationProblem(b.getObservations(i), rules, now);
            if (o.isPresent()) {
                return Optional.of("observations[" + i + "]." + o.get());
            }
        }
        return Optional.empty();
    }

    /**
     * The problem of a batch's own fields, observations and activations aside: identity, tap layout, neuron count.
     */
    public static Optional<String> headerProblem(ActivationBatch b, Rules rules) {
        Optional<String> name = nameProblem("model_id", b.getModelId())
                .or(() -> nameProblem("model_version", b.getModelVersion()))
                .or(() -> nameProblem("tap", b.getTap()));
        if (name.isPresent()) {
            return name;
        }
        if (b.getTapIndex() < 0) {
            return Optional.of("tap_index must be >= 0, got " + b.getTapIndex());
        }
        int neurons = b.getNeuronCount();
        if (neurons <= 0 || neurons > rules.maxNeurons()) {
            return Optional.of("neuron_count must be 1.." + rules.maxNeurons() + " (the neuron limit per tap), got "
                    + neurons);
        }
        if (b.getNeuronOffset() < 0 || b.getNeuronOffset() >= neurons) {
            return Optional.of("neuron_offset must be 0.." + (neurons - 1) + " (a neuron of the tap), got "
                    + b.getNeuronOffset());
        }
        if (b.getBlockSize() < 0 || b.getBlockSize() > rules.maxNeurons()) {
            return Optional.of("block_size must be 0 (the stored one) or 1.." + rules.maxNeurons() + ", got "
                    + b.getBlockSize());
        }
        return shapeProblem(b).or(() -> scalesProblem(b));
    }

    /**
     * How many neurons of each observation a valid batch carries (from {@code neuron_offset}): the whole tap for a
     * producer that knows no blocks, 0 for a batch without observations.
     */
    public static int width(ActivationBatch b) {
        return b.getObservationsCount() == 0 ? 0 : b.getActivationsCount() / b.getObservationsCount();
    }

    private static Optional<String> shapeProblem(ActivationBatch b) {
        int rank = b.getTapShapeCount();
        Reduction r = b.getReduction();
        if (rank == 1) {
            if (b.getTapShape(0) != b.getNeuronCount()) {
                return Optional.of("tap_shape: a rank-2 tap of shape [" + b.getTapShape(0) + "] has "
                        + b.getTapShape(0) + " neurons, neuron_count says " + b.getNeuronCount());
            }
            if (r != Reduction.REDUCTION_NONE) {
                return Optional.of("reduction: a rank-2 tap takes NONE, got " + r);
            }
        } else if (rank == 3) {
            if (b.getTapShape(2) != b.getNeuronCount()) {
                return Optional.of("tap_shape: a rank-4 tap has one neuron per channel (" + b.getTapShape(2)
                        + "), neuron_count says " + b.getNeuronCount());
            }
            if (r != Reduction.REDUCTION_MAX && r != Reduction.REDUCTION_MEAN) {
                return Optional.of("reduction: a rank-4 tap takes MAX or MEAN, got " + r);
            }
        } else {
            return Optional.of("tap_shape must be [units] or [height, width, channels] (without the batch "
                    + "dimension), got rank " + rank);
        }
        for (int d : b.getTapShapeList()) {
            if (d <= 0) {
                return Optional.of("tap_shape dimensions must be > 0, got " + b.getTapShapeList());
            }
        }
        return Optional.empty();
    }

    private static Optional<String> scalesProblem(ActivationBatch b) {
        if (b.getNeuronScalesCount() == 0) {
            return Optional.empty();
        }
        if (b.getNeuronScalesCount() != b.getNeuronCount()) {
            return Optional.of("neuron_scales must be empty or hold neuron_count = " + b.getNeuronCount()
                    + " values, got " + b.getNeuronScalesCount());
        }
        for (int i = 0; i < b.getNeuronScalesCount(); i++) {
            float s = b.getNeuronScales(i);
            // the layer map divides by it: a scale whose inverse overflows (below about 2.9e-39) would make every
            // projection of the layout non-finite, and a layout keeps the scales it was first registered with
            if (!(s > 0) || !Float.isFinite(s) || !Float.isFinite(1f / s)) {
                return Optional.of("neuron_scales[" + i + "] must be a positive finite number with a finite "
                        + "inverse, got " + s);
            }
        }
        return Optional.empty();
    }

    /**
     * Layer projections: none, or {@value #PROJECTIONS} per observation on a batch that starts at neuron 0 (the
     * records of a wide tap's block 0). Any float: a non-finite one counts its observation as one with a non-finite
     * value, as a non-finite activation does.
     */
    private static Optional<String> projectionsProblem(ActivationBatch b) {
        int count = b.getLayerProjectionsCount();
        if (count == 0) {
            return Optional.empty();
        }
        if (b.getNeuronOffset() != 0) {
            return Optional.of("layer_projections come with the records of block 0 (neuron_offset 0), got them with "
                    + "neuron_offset " + b.getNeuronOffset());
        }
        if (count != (long) b.getObservationsCount() * PROJECTIONS) {
            return Optional.of("layer_projections must be empty or hold observations x " + PROJECTIONS + " = "
                    + b.getObservationsCount() + " x " + PROJECTIONS + " floats, got " + count);
        }
        return Optional.empty();
    }

    /** The problem of one observation's metadata, named by its field (relative to the observation). */
    public static Optional<String> observationProblem(Observation o, Rules rules, Instant now) {
        Optional<String> id = nameProblem("instance_id", o.getInstanceId());
        if (id.isPresent()) {
            return id;
        }
        if (!o.hasEventTime()) {
            return Optional.of("event_time is missing");
        }
        Optional<String> time = timestampProblem("event_time", o.getEventTime());
        if (time.isPresent()) {
            return time;
        }
        if (o.getEventTime().getSeconds() <= 0) {
            return Optional.of("event_time must be after 1970-01-01T00:00:00Z, got " + instant(o.getEventTime()));
        }
        if (o.getPredictedClass() < 0) {
            return Optional.of("predicted_class must be >= 0, got " + o.getPredictedClass());
        }
        if (o.hasTrueLabel() && o.getTrueLabel() < 0) {
            return Optional.of("true_label must be >= 0, got " + o.getTrueLabel());
        }
        boolean paired = !o.getPairId().isEmpty();
        boolean hasRole = o.getPairRole() != PairRole.PAIR_ROLE_UNSPECIFIED;
        if (o.getPairRole() == PairRole.UNRECOGNIZED) {
            return Optional.of("pair_role is unknown");
        }
        if (paired != hasRole) {
            return Optional.of("pair_id and pair_role come together");
        }
        if (paired) {
            Optional<String> pair = nameProblem("pair_id", o.getPairId());
            if (pair.isPresent()) {
                return pair;
            }
        }
        Optional<String> tags = tagsProblem(o.getTagsMap());
        if (tags.isPresent()) {
            return tags;
        }
        return eventTimeProblem(instant(o.getEventTime()), o.getTagsMap().containsKey("reference"), rules, now);
    }

    /** Whether an event time lies in the window {@code rules} allow around {@code now}. */
    public static Optional<String> eventTimeProblem(Instant eventTime, boolean reference, Rules rules, Instant now) {
        if (eventTime.isAfter(now.plus(rules.futureSkew()))) {
            return Optional.of("event_time " + eventTime + " is more than " + words(rules.futureSkew())
                    + " after " + now + " (the future skew allowed)");
        }
        if (!reference && rules.allowedLateness() != null
                && eventTime.isBefore(now.minus(rules.allowedLateness()))) {
            return Optional.of("event_time " + eventTime + " is more than " + words(rules.allowedLateness())
                    + " before " + now + " (the allowed lateness; only observations tagged reference=<name> may be "
                    + "older)");
        }
        return Optional.empty();
    }

    /** Tags: at most {@value #MAX_TAGS}, keys names, values up to {@value #MAX_TAG_VALUE_LENGTH} clean characters. */
    public static Optional<String> tagsProblem(Map<String, String> tags) {
        if (tags.size() > MAX_TAGS) {
            return Optional.of("tags: at most " + MAX_TAGS + " tags, got " + tags.size());
        }
        for (Map.Entry<String, String> tag : tags.entrySet()) {
            if (!isName(tag.getKey())) {
                return Optional.of("tags: keys take 1.." + MAX_NAME_LENGTH + " characters without control "
                        + "characters, got " + quoted(tag.getKey()));
            }
            String value = tag.getValue();
            if (value.length() > MAX_TAG_VALUE_LENGTH || !isClean(value)) {
                return Optional.of("tags[" + quoted(tag.getKey()) + "]: values take up to " + MAX_TAG_VALUE_LENGTH
                        + " characters without control characters");
            }
        }
        String reference = tags.get("reference");
        if (reference != null && !isName(reference)) {
            return Optional.of("tags[\"reference\"] must name a reference in 1.." + MAX_NAME_LENGTH
                    + " characters");
        }
        return Optional.empty();
    }

    /** Empty when the label is valid, else a message naming the field. */
    public static Optional<String> labelProblem(LabelEvent label) {
        Optional<String> names = nameProblem("model_id", label.getModelId())
                .or(() -> nameProblem("instance_id", label.getInstanceId()));
        if (names.isPresent()) {
            return names;
        }
        if (label.getTrueLabel() < 0) {
            return Optional.of("true_label must be >= 0, got " + label.getTrueLabel());
        }
        if (label.hasLabelledAt()) {
            return timestampProblem("labelled_at", label.getLabelledAt());
        }
        return Optional.empty();
    }

    /** A name: 1..{@value #MAX_NAME_LENGTH} characters, no control characters, no unpaired surrogates. */
    public static Optional<String> nameProblem(String field, String value) {
        if (isName(value)) {
            return Optional.empty();
        }
        return Optional.of(field + " must be 1.." + MAX_NAME_LENGTH + " characters without control characters"
                + (value.isEmpty() ? ", got none" : value.length() > MAX_NAME_LENGTH ? ", got " + value.length()
                        : ", got " + quoted(value)));
    }

    /** Whether a timestamp lies in protobuf's range (0001..9999) with valid nanos. */
    public static Optional<String> timestampProblem(String field, Timestamp t) {
        if (t.getSeconds() < MIN_TIMESTAMP_SECONDS || t.getSeconds() > MAX_TIMESTAMP_SECONDS || t.getNanos() < 0
                || t.getNanos() > 999_999_999) {
            return Optional.of(field + " must lie in 0001-01-01..9999-12-31, got " + t.getSeconds() + " s "
                    + t.getNanos() + " ns since 1970");
        }
        return Optional.empty();
    }

    /**
     * A message of this class with its field names as protobuf's JSON spells them (lowerCamelCase: {@code
     * event_time} becomes {@code eventTime}), for the JSON edges; quoted values are left alone.
     */
    public static String inJsonNames(String message) {
        StringBuilder out = new StringBuilder(message.length());
        boolean inQuote = false;
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            if (c == '"') {
                inQuote = !inQuote;
            }
            boolean wordBefore = i > 0 && Character.isLetter(message.charAt(i - 1));
            if (!inQuote && c == '_' && wordBefore && i + 1 < message.length()
                    && Character.isLowerCase(message.charAt(i + 1))) {
                out.append(Character.toUpperCase(message.charAt(++i)));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Whether an instant fits protobuf's Timestamp (what the API can answer with). */
    public static boolean representable(Instant t) {
        return t.getEpochSecond() >= MIN_TIMESTAMP_SECONDS && t.getEpochSecond() <= MAX_TIMESTAMP_SECONDS;
    }

    static boolean isName(String s) {
        return !s.isEmpty() && s.length() <= MAX_NAME_LENGTH && isClean(s);
    }

    // control characters (NUL above all, which PostgreSQL text refuses) and unpaired surrogates (not Unicode: they
    // become '?' on the wire, so the id stored would not be the id sent)
    static boolean isClean(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) {
                return false;
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
                    return false;
                }
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    /** A value shown in a message: control characters escaped, at most 40 characters. */
    static String quoted(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 40; i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) || Character.isSurrogate(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append(s.length() > 40 ? "...\"" : "\"").toString();
    }

    private static Instant instant(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }

    private static String words(Duration d) {
        return d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
    }
}

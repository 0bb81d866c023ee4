package ai.neuraldivergence.endtoend;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.PairRole;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.Timestamp;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A record a careless or hostile producer writes straight to Kafka, past the inference service's checks, and what
 * the reason of its dead letter must say: event times beyond PostgreSQL's and protobuf's ranges and far in the
 * future, NUL and other control characters in every string field of observations and labels, oversized ids and
 * tags, a neuron count over the limit, bytes that are no record, and a record the database refuses.
 */
record KafkaPoison(String what, String topic, String key, byte[] value, String reason) {

    /** Builds poisoned batches of one model's tap, each with one observation. */
    private record Factory(String activations, String model, String tap, int neurons) {
        KafkaPoison batch(String what, UnaryOperator<Observation.Builder> observation,
                UnaryOperator<ActivationBatch.Builder> batch, String reason) {
            ActivationBatch.Builder b = header(model, tap, neurons)
                    .addObservations(observation.apply(observation("k-poison").toBuilder()));
            for (int n = 0; n < neurons; n++) {
                b.addActivations(1f);
            }
            return new KafkaPoison(what, activations, "poison-" + what, batch.apply(b).build().toByteArray(), reason);
        }
    }

    static ActivationBatch.Builder header(String model, String tap, int neurons) {
        return ActivationBatch.newBuilder().setModelId(model).setModelVersion("1").setTap(tap).setTapIndex(0)
                .addTapShape(neurons).setNeuronCount(neurons).setReduction(Reduction.REDUCTION_NONE);
    }

    static Observation observation(String id) {
        Instant now = Instant.now();
        return Observation.newBuilder().setInstanceId(id).setPredictedClass(1)
                .setEventTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond())).build();
    }

    /**
     * One poisoned record of each kind for a model's tap of {@code neurons} neurons on {@code activations} and
     * {@code labels}; the last is valid by every rule and carries the instance id {@code refusedByTheDatabase},
     * which the caller makes the database refuse (a constraint).
     */
    static List<KafkaPoison> everyKind(String activations, String labels, String model, String tap, int neurons,
            String refusedByTheDatabase) {
        List<KafkaPoison> out = new ArrayList<>();
        Factory f = new Factory(activations, model, tap, neurons);
        UnaryOperator<ActivationBatch.Builder> same = b -> b;
        out.add(f.batch("an event time in year 295,000", o -> o.setEventTime(Timestamp.newBuilder()
                .setSeconds(9_246_000_000_000L)), same, "event_time must lie in 0001-01-01..9999-12-31"));
        out.add(f.batch("an event time in year 20,000", o -> o.setEventTime(Timestamp.newBuilder()
                .setSeconds(569_000_000_000L)), same, "event_time must lie in 0001-01-01..9999-12-31"));
        out.add(f.batch("an event time in year 3000", o -> o.setEventTime(Timestamp.newBuilder()
                .setSeconds(Instant.parse("3000-01-01T00:00:00Z").getEpochSecond())), same, "the future skew"));
        out.add(f.batch("NUL in the instance id", o -> o.setInstanceId("a\u0000b"), same, "instance_id must be"));
        out.add(f.batch("a control character in the instance id", o -> o.setInstanceId("a\u001bb"), same,
                "instance_id must be"));
        out.add(f.batch("an oversized instance id", o -> o.setInstanceId("x".repeat(129)), same, "instance_id must be"));
        out.add(f.batch("NUL in a tag key", o -> o.putTags("k\u0000", "v"), same, "tags: keys"));
        out.add(f.batch("NUL in a tag value", o -> o.putTags("source", "\u0000"), same, "tags[\"source\"]"));
        out.add(f.batch("an oversized tag value", o -> o.putTags("source", "v".repeat(257)), same, "tags[\"source\"]"));
        out.add(f.batch("NUL in the pair id", o -> o.setPairId("\u0000").setPairRole(PairRole.PAIR_ROLE_BENIGN), same,
                "pair_id must be"));
        out.add(f.batch("NUL in the model id", o -> o, b -> b.setModelId("m\u0000"), "model_id must be"));
        out.add(f.batch("NUL in the model version", o -> o, b -> b.setModelVersion("\u0000"), "model_version must be"));
        out.add(f.batch("NUL in the tap name", o -> o, b -> b.setTap("t\u0000"), "tap must be"));
        out.add(f.batch("layer projections of another length than 128 per observation", o -> o,
                b -> b.addLayerProjections(1f), "layer_projections must be empty or hold"));
        ActivationBatch.Builder wide = ActivationBatch.newBuilder().setModelId(model).setModelVersion("1")
                .setTap("wide").setTapIndex(1).addTapShape(16_385).setNeuronCount(16_385)
                .setReduction(Reduction.REDUCTION_NONE).addObservations(observation("k-wide"));
        for (int n = 0; n < 16_385; n++) {
            wide.addActivations(0.5f);
        }
        out.add(new KafkaPoison("a neuron count over the limit", activations, "poison-wide", wide.build()
                .toByteArray(), "neuron_count must be 1..16384"));
        out.add(new KafkaPoison("bytes that are no record", activations, "poison-bytes",
                "\u0000\u00ff not protobuf".getBytes(StandardCharsets.ISO_8859_1), "undecodable ActivationBatch"));
        out.add(new KafkaPoison("NUL in a late label's instance id", labels, "poison-label", LabelEvent.newBuilder()
                .setModelId(model).setInstanceId("x\u0000").setTrueLabel(1).build().toByteArray(),
                "LabelEvent instance_id must be"));
        out.add(new KafkaPoison("NUL in a late label's model id", labels, "poison-label-nul-model",
                LabelEvent.newBuilder().setModelId("m\u0000").setInstanceId("x").setTrueLabel(1).build()
                        .toByteArray(), "LabelEvent model_id must be"));
        out.add(new KafkaPoison("a late label without a model", labels, "poison-label-model", LabelEvent.newBuilder()
                .setInstanceId("x").setTrueLabel(1).build().toByteArray(), "LabelEvent model_id must be"));
        // valid by every rule, refused by the database: the record alone is dead-lettered, everything else kept
        out.add(f.batch("a record the database refuses", o -> o.setInstanceId(refusedByTheDatabase), same,
                "flush failed: PSQLException"));
        return out;
    }
}

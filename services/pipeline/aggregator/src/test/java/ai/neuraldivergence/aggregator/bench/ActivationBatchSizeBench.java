package ai.neuraldivergence.aggregator.bench;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.BatchOrigin;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.Locale;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;

/**
 * What one tap's activations weigh on Kafka, for the capacity model (docs/capacity-model.md): the protobuf size of
 * an {@code ActivationBatch} of 2,000 neurons (and of a 1,024-neuron block) per observation, at 1, 8 and 64
 * observations a batch, with the metadata a served prediction carries (instance id, event time, predicted class,
 * confidence, true label, two tags); then the size of a Kafka record batch of such records as the producer would
 * write it under each compression type (Kafka's own {@link MemoryRecords} encoder, so the bytes are the log's), and
 * the single-core parse rate of the aggregator's first step.
 *
 * <p>Activations are synthetic: post-ReLU (half exact zeros, half |N(0, 1)|) and dense (N(0, 1)) float32. Real
 * activations' mantissas are as noisy as these; their share of zeros is what compression finds.
 *
 * <p>Not a test: a main class. From the repository root after {@code ./mvnw -B -o -q test-compile -pl
 * services/pipeline/aggregator -am}:
 *
 * <pre>java -cp services/pipeline/aggregator/target/test-classes:services/pipeline/aggregator/target/classes:$CP \
 *   ai.neuraldivergence.aggregator.bench.ActivationBatchSizeBench</pre>
 */
public final class ActivationBatchSizeBench {

    public static void main(String[] args) throws Exception {
        System.out.println("ActivationBatch protobuf bytes (metadata: UUID instance id, event time, class, confidence,"
                + " true label, 2 tags)");
        System.out.printf(Locale.ROOT, "%-9s %7s %6s %12s %14s %16s%n", "shape", "neurons", "obs", "batch B",
                "B/observation", "B/obs over 4n");
        for (boolean relu : new boolean[] {true, false}) {
            for (int neurons : new int[] {2_000, 1_024}) {
                for (int observations : new int[] {1, 8, 64}) {
                    byte[] b = batch(new Random(observations), neurons, observations, relu).toByteArray();
                    System.out.printf(Locale.ROOT, "%-9s %,7d %6d %,12d %,14.1f %,16.1f%n",
                            relu ? "post-ReLU" : "dense", neurons, observations, b.length,
                            b.length / (double) observations, b.length / (double) observations - 4.0 * neurons);
                }
            }
        }

        System.out.println();
        System.out.println("Kafka record batch (16 records of 8 observations x 2,000 neurons, key model/tap), bytes on "
                + "the log");
        System.out.printf(Locale.ROOT, "%-9s %-7s %12s %8s %12s%n", "shape", "codec", "batch B", "ratio",
                "B/observation");
        for (boolean relu : new boolean[] {true, false}) {
            Random random = new Random(relu ? 11 : 12);
            SimpleRecord[] records = new SimpleRecord[16];
            for (int i = 0; i < records.length; i++) {
                records[i] = new SimpleRecord(System.currentTimeMillis(), ("model-" + i % 4 + "/tap2").getBytes(),
                        batch(random, 2_000, 8, relu).toByteArray());
            }
            long none = MemoryRecords.withRecords(Compression.NONE, records).sizeInBytes();
            for (Compression c : new Compression[] {Compression.NONE, Compression.lz4().build(),
                    Compression.snappy().build(), Compression.zstd().build(), Compression.gzip().build()}) {
                long size = MemoryRecords.withRecords(c, records).sizeInBytes();
                System.out.printf(Locale.ROOT, "%-9s %-7s %,12d %8.3f %,12.1f%n", relu ? "post-ReLU" : "dense",
                        c.type().name, size, size / (double) none, size / (16.0 * 8));
            }
        }

        System.out.println();
        byte[] wire = batch(new Random(3), 2_000, 64, true).toByteArray();
        long parsed = 0;
        long t0 = 0;
        for (int round = 0; round < 4000; round++) {
            if (round == 1000) {
                t0 = System.nanoTime();
                parsed = 0;
            }
            parsed += ActivationBatch.parseFrom(wire).getActivationsCount();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT,
                "parse ActivationBatch (64 x 2,000, one core): %.0f MB/s, %.1f M activations/s%n",
                3000.0 * wire.length / seconds / 1e6, parsed / seconds / 1e6);
    }

    static ActivationBatch batch(Random random, int neurons, int observations, boolean relu) {
        ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId("model-0042")
                .setModelVersion("3f2a9c1b7e10").setTap("block2_conv3").setTapIndex(2).addTapShape(28).addTapShape(28)
                .addTapShape(neurons).setNeuronCount(neurons).setReduction(Reduction.REDUCTION_MAX)
                .setOrigin(BatchOrigin.BATCH_ORIGIN_SERVED);
        Instant now = Instant.parse("2026-12-01T12:00:00Z");
        for (int i = 0; i < observations; i++) {
            int predicted = random.nextInt(10);
            b.addObservations(Observation.newBuilder().setInstanceId(new UUID(random.nextLong(), random.nextLong())
                    .toString()).setEventTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond() + i)
                    .setNanos(random.nextInt(1_000_000_000))).setPredictedClass(predicted)
                    .setConfidence(random.nextFloat()).setTrueLabel(predicted).putTags("source", "prod")
                    .putTags("dataset", "eu-west"));
            for (int n = 0; n < neurons; n++) {
                double g = random.nextGaussian();
                b.addActivations((float) (relu ? Math.max(0, g) : g));
            }
        }
        return b.build();
    }
}

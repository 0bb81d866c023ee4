package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Some observations of a validated batch as a batch of their own, and a record carrying it in place of another. */
final class BatchSplit {

    private BatchSplit() {
    }

    /**
     * The observations {@code i} of {@code batch} with {@code chosen[i] == which}, with their rows of activations and
     * of layer projections; everything else (layout, scales, origin) as the batch declares it.
     */
    static ActivationBatch select(ActivationBatch batch, boolean[] chosen, boolean which) {
        int width = ActivationBatchValidator.width(batch);
        int directions = ActivationBatchValidator.PROJECTIONS;
        boolean projected = batch.getLayerProjectionsCount() > 0;
        ActivationBatch.Builder out = batch.toBuilder().clearObservations().clearActivations()
                .clearLayerProjections();
        for (int i = 0; i < chosen.length; i++) {
            if (chosen[i] != which) {
                continue;
            }
            out.addObservations(batch.getObservations(i));
            out.addAllActivations(batch.getActivationsList().subList(i * width, (i + 1) * width));
            if (projected) {
                out.addAllLayerProjections(batch.getLayerProjectionsList().subList(i * directions,
                        (i + 1) * directions));
            }
        }
        return out.build();
    }

    /**
     * {@code record} carrying {@code batch} instead: the same topic, partition, offset, timestamp, key and headers, so
     * that a dead letter made of it names where its observations were read.
     */
    static ConsumerRecord<byte[], byte[]> withValue(ConsumerRecord<byte[], byte[]> record, ActivationBatch batch) {
        byte[] value = batch.toByteArray();
        return new ConsumerRecord<>(record.topic(), record.partition(), record.offset(), record.timestamp(),
                record.timestampType(), record.serializedKeySize(), value.length, record.key(), value,
                record.headers(), Optional.empty());
    }
}

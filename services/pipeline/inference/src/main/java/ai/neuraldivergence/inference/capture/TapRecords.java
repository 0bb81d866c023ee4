package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.mmd.FeatureMaps;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import ai.neuraldivergence.inference.config.CaptureConfig;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.apache.kafka.common.utils.Utils;
import org.jboss.logging.Logger;

/**
 * Turns a tap's open batch into records and sends them. A tap wider than a block ({@code nd.capture.block-size}) is
 * sent as one series of records per block, keyed by model, tap and block and placed on consecutive partitions: its
 * traffic spreads over partitions and aggregators, each block's records in order on its own. Each series is split
 * greedily by the encoded size of each observation, so that every record fits the record limit and a wide tap's
 * batch becomes as few records as fit. Used on the capture thread only.
 */
final class TapRecords {

    private static final Logger LOG = Logger.getLogger(TapRecords.class);

    private final CaptureConfig config;
    private final CaptureProducer producer;
    // the activation topic's partition count, as last looked up (a blocked tap's records are placed by it)
    private int partitions = 1;

    TapRecords(CaptureConfig config, CaptureProducer producer) {
        this.config = config;
        this.producer = producer;
    }

    /**
     * Taps up to this many neurons send their declared scales on every record (64 KB at most of a 1 MB record); a
     * wider one sends none, and its layout is registered and projected with 1 for every neuron: at the 262,144-neuron
     * limit the scales alone would not fit a record.
     */
    static final int MAX_SCALED_NEURONS = 16_384;

    /**
     * The header with the block size capture splits by, declared to the aggregator (none when it sends whole taps),
     * and the neuron scales where the tap is narrow enough for them to travel on every record.
     */
    ActivationBatch withBlockSize(ActivationBatch header) {
        ActivationBatch.Builder b = header.toBuilder();
        if (config.blockSize() > 0) {
            b.setBlockSize(config.blockSize());
        }
        if (header.getNeuronCount() > MAX_SCALED_NEURONS) {
            b.clearNeuronScales();
        }
        return b.build();
    }

    /** Sends the batch's records; a failure to send one is its owners' to learn, not thrown. */
    void send(OpenBatch o) {
        ActivationBatch head = withBlockSize(o.header);
        int neurons = o.header.getNeuronCount();
        int size = config.blockSize() > 0 ? Math.min(config.blockSize(), neurons) : neurons;
        int blocks = (neurons + size - 1) / size;
        Integer firstPartition = null;
        if (blocks > 1) {
            try {
                firstPartition = firstPartition(o.header);
            } catch (RuntimeException e) {
                // the topic's partitions unknown (Kafka away past max.block.ms): this tap's records are not sent
                producer.failed();
                LOG.warnf("capture of %s not sent: %s", o.header.getTap(), e.toString());
                distinct(o.owners).forEach(d -> {
                    d.expect();
                    d.failed(o.header.getTap(), "tap " + o.header.getTap() + ": " + e);
                });
                return;
            }
        }
        for (int block = 0; block < blocks; block++) {
            int first = block * size;
            int width = Math.min(size, neurons - first);
            // a tap in several blocks: block 0's records carry each observation's layer projections through the
            // declared scales (the layer statistic's map of the whole tap). Every block's records keep the scales:
            // whichever record registers the layout first (another block's, on another partition) registers them
            RandomFeatureMap map = blocks > 1 && block == 0 ? map(head) : null;
            // each block its own records, keyed by model, tap and block, on consecutive partitions: a tap's
            // blocks spread over partitions (and aggregators), a block's records stay in order on one
            String keyText = o.header.getModelId() + "/" + o.header.getTap() + (blocks > 1 ? "/" + block : "");
            byte[] key = keyText.getBytes(StandardCharsets.UTF_8);
            Integer partition = firstPartition == null ? null : (firstPartition + block) % partitions;
            // packed activations: a tag and a length before the floats
            long fixed = head.getSerializedSize() + key.length + 16 + (map != null ? 8 : 0);
            int limit = producer.recordLimit();
            int n = o.observations.size();
            int start = 0;
            while (start < n) {
                long bytes = fixed;
                int end = start;
                while (end < n) {
                    // an observation's encoded size: the first of a record goes in whatever it weighs
                    long next = o.bytesOf(end, width, map != null);
                    if (end > start && bytes + next > limit) {
                        break;
                    }
                    bytes += next;
                    end++;
                }
                byte[] value = o.build(head, start, end, first, width, map).toByteArray();
                List<Delivery> owners = distinct(o.owners.subList(start, end));
                // blocks up to max.block.ms while the producer's buffer is full: the bounded queue absorbs it
                producer.send(config.topic(), partition, key, value, block == 0 ? end - start : 0, owners,
                        o.header.getTap());
                start = end;
            }
        }
    }

    /** The layer statistic's map of a tap's whole observations, through the scales its header declares. */
    private static RandomFeatureMap map(ActivationBatch header) {
        int neurons = header.getNeuronCount();
        float[] scales = null;
        if (header.getNeuronScalesCount() == neurons) {
            scales = new float[neurons];
            for (int i = 0; i < neurons; i++) {
                scales[i] = header.getNeuronScales(i);
            }
        }
        long seed = LayerFeatures.seed(header.getModelId(), header.getTap(), 0, neurons).orElseThrow();
        return FeatureMaps.of(seed, neurons, scales);
    }

    /**
     * The partition of a blocked tap's block 0: where the default partitioner would put the tap's unblocked key, so
     * that block b goes to the b-th partition after it.
     */
    private int firstPartition(ActivationBatch header) {
        partitions = Math.max(1, producer.partitionCount(config.topic()));
        byte[] tapKey = (header.getModelId() + "/" + header.getTap()).getBytes(StandardCharsets.UTF_8);
        return Utils.toPositive(Utils.murmur2(tapKey)) % partitions;
    }

    private static List<Delivery> distinct(List<Delivery> owners) {
        Set<Delivery> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Delivery> out = new ArrayList<>();
        for (Delivery d : owners) {
            if (seen.add(d)) {
                out.add(d);
            }
        }
        return out;
    }
}

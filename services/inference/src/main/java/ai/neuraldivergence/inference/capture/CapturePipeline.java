package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.inference.config.CaptureConfig;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CapturedInput;
import ai.neuraldivergence.proto.v1.Observation;
import com.google.protobuf.CodedOutputStream;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/**
 * Between predictions and Kafka. A request hands over its capture and returns; one capture thread reduces the taps,
 * merges consecutive requests' observations into batches per tap (fewer, larger records), splits each batch by its
 * encoded size so that every record fits the producer's and the topic's limit (a 16,384-neuron tap at 256
 * observations is 16 MB), and publishes them through an idempotent producer, keyed by model and tap so that a tap's
 * batches stay in order on one partition. A tap wider than a block ({@code nd.capture.block-size}) is sent as one
 * record per block, keyed by model, tap and block and placed on consecutive partitions: its traffic spreads over
 * partitions and aggregators, each block's records in order on its own.
 *
 * <p>Bounded: at most {@code queue-capacity} observations wait (they may hold native tensors). When Kafka is slow
 * or down the wait fills it, and further captures are shed at once ({@code shed}) or after a bounded wait
 * ({@code block}); every shed observation is counted, and logged at a bounded rate. A prediction never waits on
 * Kafka longer than the policy says. Every capture has a {@link Delivery}: it completes when Kafka acknowledged or
 * refused each record carrying its rows, and an observation Kafka refused is counted.
 */
public final class CapturePipeline implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(CapturePipeline.class);
    private static final long SHED_LOG_INTERVAL_NANOS = Duration.ofSeconds(10).toNanos();
    /** Observations per tap batch before it is sent (then split by bytes). */
    static final int MAX_BATCH_OBSERVATIONS = 256;
    /** How long a batch may wait for more observations. */
    static final long LINGER_NANOS = Duration.ofMillis(20).toNanos();
    /** What a record adds to its key and value on the wire (batch header, record header, headers). */
    static final int RECORD_OVERHEAD_BYTES = 512;

    /** What became of a capture. */
    public enum Status { QUEUED, SHED }

    private final KafkaProducer<byte[], byte[]> producer;
    private final LinkedBlockingQueue<CaptureItem> queue = new LinkedBlockingQueue<>();
    private final Semaphore capacity;
    private final CaptureConfig config;
    private final boolean block;
    private final Counter captured;
    private final Counter shed;
    private final Counter published;
    private final Counter failed;
    private final Counter failedObservations;
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicLong waiting = new AtomicLong();
    private final AtomicLong shedSinceLog = new AtomicLong();
    private volatile long lastShedLog;
    private volatile int recordLimit;
    private final Thread worker;
    private volatile boolean running = true;

    // the capture thread's open batches, one per tap, and when the first of them was opened
    private final Map<String, OpenBatch> open = new LinkedHashMap<>();
    private long openedAt;

    public CapturePipeline(Map<String, Object> kafkaConfig, CaptureConfig config, MeterRegistry registry) {
        if (!config.policy().equals("shed") && !config.policy().equals("block")) {
            throw new IllegalArgumentException("nd.capture.policy must be shed or block, got " + config.policy());
        }
        Map<String, Object> c = new java.util.HashMap<>(kafkaConfig);
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        c.put(ProducerConfig.BUFFER_MEMORY_CONFIG, config.bufferBytes());
        c.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        // activations are floats that hardly compress: spend no CPU on trying
        c.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        c.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "nd-inference-capture");
        // a record's outcome is known within the acknowledgement timeout, so that POST /v1/observations can say
        // "not recorded" and mean it; while Kafka is away the publisher waits at most max.block.ms per send
        long ack = Math.max(2_000, config.ackTimeout().toMillis());
        c.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) ack);
        c.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) (ack - 1_000));
        c.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) Math.min(5_000, ack / 2));
        int producerLimit = Integer.parseInt(String.valueOf(c.getOrDefault(ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                1_048_576)));
        this.recordLimit = Math.min(config.maxRecordBytes(), producerLimit - RECORD_OVERHEAD_BYTES);
        this.producer = new KafkaProducer<>(c);
        this.config = config;
        this.block = config.policy().equals("block");
        this.capacity = new Semaphore(config.queueCapacity());
        this.captured = Counter.builder("nd.capture.observations.captured")
                .description("Observations queued for Kafka").register(registry);
        this.shed = Counter.builder("nd.capture.observations.shed")
                .description("Observations not captured because the capture queue was full").register(registry);
        this.published = Counter.builder("nd.capture.observations.published")
                .description("Observations acknowledged by Kafka (counted once per tap record; a tap sent in blocks, "
                        + "once per record of its first block)").register(registry);
        this.failed = Counter.builder("nd.capture.batches.failed")
                .description("Records (tap batches, inputs) Kafka did not acknowledge after the producer's retries")
                .register(registry);
        this.failedObservations = Counter.builder("nd.capture.observations.failed")
                .description("Observations accepted for capture that Kafka did not acknowledge (or that were "
                        + "withdrawn before they were sent): not recorded")
                .register(registry);
        registry.gauge("nd.capture.queue.depth", waiting, AtomicLong::get);
        this.worker = new Thread(this::work, "capture-publisher");
        worker.setDaemon(true);
        worker.start();
    }

    /**
     * Declares the served model's tap layouts (headers without observations) so that the aggregator stores them
     * before anything else can claim the model version; retried in the background until Kafka acknowledges all of
     * them, since Kafka may be away when the service starts.
     */
    public void declareLayout(List<ActivationBatch> headers) {
        Thread t = new Thread(() -> {
            for (long wait = 1_000; running; wait = Math.min(wait * 2, 60_000)) {
                try {
                    for (ActivationBatch h : headers) {
                        byte[] key = (h.getModelId() + "/" + h.getTap()).getBytes(StandardCharsets.UTF_8);
                        producer.send(new ProducerRecord<>(config.topic(), key, withBlockSize(h).toByteArray()))
                                .get(config.ackTimeout().toMillis() + 5_000, TimeUnit.MILLISECONDS);
                    }
                    LOG.infof("declared the layout of %d taps of %s %s", headers.size(),
                            headers.isEmpty() ? "-" : headers.get(0).getModelId(),
                            headers.isEmpty() ? "-" : headers.get(0).getModelVersion());
                    return;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (Exception e) {
                    LOG.warnf("declaring the served model's layout failed (retried in %d s): %s", wait / 1000, e);
                }
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }, "capture-layout");
        t.setDaemon(true);
        t.start();
    }

    /** The largest record value the pipeline sends, in bytes. */
    public int recordLimit() {
        return recordLimit;
    }

    /**
     * Lowers the record limit to what the topic accepts (its {@code max.message.bytes}), once it is known: the
     * producer's own limit says nothing of the topic's.
     */
    public void topicAccepts(int maxMessageBytes) {
        int limit = maxMessageBytes - RECORD_OVERHEAD_BYTES;
        if (limit < recordLimit) {
            LOG.infof("topic %s accepts records of %d bytes: capture records stay under %d", config.topic(),
                    maxMessageBytes, limit);
            recordLimit = limit;
        }
    }

    /** Queues a capture, or sheds it (counted, and its resources released) when the queue stays full. */
    public Status offer(CaptureItem item) {
        int n = Math.min(item.observations(), config.queueCapacity());
        boolean admitted;
        try {
            admitted = block ? capacity.tryAcquire(n, config.blockTimeout().toNanos(), TimeUnit.NANOSECONDS)
                    : capacity.tryAcquire(n);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            admitted = false;
        }
        if (!admitted) {
            item.discard();
            shed.increment(item.observations());
            logShed(item.observations());
            return Status.SHED;
        }
        int observations = item.observations();
        item.delivery().outcome().thenAccept(o -> {
            if (!o.delivered()) {
                failedObservations.increment(observations);
            }
        });
        waiting.addAndGet(observations);
        queue.add(item);
        captured.increment(observations);
        return Status.QUEUED;
    }

    private void logShed(int observations) {
        long total = shedSinceLog.addAndGet(observations);
        long now = System.nanoTime();
        if (now - lastShedLog > SHED_LOG_INTERVAL_NANOS) {
            lastShedLog = now;
            shedSinceLog.addAndGet(-total);
            LOG.warnf("capture queue full (%d observations): shed %d observations since the last report; is "
                    + "Kafka reachable?", config.queueCapacity(), total);
        }
    }

    /** Observations Kafka has acknowledged, counted once per tap record. */
    public long acknowledgedObservationBatches() {
        return acknowledged.get();
    }

    private void work() {
        while (running || !queue.isEmpty()) {
            CaptureItem item;
            try {
                item = queue.poll(open.isEmpty() ? 200_000_000L : Math.max(1, openedAt + LINGER_NANOS
                        - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (item != null) {
                try {
                    if (item.delivery().take()) {
                        append(item);
                    } else {
                        // withdrawn by its request (which stopped waiting): nothing of it is sent
                        item.discard();
                    }
                } catch (RuntimeException e) {
                    failed.increment();
                    item.delivery().abort("capture could not be built: " + e);
                    LOG.warnf(e, "capture could not be built");
                } finally {
                    int n = Math.min(item.observations(), config.queueCapacity());
                    waiting.addAndGet(-item.observations());
                    capacity.release(n);
                }
            }
            if (!open.isEmpty() && (item == null || System.nanoTime() - openedAt >= LINGER_NANOS
                    || open.values().iterator().next().observations.size() >= MAX_BATCH_OBSERVATIONS)) {
                sendOpenOrAbort();
            }
        }
        sendOpenOrAbort();
    }

    /**
     * Sends the open batches; if their records cannot be built, the captures they hold are told so (each completes
     * once what was already sent of it is settled) and the capture thread goes on with the next ones.
     */
    private void sendOpenOrAbort() {
        try {
            sendOpen();
        } catch (RuntimeException e) {
            failed.increment();
            LOG.warnf(e, "capture records could not be built");
            Set<Delivery> owners = Collections.newSetFromMap(new IdentityHashMap<>());
            for (OpenBatch o : open.values()) {
                // a batch partly sent before the failure: its tap is then partly recorded for those it carried
                o.owners.forEach(d -> d.notSent(o.header.getTap()));
                owners.addAll(o.owners);
            }
            open.clear();
            owners.forEach(d -> d.abort("capture records could not be built: " + e));
        }
    }

    /** A tap's rows gathered from consecutive requests, turned into records when sent. */
    private static final class OpenBatch {
        final ActivationBatch header;
        final List<Observation> observations = new ArrayList<>();
        // the capture each observation came from, to settle its delivery
        final List<Delivery> owners = new ArrayList<>();
        float[] activations = new float[4096];
        int size;

        OpenBatch(ActivationBatch header) {
            this.header = header;
        }

        void add(TapRows rows, Delivery owner) {
            observations.addAll(rows.observations());
            for (int i = 0; i < rows.observations().size(); i++) {
                owners.add(owner);
            }
            if (size + rows.activations().length > activations.length) {
                activations = java.util.Arrays.copyOf(activations,
                        Math.max(activations.length * 2, size + rows.activations().length));
            }
            System.arraycopy(rows.activations(), 0, activations, size, rows.activations().length);
            size += rows.activations().length;
        }

        /** Observations {@code [from, to)} as one batch, their neurons {@code [first, first + width)}. */
        ActivationBatch build(ActivationBatch head, int from, int to, int first, int width) {
            int neurons = header.getNeuronCount();
            ActivationBatch.Builder b = head.toBuilder().setNeuronOffset(first)
                    .addAllObservations(observations.subList(from, to));
            for (int o = from; o < to; o++) {
                for (int j = 0; j < width; j++) {
                    b.addActivations(activations[o * neurons + first + j]);
                }
            }
            return b.build();
        }

        /** The encoded size observation {@code i} adds to a batch of {@code width} neurons. */
        long bytesOf(int i, int width) {
            return CodedOutputStream.computeMessageSize(8, observations.get(i)) + 4L * width;
        }
    }

    private void append(CaptureItem item) {
        List<TapRows> taps = item.taps();
        for (CapturedInput input : item.inputs()) {
            send(config.inputsTopic(), input.getInstanceId().getBytes(StandardCharsets.UTF_8), input.toByteArray(),
                    0, List.of(), "input");
        }
        if (!open.isEmpty() && !sameTaps(taps)) {
            // another model or version: do not mix them in one record
            sendOpenOrAbort();
        }
        if (open.isEmpty()) {
            openedAt = System.nanoTime();
        }
        for (TapRows rows : taps) {
            open.computeIfAbsent(rows.header().getTap(), t -> new OpenBatch(rows.header()))
                    .add(rows, item.delivery());
        }
        if (taps.isEmpty()) {
            item.delivery().seal();
        }
    }

    private boolean sameTaps(List<TapRows> taps) {
        if (taps.size() != open.size()) {
            return false;
        }
        for (TapRows rows : taps) {
            OpenBatch o = open.get(rows.header().getTap());
            if (o == null || !o.header.equals(rows.header())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Sends every open batch, each split into records under the record limit: greedily, by the encoded size of
     * each observation, so that a wide tap's batch becomes as few records as fit.
     */
    private void sendOpen() {
        Set<Delivery> settledHere = Collections.newSetFromMap(new IdentityHashMap<>());
        for (OpenBatch o : open.values()) {
            settledHere.addAll(o.owners);
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
                    failed.increment();
                    LOG.warnf("capture of %s not sent: %s", o.header.getTap(), e.toString());
                    distinct(o.owners).forEach(d -> {
                        d.expect();
                        d.failed(o.header.getTap(), "tap " + o.header.getTap() + ": " + e);
                    });
                    continue;
                }
            }
            for (int block = 0; block < blocks; block++) {
                int first = block * size;
                int width = Math.min(size, neurons - first);
                // each block its own records, keyed by model, tap and block, on consecutive partitions: a tap's
                // blocks spread over partitions (and aggregators), a block's records stay in order on one
                String keyText = o.header.getModelId() + "/" + o.header.getTap() + (blocks > 1 ? "/" + block : "");
                byte[] key = keyText.getBytes(StandardCharsets.UTF_8);
                Integer partition = firstPartition == null ? null : (firstPartition + block) % partitions;
                // packed activations: a tag and a length before the floats
                long fixed = head.getSerializedSize() + key.length + 16;
                int limit = recordLimit;
                int n = o.observations.size();
                int start = 0;
                while (start < n) {
                    long bytes = fixed;
                    int end = start;
                    while (end < n) {
                        // an observation's encoded size: the first of a record goes in whatever it weighs
                        long next = o.bytesOf(end, width);
                        if (end > start && bytes + next > limit) {
                            break;
                        }
                        bytes += next;
                        end++;
                    }
                    byte[] value = o.build(head, start, end, first, width).toByteArray();
                    List<Delivery> owners = distinct(o.owners.subList(start, end));
                    // blocks up to max.block.ms while the producer's buffer is full: the bounded queue absorbs it
                    send(config.topic(), partition, key, value, block == 0 ? end - start : 0, owners,
                            o.header.getTap());
                    start = end;
                }
            }
        }
        open.clear();
        settledHere.forEach(Delivery::seal);
    }

    // the activation topic's partition count, as last looked up (a blocked tap's records are placed by it)
    private int partitions = 1;

    /**
     * The partition of a blocked tap's block 0: where the default partitioner would put the tap's unblocked key, so
     * that block b goes to the b-th partition after it.
     */
    private int firstPartition(ActivationBatch header) {
        partitions = Math.max(1, producer.partitionsFor(config.topic()).size());
        byte[] tapKey = (header.getModelId() + "/" + header.getTap()).getBytes(StandardCharsets.UTF_8);
        return org.apache.kafka.common.utils.Utils.toPositive(org.apache.kafka.common.utils.Utils.murmur2(tapKey))
                % partitions;
    }

    /** The header with the block size capture splits by, declared to the aggregator (none when it sends whole taps). */
    private ActivationBatch withBlockSize(ActivationBatch header) {
        return config.blockSize() > 0 ? header.toBuilder().setBlockSize(config.blockSize()).build() : header;
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

    private void send(String topic, byte[] key, byte[] value, int observations, List<Delivery> owners,
            String what) {
        send(topic, null, key, value, observations, owners, what);
    }

    private void send(String topic, Integer partition, byte[] key, byte[] value, int observations,
            List<Delivery> owners, String what) {
        owners.forEach(Delivery::expect);
        try {
            producer.send(new ProducerRecord<>(topic, partition, key, value), (meta, error) -> {
                if (error == null) {
                    published.increment(observations);
                    acknowledged.addAndGet(observations);
                    owners.forEach(d -> d.acknowledged(what));
                } else {
                    failed.increment();
                    LOG.warnf("capture of %s not delivered: %s", what, error.toString());
                    owners.forEach(d -> d.failed(what, "tap " + what + ": " + error));
                }
            });
        } catch (RuntimeException e) {
            failed.increment();
            LOG.warnf("capture of %s not sent: %s", what, e.toString());
            owners.forEach(d -> d.failed(what, "tap " + what + ": " + e));
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            worker.join(Duration.ofSeconds(10).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (CaptureItem left; (left = queue.poll()) != null; ) {
            left.discard();
            left.delivery().cancel("the service stopped before it was sent");
        }
        producer.close(Duration.ofSeconds(10));
    }
}

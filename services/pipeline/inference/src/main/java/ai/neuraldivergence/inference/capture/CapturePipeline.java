package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.inference.config.CaptureConfig;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CapturedInput;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
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
 *
 * <p>This class admits captures and batches them on its thread; {@link TapRecords} splits a batch into records,
 * {@link CaptureProducer} sends them and settles their deliveries.
 */
public final class CapturePipeline implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(CapturePipeline.class);
    private static final long SHED_LOG_INTERVAL_NANOS = Duration.ofSeconds(10).toNanos();
    /** Observations per tap batch before it is sent (then split by bytes). */
    static final int MAX_BATCH_OBSERVATIONS = 256;
    /** How long a batch may wait for more observations. */
    static final long LINGER_NANOS = Duration.ofMillis(20).toNanos();

    /** What became of a capture. */
    public enum Status { QUEUED, SHED }

    private final CaptureProducer producer;
    private final TapRecords records;
    private final LinkedBlockingQueue<CaptureItem> queue = new LinkedBlockingQueue<>();
    private final Semaphore capacity;
    private final CaptureConfig config;
    private final boolean block;
    private final Counter captured;
    private final Counter shed;
    private final Counter failedObservations;
    private final AtomicLong waiting = new AtomicLong();
    private final AtomicLong shedSinceLog = new AtomicLong();
    private volatile long lastShedLog;
    private final Thread worker;
    private volatile boolean running = true;

    // the capture thread's open batches, one per tap, and when the first of them was opened
    private final Map<String, OpenBatch> open = new LinkedHashMap<>();
    private long openedAt;

    public CapturePipeline(Map<String, Object> kafkaConfig, CaptureConfig config, MeterRegistry registry) {
        if (!config.policy().equals("shed") && !config.policy().equals("block")) {
            throw new IllegalArgumentException("nd.capture.policy must be shed or block, got " + config.policy());
        }
        this.producer = new CaptureProducer(kafkaConfig, config, registry);
        this.records = new TapRecords(config, producer);
        this.config = config;
        this.block = config.policy().equals("block");
        this.capacity = new Semaphore(config.queueCapacity());
        this.captured = Counter.builder("nd.capture.observations.captured")
                .description("Observations queued for Kafka").register(registry);
        this.shed = Counter.builder("nd.capture.observations.shed")
                .description("Observations not captured because the capture queue was full").register(registry);
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
                        producer.sendAndWait(config.topic(), key, records.withBlockSize(h).toByteArray(),
                                config.ackTimeout().toMillis() + 5_000);
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
        return producer.recordLimit();
    }

    /**
     * Lowers the record limit to what the topic accepts (its {@code max.message.bytes}), once it is known: the
     * producer's own limit says nothing of the topic's.
     */
    public void topicAccepts(int maxMessageBytes) {
        producer.topicAccepts(maxMessageBytes);
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
        return producer.acknowledged();
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
                    producer.failed();
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
            producer.failed();
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

    private void append(CaptureItem item) {
        List<TapRows> taps = item.taps();
        for (CapturedInput input : item.inputs()) {
            producer.send(config.inputsTopic(), input.getInstanceId().getBytes(StandardCharsets.UTF_8),
                    input.toByteArray(), 0, List.of(), "input");
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

    /** Sends every open batch, each split into records under the record limit ({@link TapRecords}). */
    private void sendOpen() {
        Set<Delivery> settledHere = Collections.newSetFromMap(new IdentityHashMap<>());
        for (OpenBatch o : open.values()) {
            settledHere.addAll(o.owners);
            records.send(o);
        }
        open.clear();
        settledHere.forEach(Delivery::seal);
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
        producer.close();
    }
}

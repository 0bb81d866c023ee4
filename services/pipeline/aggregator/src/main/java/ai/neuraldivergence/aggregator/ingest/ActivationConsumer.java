package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.storage.CatalogStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.jboss.logging.Logger;

/**
 * The aggregator's consumer: polls activation batches, late labels and captured inputs, accumulates them, and every
 * flush interval (or earlier, when the delta's byte budget is reached) writes the distributions and the partitions'
 * next offsets in one PostgreSQL transaction (the "storing offsets outside Kafka" pattern: auto-commit off, offsets
 * read back and sought on assignment).
 *
 * <p>The delta and its offset ranges travel together ({@link PendingDelta}): a flush hands the delta over before it
 * writes, so whatever goes wrong (a fenced flush, a database outage, a lost partition, a revoke right after a failed
 * flush) no path can commit an offset range whose data was not written. A failure that is not transient and recurs
 * is looked into ({@link DeltaRecovery}): the record at fault is dead-lettered, the rest committed.
 *
 * <p>This bean owns the consumer thread and what the health checks read; the work with each Kafka consumer is
 * {@link ConsumerLoop}'s, the writes {@link DeltaWrites}'.
 */
@ApplicationScoped
public class ActivationConsumer {

    private static final Logger LOG = Logger.getLogger(ActivationConsumer.class);

    private final AggregatorConfig config;
    private final Map<String, Object> kafkaConfig;
    private final ConsumerMetrics metrics;
    private final DeltaWrites writes;
    private final ConsumerLoop loop;

    private volatile boolean running;
    // the wait before the next restart after a failure: doubles per failure, back to the start once a poll succeeds
    private Duration backoff;
    private volatile String lastError;
    // when the loop last began with a new Kafka consumer (at start, and after each failure's backoff): with the last
    // poll, what says the thread is moving
    private volatile Instant lastStart;
    private volatile Error fatal;
    // set by wakeKafkaCall: the WakeupException that follows is a stuck call's, not stop()'s
    private volatile boolean woken;
    private volatile Thread thread;

    @Inject
    public ActivationConsumer(AggregatorConfig config, Topics topics,
            @Identifier("default-kafka-broker") Map<String, Object> kafkaConfig, FlushWriter writer,
            CatalogStore catalog, EventPublisher events, ReferenceSeals seals, MeterRegistry registry) {
        this.config = config;
        this.kafkaConfig = kafkaConfig;
        this.metrics = new ConsumerMetrics(registry, config.maxPendingBytes().asLongValue());
        RecordIntake intake = new RecordIntake(topics, new ActivationBatchValidator.Rules(config.maxNeuronsPerTap(),
                config.futureSkew(), null), config.blockSize(), writer::storedTap, catalog::withRegisteredScales,
                writer::tapSealed);
        this.writes = new DeltaWrites(writer, events, seals, metrics);
        this.loop = new ConsumerLoop(config, topics, kafkaConfig, intake, writer, writes,
                new Accumulators(config, catalog, metrics), metrics, () -> running, () -> {
                    lastError = null;
                    backoff = config.retryBackoff();
                });
    }

    void start(@Observes StartupEvent event) {
        if (!config.enabled()) {
            LOG.info("aggregation disabled (nd.aggregator.enabled=false)");
            return;
        }
        running = true;
        thread = new Thread(this::run, "activation-consumer");
        thread.start();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        loop.wakeup();
        if (thread != null) {
            thread.join(Duration.ofSeconds(30).toMillis());
        }
        writes.shutdown();
    }

    /** When the loop last completed a poll; null before the first. */
    public Instant lastPoll() {
        return loop.lastPoll();
    }

    /**
     * How long the running consumer has been stuck: the longer of the consumer thread's time without a poll or a
     * fresh start, and the delta in flight's time being written (the consumer polls on meanwhile); empty when it is
     * not running. A failing loop starts over after each backoff, so only a call that does not return grows this
     * past a poll's and a flush's time.
     */
    public Optional<Duration> withoutProgress() {
        Instant poll = loop.lastPoll();
        Instant start = lastStart;
        if (!isRunning() || start == null) {
            return Optional.empty();
        }
        Duration consumerThread = consumerThreadWithout(poll, start);
        Duration writing = writes.writingFor().orElse(Duration.ZERO);
        return Optional.of(writing.compareTo(consumerThread) > 0 ? writing : consumerThread);
    }

    /**
     * Wakes the consumer thread out of a Kafka call (the group's consumer's, or a recovery's reader's) in which it has
     * been for at least {@code atLeast} without a poll: the call throws, and the loop starts over from the stored
     * offsets. Nothing happens when the thread is elsewhere (waiting for a write, reading the database): those calls
     * have their own bounds, and a wakeup would only fail the next poll. True when it woke the thread.
     */
    public boolean wakeKafkaCall(Duration atLeast) {
        Thread t = thread;
        Instant start = lastStart;
        if (!isRunning() || start == null || consumerThreadWithout(loop.lastPoll(), start).compareTo(atLeast) < 0
                || !KafkaCall.onTop(t.getStackTrace())) {
            return false;
        }
        woken = true;
        loop.wakeup();
        return true;
    }

    private static Duration consumerThreadWithout(Instant poll, Instant start) {
        Instant last = poll != null && poll.isAfter(start) ? poll : start;
        return Duration.between(last, Instant.now());
    }

    /** Where the consumer and writer threads are now: what a stall warning shows. */
    public String stacks() {
        StringBuilder out = new StringBuilder();
        Thread consumerThread = thread;
        if (consumerThread != null) {
            append(out, consumerThread);
        }
        writes.writerThread().ifPresent(t -> append(out, t));
        return out.toString();
    }

    private static void append(StringBuilder out, Thread t) {
        out.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
        for (StackTraceElement e : t.getStackTrace()) {
            out.append("\tat ").append(e).append('\n');
        }
    }

    public boolean isRunning() {
        return thread != null && thread.isAlive();
    }

    public Optional<String> lastError() {
        return Optional.ofNullable(lastError);
    }

    /** The Error that ended the consumer thread (an OutOfMemoryError, say): the process is broken, restart it. */
    public Optional<Error> fatalError() {
        return Optional.ofNullable(fatal);
    }

    private void run() {
        try {
            loop();
        } catch (Error e) {
            // whatever the heap or the JVM is left with cannot be trusted: stop, and let liveness restart the pod
            fatal = e;
            running = false;
            LOG.fatalf(e, "the activation consumer died of %s; liveness reports DOWN", e);
        }
    }

    private void loop() {
        backoff = config.retryBackoff();
        while (running) {
            lastStart = Instant.now();
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerConfig())) {
                loop.consume(c);
            } catch (WakeupException e) {
                // stop() asked us to leave poll() (the loop condition ends it), or the watchdog woke a Kafka call
                // that did not return (start over from the stored offsets, as after any failure)
                if (running && woken) {
                    metrics.failed(false);
                    lastError = "a Kafka call did not return: woken by the watchdog";
                    LOG.warn("woke the activation consumer out of a Kafka call that did not return; dropping the "
                            + "unflushed delta and restarting from the stored offsets");
                }
            } catch (RuntimeException e) {
                Optional<VirtualMachineError> vm = FatalCause.of(e);
                if (vm.isPresent()) {
                    throw vm.get();
                }
                metrics.failed(FlushFailure.of(e) == FlushFailure.STORE);
                lastError = e.toString();
                LOG.errorf(e, "activation consumer failed; dropping the unflushed delta and restarting from the "
                        + "stored offsets in %s", backoff);
                sleep(backoff);
                backoff = min(backoff.multipliedBy(2), config.maxRetryBackoff());
            } finally {
                woken = false;
                loop.reset();
            }
        }
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, config.consumerGroup());
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "nd-aggregator");
        // what the client fetches ahead is heap too: bounded well under the delta's budget (a record larger than
        // these limits is still fetched, alone)
        c.putIfAbsent(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 8 << 20);
        c.putIfAbsent(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 2 << 20);
        return c;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

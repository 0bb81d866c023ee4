package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.wire.WireMapping;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import com.google.protobuf.InvalidProtocolBufferException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.jboss.logging.Logger;

/**
 * Follows the aggregator's WindowUpdates (every partition, from the end, no consumer group: each instance needs
 * every update) and tells the {@link SelectionCache} what changed. While it cannot follow them, the cache cannot know
 * what is stale: it is switched off until the listener is back, and cleared then.
 */
public final class WindowUpdateListener implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(WindowUpdateListener.class);
    /** How often the topic's partitions are looked at again (its metadata is at most {@link #METADATA_AGE} old). */
    static final Duration PARTITION_CHECK = Duration.ofSeconds(5);
    static final Duration METADATA_AGE = Duration.ofSeconds(15);

    private final Map<String, Object> kafkaConfig;
    private final String topic;
    private final SelectionCache cache;
    private final java.util.function.Consumer<WindowUpdate> downstream;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private volatile boolean following;

    /**
     * @param cache told what changed (null: no cache)
     * @param downstream every readable update, after the cache has dropped what it changed (monitors, watchers)
     */
    public WindowUpdateListener(Map<String, Object> kafkaConfig, String topic, SelectionCache cache,
            java.util.function.Consumer<WindowUpdate> downstream) {
        this.kafkaConfig = kafkaConfig;
        this.topic = topic;
        this.cache = cache == null ? new SelectionCache(0, Duration.ZERO) : cache;
        this.downstream = downstream;
        this.thread = new Thread(this::run, "window-update-listener");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** Whether updates are being followed now: only then may cached selections be served. */
    public boolean following() {
        return following;
    }

    private void run() {
        while (running.get()) {
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(config())) {
                consumer = c;
                List<TopicPartition> partitions = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                        .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                if (partitions.isEmpty()) {
                    sleep(2000);
                    continue;
                }
                c.assign(partitions);
                c.seekToEnd(partitions);
                partitions.forEach(c::position);
                // whatever changed while nobody listened is unknown: start from an empty cache
                cache.clear();
                following = true;
                cache.enable(true);
                long nextCheck = System.nanoTime() + PARTITION_CHECK.toNanos();
                while (running.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                        apply(r.value());
                    }
                    if (System.nanoTime() - nextCheck >= 0) {
                        nextCheck = System.nanoTime() + PARTITION_CHECK.toNanos();
                        partitions = followAdded(c, partitions);
                    }
                }
            } catch (WakeupException e) {
                // closing
            } catch (RuntimeException e) {
                if (following) {
                    LOG.warnf("lost the window updates (%s); serving uncached until they are back", e.toString());
                }
                following = false;
                sleep(2000);
            } finally {
                following = false;
                cache.enable(false);
                consumer = null;
            }
        }
    }

    /**
     * Follows the partitions the topic has gained since they were assigned, from their beginning: updates are keyed by
     * model, so a model that moved to a new partition would otherwise go unheard (its cached selections stale, its
     * watchers silent) until a restart; everything on a new partition is new to this listener.
     */
    private List<TopicPartition> followAdded(KafkaConsumer<byte[], byte[]> c, List<TopicPartition> assigned) {
        List<TopicPartition> now = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        List<TopicPartition> added = now.stream().filter(p -> !assigned.contains(p)).toList();
        if (added.isEmpty()) {
            return assigned;
        }
        List<TopicPartition> all = new java.util.ArrayList<>(assigned);
        all.addAll(added);
        c.assign(all);
        c.seekToBeginning(added);
        LOG.infof("following %d partitions of %s added since they were assigned", added.size(), topic);
        return all;
    }

    private void apply(byte[] value) {
        try {
            WindowUpdate u = WindowUpdate.parseFrom(value);
            Granularity g = switch (u.getWindow().getGranularity()) {
                case GRANULARITY_HOUR -> Granularity.HOUR;
                case GRANULARITY_DAY -> Granularity.DAY;
                default -> Granularity.MINUTE;
            };
            cache.windowChanged(u.getModelId(), u.getModelVersion(), u.getTap(),
                    WireMapping.slice(u.getSlice()).key(), g, Instant.ofEpochSecond(
                            u.getWindow().getStart().getSeconds(), u.getWindow().getStart().getNanos()),
                    java.util.Set.copyOf(u.getDeltaIdsList()));
            try {
                downstream.accept(u);
            } catch (RuntimeException e) {
                LOG.warnf(e, "handling a window update failed");
            }
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            // an update we cannot read may have been about anything
            LOG.warnf("unreadable window update (%s); clearing the selection cache", e.getMessage());
            cache.clear();
        }
    }

    private Map<String, Object> config() {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.remove(ConsumerConfig.GROUP_ID_CONFIG);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, "nd-comparison-window-updates");
        // the partitions' list comes from metadata this old at most: a partition added is followed within it
        c.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, (int) METADATA_AGE.toMillis());
        c.keySet().retainAll(ConsumerConfig.configNames());
        return c;
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        thread.join(10_000);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

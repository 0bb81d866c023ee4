package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.config.Topics;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jboss.logging.Logger;

/**
 * Makes sure the dead-letter topic can take whatever the activations topic can: a dead letter is the record as
 * received plus its headers, so the dead-letter topic's {@code max.message.bytes} must be larger than the source
 * topics' (by {@value #HEADROOM} bytes). At start, in the background (Kafka may not be up yet), it creates the topic
 * when it is missing, or raises its limit when it is smaller; where the client may do neither, it says so in the
 * log. A record it still cannot take is counted ({@code reason="undeliverable"}) and skipped, never retried forever.
 */
@ApplicationScoped
public class DeadLetterTopic {

    private static final Logger LOG = Logger.getLogger(DeadLetterTopic.class);
    /** Room for the headers a dead letter carries (reason, source topic, partition, offset). */
    static final int HEADROOM = 64 * 1024;

    private final Map<String, Object> kafkaConfig;
    private final Topics topics;
    private final AggregatorConfig config;

    @Inject
    public DeadLetterTopic(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig, Topics topics,
            AggregatorConfig config) {
        this.kafkaConfig = kafkaConfig;
        this.topics = topics;
        this.config = config;
    }

    void start(@Observes StartupEvent event) {
        if (!config.enabled()) {
            return;
        }
        Thread t = new Thread(this::ensureWithRetries, "dead-letter-topic");
        t.setDaemon(true);
        t.start();
    }

    private void ensureWithRetries() {
        for (int attempt = 0; attempt < 30; attempt++) {
            try {
                ensure();
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                if (attempt == 0) {
                    LOG.infof("checking %s: %s (retried every 10 s)", topics.deadLetter(), e.toString());
                }
            }
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.warnf("could not check the dead-letter topic %s: make sure its max.message.bytes exceeds %s's",
                topics.deadLetter(), topics.activations());
    }

    /** Creates or raises the dead-letter topic's record limit; throws when Kafka cannot be asked. */
    void ensure() throws Exception {
        try (Admin admin = admin(kafkaConfig, "nd-aggregator-dead-letter-topic")) {
            int needed = 0;
            for (String source : List.of(topics.activations(), topics.labels(), topics.inputs())) {
                needed = Math.max(needed, limitOf(admin, source).orElse(0));
            }
            if (needed == 0) {
                // the source topics do not exist yet (created on first use): the broker's default applies to all
                return;
            }
            needed += HEADROOM;
            Optional<Integer> current = limitOf(admin, topics.deadLetter());
            if (current.isEmpty()) {
                try {
                    admin.createTopics(List.of(new NewTopic(topics.deadLetter(), Optional.empty(), Optional.empty())
                            .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(needed)))))
                            .all().get(30, TimeUnit.SECONDS);
                    LOG.infof("created the dead-letter topic %s (max.message.bytes %d)", topics.deadLetter(), needed);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            } else if (current.get() < needed) {
                ConfigResource dlq = new ConfigResource(ConfigResource.Type.TOPIC, topics.deadLetter());
                try {
                    admin.incrementalAlterConfigs(Map.of(dlq, List.of(new AlterConfigOp(new ConfigEntry(
                            TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(needed)),
                            AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
                    LOG.infof("raised %s's max.message.bytes from %d to %d, above its source topics'",
                            topics.deadLetter(), current.get(), needed);
                } catch (ExecutionException e) {
                    LOG.warnf("%s takes records of at most %d bytes, its source topics up to %d: the largest records "
                            + "could not be dead-lettered, and could not raise it (%s)", topics.deadLetter(),
                            current.get(), needed - HEADROOM, e.getCause());
                }
            }
        }
    }

    /**
     * An admin client for the aggregator's topic housekeeping: the Kafka settings an admin client knows, bounded
     * timeouts (the API timeout must not be shorter than a request's, or the client refuses to start).
     */
    static Admin admin(Map<String, Object> kafkaConfig, String clientId) {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.keySet().retainAll(AdminClientConfig.configNames());
        c.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        return Admin.create(c);
    }

    /** A topic's max.message.bytes; empty when the topic does not exist. */
    private static Optional<Integer> limitOf(Admin admin, String topic) throws Exception {
        Set<String> names = admin.listTopics().names().get(15, TimeUnit.SECONDS);
        if (!names.contains(topic)) {
            return Optional.empty();
        }
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config config = admin.describeConfigs(List.of(resource)).all().get(15, TimeUnit.SECONDS).get(resource);
        ConfigEntry entry = config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
        return Optional.of(entry == null ? 1_048_588 : Integer.parseInt(entry.value()));
    }
}

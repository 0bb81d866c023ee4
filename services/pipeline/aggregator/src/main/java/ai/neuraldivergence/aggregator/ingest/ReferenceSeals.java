package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.proto.v1.ReferenceSeal;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.SealStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jboss.logging.Logger;

/**
 * Seals references and publishes their seals. A flush seals the taps it brings to the expected count; this job,
 * every {@code seal-check-interval}, seals what is due otherwise (a reference complete before SealReference arrived,
 * one waiting past {@code seal-timeout}: sealed with what it holds, the shortfall reported), and publishes every
 * sealed reference on the compacted seal topic, which inference follows to refuse tagged requests for it. Every
 * aggregator runs it; each reference is worked on by one at a time (row locks, skipped when held).
 */
@ApplicationScoped
@Startup
public class ReferenceSeals {

    private static final Logger LOG = Logger.getLogger(ReferenceSeals.class);

    private final AggregatorConfig config;
    private final Topics topics;
    private final Map<String, Object> kafkaConfig;
    private final SealStore seals;
    private final EventPublisher events;
    private final MeterRegistry registry;
    private final Counter publishFailures;
    private volatile boolean topicReady;

    @Inject
    public ReferenceSeals(AggregatorConfig config, Topics topics,
            @Identifier("default-kafka-broker") Map<String, Object> kafkaConfig, SealStore seals,
            EventPublisher events, MeterRegistry registry) {
        this.config = config;
        this.topics = topics;
        this.kafkaConfig = kafkaConfig;
        this.seals = seals;
        this.events = events;
        this.registry = registry;
        this.publishFailures = Meters.counter(registry, "nd.aggregator.reference.seals.unpublished",
                "Attempts to publish a reference's seal that failed (retried at the next check); meanwhile "
                        + "inference accepts tagged requests for it, which are dead-lettered");
    }

    /** Every {@code references.seal-check-interval}, from the start; never two checks at once. */
    @Scheduled(identity = "reference-seals", every = "${nd.aggregator.references.seal-check-interval}",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP, skipExecutionIf = AggregationDisabled.class)
    void scheduledCheck() {
        try {
            check();
        } catch (RuntimeException e) {
            LOG.warnf("sealing references failed (retried in %s): %s", config.references().sealCheckInterval(), e);
        }
    }

    /** Seals what is due and publishes what is sealed. */
    void check() {
        if (!topicReady) {
            // before any seal is published: the producer's first send would otherwise have the broker create it
            topicReady = ensureTopic();
        }
        for (ReferenceStore.ReferenceId id : seals.awaitingSeal()) {
            seals.sealIfDue(id, config.references().sealTimeout()).ifPresent(this::sealed);
        }
        List<ReferenceStore.ReferenceId> unpublished = seals.unpublished();
        for (ReferenceStore.ReferenceId id : unpublished) {
            try {
                if (seals.publishSeal(id, this::publish)) {
                    LOG.infof("published the seal of reference %s", id.topicKey());
                }
            } catch (RuntimeException e) {
                publishFailures.increment();
                LOG.warnf("could not publish the seal of reference %s (retried): %s", id.topicKey(), e);
            }
        }
    }

    /** A reference this aggregator sealed (in a flush or here): logged and counted; its seal is published next. */
    void sealed(SealStore.Sealed sealed) {
        boolean complete = sealed.shortfall() == 0;
        Counter.builder("nd.aggregator.references.sealed")
                .description("References sealed: complete, or by the seal timeout short of the expected count")
                .tag("complete", Boolean.toString(complete)).register(registry).increment();
        if (complete) {
            LOG.infof("sealed reference %s with %d observations", sealed.id().topicKey(), sealed.observationCount());
        } else {
            LOG.warnf("sealed reference %s after the seal timeout (%s) short of its expected count: its emptiest tap "
                    + "lacks %d observations", sealed.id().topicKey(), config.references().sealTimeout(),
                    sealed.shortfall());
        }
    }

    private void publish(ReferenceStore.StoredReference r) throws Exception {
        events.referenceSealed(ReferenceSeal.newBuilder().setModelId(r.modelId()).setModelVersion(r.modelVersion())
                .setName(r.name()).setSealedAt(EventPublisher.timestampOf(r.sealedAt()))
                .setObservationCount(r.observationCount()).build());
    }

    /**
     * Creates the seal topic, compacted, when it is missing: a broker's auto-created topic would delete old seals
     * after its retention, and inference would forget them.
     */
    private boolean ensureTopic() {
        try (Admin admin = DeadLetterTopic.admin(kafkaConfig, "nd-aggregator-reference-seals")) {
            if (admin.listTopics().names().get(15, TimeUnit.SECONDS).contains(topics.referenceSeals())) {
                return true;
            }
            admin.createTopics(List.of(new NewTopic(topics.referenceSeals(), Optional.empty(), Optional.empty())
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT))))
                    .all().get(30, TimeUnit.SECONDS);
            LOG.infof("created the seal topic %s (compacted)", topics.referenceSeals());
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TopicExistsException) {
                return true;
            }
            LOG.warnf("could not create the seal topic %s (tried again at the next check): %s",
                    topics.referenceSeals(), e.getCause());
            return false;
        } catch (Exception e) {
            LOG.warnf("could not create the seal topic %s (tried again at the next check): %s",
                    topics.referenceSeals(), e);
            return false;
        }
    }
}

package ai.neuraldivergence.aggregator.health;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.ingest.ActivationConsumer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Says so when the consumer is stuck in a call that does not return: every few seconds it reads how long the delta in
 * flight has been written, or the consumer thread has gone without a poll or a fresh start
 * ({@link ActivationConsumer#withoutProgress}), and past {@code nd.aggregator.stall-warning} logs one warning per
 * stall with the consumer's and the writer's stacks, and counts it. A stuck write is otherwise silent: the consumer
 * polls on, so readiness stays UP while nothing is stored. Liveness ({@link ConsumerLivenessCheck}) asks for a
 * restart past {@code nd.aggregator.stall-timeout}. A consumer thread stuck that long inside a Kafka client call is
 * woken out of it ({@link ActivationConsumer#wakeKafkaCall}) and starts over.
 */
@ApplicationScoped
public class ConsumerWatchdog {

    private static final Logger LOG = Logger.getLogger(ConsumerWatchdog.class);

    private final ActivationConsumer consumer;
    private final Duration warning;
    private final Counter stalls;
    private final Counter wakeups;
    // whether the current stall was reported: one warning per stall, however long it lasts
    private boolean reported;

    @Inject
    public ConsumerWatchdog(ActivationConsumer consumer, AggregatorConfig config, MeterRegistry registry) {
        this.consumer = consumer;
        this.warning = config.stallWarning();
        this.stalls = Counter.builder("nd.aggregator.consumer.stalls")
                .description("Times a delta's write or the consumer thread was stuck for nd.aggregator.stall-warning "
                        + "(a call that did not return); each is logged with the threads' stacks")
                .register(registry);
        this.wakeups = Counter.builder("nd.aggregator.consumer.wakeups")
                .description("Times the consumer thread was woken out of a Kafka call it had been in for "
                        + "nd.aggregator.stall-warning; each restarts the consumer from the stored offsets")
                .register(registry);
    }

    @Scheduled(identity = "consumer-watchdog", every = "5s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void check() {
        Optional<Duration> without = consumer.withoutProgress();
        if (without.isEmpty() || without.get().compareTo(warning) < 0) {
            reported = false;
            return;
        }
        if (!reported) {
            reported = true;
            stalls.increment();
            LOG.warnf("the activation consumer has been stuck for %s s: a delta's write, or the consumer thread, "
                    + "is in a call that has not returned (liveness turns DOWN at nd.aggregator.stall-timeout). "
                    + "Its threads:%n%s", without.get().toSeconds(), consumer.stacks());
        }
        // a Kafka client call has no reason to last this long (each is bounded by default.api.timeout.ms or less),
        // yet one did after a database outage (AggregatorOutageTest, CI): woken, the loop starts over from the stored
        // offsets now instead of waiting for liveness to restart the pod
        if (consumer.wakeKafkaCall(warning)) {
            wakeups.increment();
        }
    }
}

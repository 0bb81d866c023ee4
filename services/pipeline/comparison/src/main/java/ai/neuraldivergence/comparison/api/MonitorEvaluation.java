package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.config.ComparisonConfig;
import ai.neuraldivergence.comparison.service.MonitorEvaluator;
import ai.neuraldivergence.comparison.service.Monitors;
import ai.neuraldivergence.storage.MonitorStore;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import org.jboss.logging.Logger;

/**
 * The monitors' schedule on every replica: the stored definitions and states read and the new transitions pushed to
 * this replica's watchers every second; the lease taken or renewed every 5 s, and, by its holder alone, the complete
 * minutes evaluated every second; old evaluations and transitions dropped every hour. A run still going when the
 * next is due is skipped, never stacked.
 */
@ApplicationScoped
public class MonitorEvaluation {

    private static final Logger LOG = Logger.getLogger(MonitorEvaluation.class);
    /** How long a transition is kept: as long as the day rows it points at. */
    static final Duration TRANSITION_RETENTION = Duration.ofDays(400);

    @Inject
    Monitors monitors;

    @Inject
    MonitorEvaluator evaluator;

    @Inject
    MonitorStore store;

    @Inject
    ComparisonConfig config;

    @Scheduled(every = "1s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void follow() {
        monitors.refresh();
        monitors.push();
    }

    @Scheduled(every = "5s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void lease() {
        evaluator.lease();
    }

    @Scheduled(every = "1s", delayed = "2s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void evaluate() {
        evaluator.evaluate();
    }

    // every replica prunes: the statements are idempotent, and one that finds nothing changes nothing
    @Scheduled(every = "1h", delayed = "1m", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void prune() {
        int transitions = store.pruneTransitions(Instant.now().minus(TRANSITION_RETENTION));
        int evaluations = store.pruneEvaluations(Instant.now().minus(config.monitoring().backfill()));
        if (transitions > 0) {
            LOG.infof("%d monitor transitions older than %d days deleted", transitions, TRANSITION_RETENTION.toDays());
        }
        LOG.debugf("%d monitor evaluations older than the back-fill span deleted", evaluations);
    }

    /**
     * The evaluator made at start, not at the first scheduled run: its gauges (which replica holds the lease) exist
     * from the moment the replica is ready, so that "no replica holds it" is never a missing series.
     */
    void start(@Observes StartupEvent event) {
        evaluator.holds();
    }

    void stop(@Observes ShutdownEvent event) {
        evaluator.release();
    }
}

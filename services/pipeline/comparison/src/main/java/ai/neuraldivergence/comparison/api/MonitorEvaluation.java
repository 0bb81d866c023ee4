package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.service.Monitors;
import ai.neuraldivergence.storage.MonitorStore;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import org.jboss.logging.Logger;

/**
 * Runs the monitors' evaluation of the minutes committed since the last run, every two seconds, and drops
 * transitions older than their retention every hour.
 */
@ApplicationScoped
public class MonitorEvaluation {

    private static final Logger LOG = Logger.getLogger(MonitorEvaluation.class);
    /** How long a transition is kept: as long as the day rows it points at. */
    static final Duration TRANSITION_RETENTION = Duration.ofDays(400);

    @Inject
    Monitors monitors;

    @Inject
    MonitorStore store;

    // a run still going when the next is due is skipped, never stacked: evaluations are per committed minute
    @Scheduled(every = "2s", delayed = "2s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void evaluate() {
        monitors.evaluate();
    }

    // every replica prunes: the statement is idempotent, and one that finds nothing changes nothing
    @Scheduled(every = "1h", delayed = "1m", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void prune() {
        int pruned = store.pruneTransitions(Instant.now().minus(TRANSITION_RETENTION));
        if (pruned > 0) {
            LOG.infof("%d monitor transitions older than %d days deleted", pruned, TRANSITION_RETENTION.toDays());
        }
    }
}

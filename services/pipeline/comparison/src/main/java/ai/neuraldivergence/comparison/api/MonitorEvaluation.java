package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.service.Monitors;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/** Runs the monitors' evaluation of the minutes committed since the last run, every two seconds. */
@ApplicationScoped
public class MonitorEvaluation {

    @Inject
    Monitors monitors;

    // a run still going when the next is due is skipped, never stacked: evaluations are per committed minute
    @Scheduled(every = "2s", delayed = "2s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void evaluate() {
        monitors.evaluate();
    }
}

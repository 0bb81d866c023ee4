package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import io.quarkus.scheduler.Scheduled;
import io.quarkus.scheduler.ScheduledExecution;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

/** Skips the aggregator's scheduled jobs while aggregation is off ({@code nd.aggregator.enabled=false}). */
@Singleton
public class AggregationDisabled implements Scheduled.SkipPredicate {

    @Inject
    AggregatorConfig config;

    @Override
    public boolean test(ScheduledExecution execution) {
        return !config.enabled();
    }
}

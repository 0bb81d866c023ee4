package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.domain.SlicePolicy;
import ai.neuraldivergence.storage.CatalogStore;
import org.jboss.logging.Logger;

/** Makes the window accumulators of the consumer's deltas, sliced as configured. */
final class Accumulators {

    private static final Logger LOG = Logger.getLogger(Accumulators.class);

    private final AggregatorConfig config;
    private final CatalogStore catalog;
    private final ConsumerMetrics metrics;

    Accumulators(AggregatorConfig config, CatalogStore catalog, ConsumerMetrics metrics) {
        this.config = config;
        this.catalog = catalog;
        this.metrics = metrics;
    }

    /** A fresh accumulator. */
    WindowAccumulator fresh() {
        // the values each model admitted before count against its bound (read once per model and accumulator)
        SlicePolicy policy = new SlicePolicy(config.sliceTagKeys(), config.maxValuesPerTag(), (key, value, why) -> {
            if (key.equals(SlicePolicy.PREDICTED_CLASS) || key.equals(SlicePolicy.TRUE_LABEL)) {
                metrics.classRefused();
            } else {
                metrics.tagValueRefused();
            }
            LOG.debugf("%s %s not sliced: %s", key, value, why);
        }, catalog::admittedTagValues);
        return new WindowAccumulator(policy, config.allowedLateness(), config.recent().sampleRate());
    }

    /**
     * The accumulator of the delta after {@code previous}: it knows the tag values {@code previous} admitted, which
     * are not stored until its delta is written (meanwhile the next delta fills).
     */
    WindowAccumulator after(WindowAccumulator previous) {
        return new WindowAccumulator(previous.slicePolicy().successor(), config.allowedLateness(),
                config.recent().sampleRate());
    }
}

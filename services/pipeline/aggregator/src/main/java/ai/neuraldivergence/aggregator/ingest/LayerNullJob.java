package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.config.Stores;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.LayerNullTable;
import ai.neuraldivergence.domain.SampledLayerNull;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.LayerNullStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.Startup;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Computes sealed references' layer nulls in the background: for each tap of a sealed reference without one, the
 * layer statistic's null resampled from the reference's calibration sample at every bandwidth and bucket
 * ({@link SampledLayerNull#table}), stored for every comparison replica to read. A reference frozen from a time range
 * is resampled from its hours' samples. Every aggregator runs it; a claim with a lease keeps two from computing the
 * same tap, and one that dies mid-way leaves it to another when the lease ends.
 */
@ApplicationScoped
@Startup
public class LayerNullJob {

    private static final Logger LOG = Logger.getLogger(LayerNullJob.class);
    /** Taps looked at per check: each takes seconds, and the next check goes on where this one stopped. */
    private static final int PER_CHECK = 16;

    private final AggregatorConfig config;
    private final LayerNullStore nulls;
    private final CalibrationSampleStore samples;
    private final CatalogStore catalog;
    private final String holder = ManagementFactory.getRuntimeMXBean().getName();
    private final Counter computed;
    private final Counter failures;
    private final Timer duration;
    private final AtomicInteger due = new AtomicInteger();

    @Inject
    public LayerNullJob(AggregatorConfig config, @Identifier(Stores.READS_BOUNDED) javax.sql.DataSource dataSource,
            CatalogStore catalog, MeterRegistry registry) {
        this.config = config;
        this.nulls = new LayerNullStore(dataSource);
        this.samples = new CalibrationSampleStore(dataSource);
        this.catalog = catalog;
        this.computed = Meters.counter(registry, "nd.aggregator.layer.nulls.computed",
                "Layer nulls of sealed references' taps computed and stored");
        this.failures = Meters.counter(registry, "nd.aggregator.layer.nulls.failures",
                "Layer null computations that failed (tried again at a later check)");
        this.duration = Timer.builder("nd.aggregator.layer.nulls.duration")
                .description("Time to read a tap's calibration sample, resample its null and store it")
                .register(registry);
        registry.gauge("nd.aggregator.layer.nulls.due", due);
    }

    /** Every {@code references.layer-null-check-interval}; never two checks at once. */
    @Scheduled(identity = "layer-nulls", every = "${nd.aggregator.references.layer-null-check-interval}",
            delayed = "5s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
            skipExecutionIf = AggregationDisabled.class)
    void scheduledCheck() {
        try {
            check();
        } catch (RuntimeException e) {
            failures.increment();
            LOG.warnf("computing layer nulls failed (tried again in %s): %s",
                    config.references().layerNullCheckInterval(), e);
        }
    }

    /** Computes the nulls due now, up to {@link #PER_CHECK}; returns how many it stored. */
    int check() {
        List<LayerNullStore.Due> list = nulls.due(PER_CHECK);
        due.set(list.size());
        int stored = 0;
        for (LayerNullStore.Due d : list) {
            if (!nulls.claim(d.key(), holder, config.references().layerNullLease())) {
                continue;
            }
            Timer.Sample started = Timer.start();
            if (nulls.store(d.key(), compute(d))) {
                stored++;
                computed.increment();
            }
            started.stop(duration);
        }
        return stored;
    }

    private LayerNullTable compute(LayerNullStore.Due d) {
        LayerNullStore.Key k = d.key();
        Optional<TapDescriptor> tap = catalog.find(k.modelId(), k.modelVersion(), k.tap());
        int size = config.calibrationSampleSize();
        List<float[]> sample = tap.isEmpty() || size == 0 ? List.of() : d.sourceFrom() == null
                ? samples.readReference(k.modelId(), k.modelVersion(), k.tap(), k.reference(), size)
                : samples.readHours(k.modelId(), k.modelVersion(), k.tap(),
                        Granularity.HOUR.windowStart(d.sourceFrom()), d.sourceTo(), size);
        if (tap.isEmpty() || sample.isEmpty()) {
            // nothing to resample (a tap without a sample: wider than a block, or its hours past retention): the
            // analytic bound answers for good, and the reference is not left calibrating
            return LayerNullTable.unusable(sample.size());
        }
        long started = System.nanoTime();
        LayerNullTable table = new SampledLayerNull(tap.get(), sample, seed(k)).table();
        LOG.infof("computed the layer null of reference %s/%s/%s, tap %s, from %d sampled observations in %d ms",
                k.modelId(), k.modelVersion(), k.reference(), k.tap(), sample.size(),
                (System.nanoTime() - started) / 1_000_000);
        return table;
    }

    /** The replicates' seed: a function of the reference alone, so that any replica computes the same null. */
    static long seed(LayerNullStore.Key k) {
        return (k.modelId() + '\0' + k.modelVersion() + '\0' + k.reference()).hashCode();
    }
}

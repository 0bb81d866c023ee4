package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.LayerNullTable;
import ai.neuraldivergence.domain.ResampledNull;
import ai.neuraldivergence.domain.SampledLayerNull;
import ai.neuraldivergence.domain.SampledMeanKsNull;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.LayerNullStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.Startup;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Optional;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Computes sealed references' layer nulls in the background: for each tap of a sealed reference without one, the
 * layer statistic's null resampled from the reference's calibration sample at every bandwidth and bucket
 * ({@link SampledLayerNull#table}), and the mean KS's from the sample's neuron values ({@link SampledMeanKsNull}: a tap
 * stored as one block), stored together for every comparison replica to read. Only what is due is computed: a tap
 * whose layer null is stored (of today's construction) and whose mean KS's is not, as after the upgrade that brought
 * the mean KS's, keeps its layer null as it is, which a reference frozen from hours past their retention could not
 * compute again. A reference frozen from a time range
 * is resampled from its hours' samples. Every aggregator runs it; a claim with a lease keeps two from computing the
 * same tap, and one that dies mid-way leaves it to another when the lease ends. A tap whose computation fails is
 * released and tried again a minute later; the others of the check go on.
 */
@ApplicationScoped
@Startup
public class LayerNullJob {

    private static final Logger LOG = Logger.getLogger(LayerNullJob.class);
    /** Taps looked at per check: each takes seconds, and the next check goes on where this one stopped. */
    private static final int PER_CHECK = 16;
    /** How long a tap whose computation failed waits before it is tried again. */
    static final Duration RETRY_AFTER = Duration.ofMinutes(1);
    /** One thread: computing nulls in the background never takes more than one core from the ingest. */
    private static final ForkJoinPool POOL = new ForkJoinPool(1);

    private final LayerNullStore nulls;
    private final CalibrationSampleStore samples;
    private final CatalogStore catalog;
    private final int sampleSize;
    private final long valueBytes;
    private final Duration lease;
    private final String holder = ManagementFactory.getRuntimeMXBean().getName();
    private final Counter computed;
    private final Counter failures;
    private final Timer duration;
    private final AtomicLong calibrating = new AtomicLong();

    @Inject
    public LayerNullJob(AggregatorConfig config, LayerNullStore nulls, CalibrationSampleStore samples,
            CatalogStore catalog, MeterRegistry registry) {
        this(nulls, samples, catalog, config.calibrationSampleSize(),
                config.calibrationSampleValueBytes().asLongValue(), config.references().layerNullLease(), registry);
    }

    LayerNullJob(LayerNullStore nulls, CalibrationSampleStore samples, CatalogStore catalog, int sampleSize,
            long valueBytes, Duration lease, MeterRegistry registry) {
        this.nulls = nulls;
        this.samples = samples;
        this.catalog = catalog;
        this.sampleSize = sampleSize;
        this.valueBytes = valueBytes;
        this.lease = lease;
        this.computed = Meters.counter(registry, "nd.aggregator.layer.nulls.computed",
                "Layer nulls of sealed references' taps computed and stored");
        this.failures = Meters.counter(registry, "nd.aggregator.layer.nulls.failures",
                "Layer null computations that failed (tried again at a later check)");
        this.duration = Timer.builder("nd.aggregator.layer.nulls.duration")
                .description("Time to read a tap's calibration sample, resample its null and store it")
                .register(registry);
        registry.gauge("nd.aggregator.layer.nulls.calibrating", calibrating);
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
            LOG.warnf("computing layer nulls failed (tried again at the next check): %s", e);
        }
    }

    /** Computes the nulls due now, up to {@link #PER_CHECK}; returns how many it stored. */
    int check() {
        List<LayerNullStore.Due> list = nulls.due(PER_CHECK);
        int stored = 0;
        for (LayerNullStore.Due d : list) {
            // a token of this claim alone: a result that outlived it (lease lapsed, reference deleted and made again
            // under the same name) is not stored
            String token = holder + "/" + UUID.randomUUID();
            if (!nulls.claim(d.key(), token, lease)) {
                continue;
            }
            Timer.Sample started = Timer.start();
            try {
                // read under the claim: a layer null stored now is not computed again
                Computed c = compute(d, nulls.read(d.key()).isPresent());
                if (nulls.store(d.key(), token, c.layer(), c.meanKs())) {
                    stored++;
                    computed.increment();
                }
            } catch (RuntimeException e) {
                failures.increment();
                LOG.warnf("computing the layer null of %s failed (tried again in %s): %s", d.key(), RETRY_AFTER, e);
                try {
                    nulls.release(d.key(), token, RETRY_AFTER);
                } catch (RuntimeException again) {
                    // the lease lapses by itself
                    LOG.debugf("could not release the claim on %s: %s", d.key(), again);
                }
            } finally {
                started.stop(duration);
            }
        }
        calibrating.set(nulls.calibrating());
        return stored;
    }

    /** A tap's two nulls, stored together; {@code layer} null: the stored one is kept. */
    private record Computed(LayerNullTable layer, LayerNullStore.MeanKs meanKs) {
    }

    private Computed compute(LayerNullStore.Due d, boolean layerStored) {
        LayerNullStore.Key k = d.key();
        Optional<TapDescriptor> tap = catalog.find(k.modelId(), k.modelVersion(), k.tap());
        int size = sampleSize;
        // a reference frozen from a slice: the members of its source hours' samples in that slice (those stored
        // before members kept their slices count for the slice all only)
        Slice source = d.sourceSlice() == null ? Slice.ALL : Slice.parse(d.sourceSlice());
        // the layer null's sample: not read when the layer null is stored
        List<float[]> sample = layerStored || tap.isEmpty() || size == 0 ? List.of() : d.sourceFrom() == null
                ? samples.readReference(k.modelId(), k.modelVersion(), k.tap(), k.reference(), size)
                : samples.readHours(k.modelId(), k.modelVersion(), k.tap(),
                        Granularity.HOUR.windowStart(d.sourceFrom()), d.sourceTo(), source, size);
        // the members that kept their neuron values: a tap stored as one block, the smallest ranks within the cap
        int valued = tap.isEmpty() || tap.get().blockCount() != 1 ? 0
                : SampledMeanKsNull.valuesKept(tap.get().neuronCount(), valueBytes, size);
        List<float[]> values = valued == 0 ? List.of() : (d.sourceFrom() == null
                ? samples.readReferenceValues(k.modelId(), k.modelVersion(), k.tap(), k.reference(), Slice.ALL,
                        valued)
                : samples.readHoursValues(k.modelId(), k.modelVersion(), k.tap(),
                        Granularity.HOUR.windowStart(d.sourceFrom()), d.sourceTo(), source, valued))
                .stream().filter(row -> row.length == tap.get().neuronCount()).toList();
        long started = System.nanoTime();
        Computed computed;
        try {
            // on a pool of its own, one thread: the resample's parallel streams would otherwise take the common pool,
            // which a flush of a large delta updates its sketches on
            // nothing to resample (no sample: a tap wider than a block has no values, a reference frozen from hours
            // past their retention has neither): the analytic bound answers for good, and the reference is not left
            // calibrating
            computed = POOL.submit(() -> new Computed(layerStored ? null : sample.isEmpty()
                    ? LayerNullTable.unusable(0) : new SampledLayerNull(tap.get(), sample, seed(k)).table(),
                    new LayerNullStore.MeanKs(values.size(), values.isEmpty() ? new java.util.TreeMap<>()
                            : new SampledMeanKsNull(values).table(ResampledNull.REPLICATES, seed(k)).buckets())))
                    .get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while computing the layer null of " + k, e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
        LOG.infof("computed the %s of reference %s/%s/%s, tap %s, from %d sampled observations (%d with their "
                + "neuron values) in %d ms", layerStored ? "mean KS's null" : "nulls", k.modelId(), k.modelVersion(),
                k.reference(), k.tap(), sample.size(), values.size(), (System.nanoTime() - started) / 1_000_000);
        return computed;
    }

    /** The replicates' seed: a function of the reference alone, so that any replica computes the same null. */
    static long seed(LayerNullStore.Key k) {
        return (k.modelId() + '\0' + k.modelVersion() + '\0' + k.reference()).hashCode();
    }
}

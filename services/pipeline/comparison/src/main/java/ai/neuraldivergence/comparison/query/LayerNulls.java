package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.LayerNull;
import ai.neuraldivergence.domain.SampledLayerNull;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The layer statistic's resampled nulls, from the calibration sample of a comparison's side A (its hours, or its
 * reference's): each scope's sample read when first asked and kept a few minutes with the nulls resampled from it
 * ({@link SampledLayerNull}): an hour still filling changes its sample, a sealed reference never does. A bucket costs
 * about a second of one core at a thousand replicates; a live view redrawn every few seconds asks again for the same
 * one. Thread-safe.
 */
public final class LayerNulls {

    /** How long a sample and the nulls resampled from it are kept. */
    static final Duration KEPT = Duration.ofMinutes(5);

    /** Where a side's calibration sample lives: a reference's own, or the hours of a range. */
    public record Scope(String modelId, String modelVersion, String tap, String reference, Instant from, Instant to) {
    }

    private record Kept(SampledLayerNull nulls, long at) {
    }

    private final CalibrationSampleStore store;
    private final int sampleSize;
    private final long maxSampleBytes;
    // least recently used first; bounded by the bytes of the samples they hold
    private final Map<Scope, Kept> kept = new LinkedHashMap<>(16, 0.75f, true);
    private long sampleBytes;

    /**
     * @param sampleSize the most observations read per sample (the aggregator's calibration-sample-size)
     * @param maxSampleBytes what the samples kept may hold together
     */
    public LayerNulls(CalibrationSampleStore store, int sampleSize, long maxSampleBytes) {
        this.store = store;
        this.sampleSize = sampleSize;
        this.maxSampleBytes = maxSampleBytes;
    }

    /** The sample scope of a side: null when it has none (another slice than all). */
    public static Scope scopeOf(TapDescriptor tap, ai.neuraldivergence.domain.query.Selection side,
            ai.neuraldivergence.storage.ReferenceStore.StoredReference reference) {
        if (!Slice.ALL.equals(side.slice())) {
            return null;
        }
        if (side instanceof ai.neuraldivergence.domain.query.Selection.Range r) {
            return new Scope(tap.modelId(), tap.modelVersion(), tap.tap(), null, hour(r.from()), r.to());
        }
        if (reference == null) {
            return null;
        }
        if (reference.sourceFrom() != null && reference.sourceTo() != null) {
            // frozen from a time range: its hours' samples, merged
            return new Scope(tap.modelId(), reference.modelVersion(), tap.tap(), null, hour(reference.sourceFrom()),
                    reference.sourceTo());
        }
        return new Scope(tap.modelId(), reference.modelVersion(), tap.tap(), reference.name(), null, null);
    }

    private static Instant hour(Instant t) {
        return ai.neuraldivergence.domain.Granularity.HOUR.windowStart(t);
    }

    /** The source a comparison of {@code tap} asks for its null; null without a scope. */
    public LayerNull.Source sourceFor(TapDescriptor tap, Scope scope) {
        if (scope == null) {
            return null;
        }
        return (g, n, m, alpha) -> LayerNull.bucket(n, m) == 0 ? OptionalDouble.empty()
                : nulls(tap, scope).quantile(g, n, m, alpha);
    }

    /** The scope's nulls: kept, or from its sample read now. */
    private SampledLayerNull nulls(TapDescriptor tap, Scope scope) {
        long now = System.nanoTime();
        synchronized (this) {
            Kept k = kept.get(scope);
            if (k != null && now - k.at() < KEPT.toNanos()) {
                return k.nulls();
            }
        }
        List<float[]> read = scope.reference() != null
                ? store.readReference(scope.modelId(), scope.modelVersion(), scope.tap(), scope.reference(), sampleSize)
                : store.readHours(scope.modelId(), scope.modelVersion(), scope.tap(), scope.from(), scope.to(),
                        sampleSize);
        SampledLayerNull nulls = new SampledLayerNull(tap, read, scope.hashCode());
        synchronized (this) {
            Kept old = kept.remove(scope);
            if (old != null) {
                sampleBytes -= old.nulls().bytes();
            }
            if (nulls.bytes() <= maxSampleBytes) {
                kept.put(scope, new Kept(nulls, now));
                sampleBytes += nulls.bytes();
                var it = kept.entrySet().iterator();
                while (sampleBytes > maxSampleBytes && it.hasNext()) {
                    sampleBytes -= it.next().getValue().nulls().bytes();
                    it.remove();
                }
            }
        }
        return nulls;
    }
}

package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.LayerNull;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.mmd.FeatureMaps;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The layer statistic's resampled nulls, from the calibration sample of a comparison's side A (its hours, or its
 * reference's), computed when first asked and kept a few minutes: an hour still filling changes its sample, a
 * sealed reference never does. A bucket costs about a second of one core at a thousand replicates; a live view
 * redrawn every few seconds asks again for the same one. Thread-safe.
 */
public final class LayerNulls {

    /** How long a sample and the nulls resampled from it are kept. */
    static final Duration KEPT = Duration.ofMinutes(5);
    private static final int MAX_NULLS = 512;

    /** Where a side's calibration sample lives: a reference's own, or the hours of a range. */
    public record Scope(String modelId, String modelVersion, String tap, String reference, Instant from, Instant to) {
    }

    private record Key(Scope scope, int g, int bucket) {
    }

    private record Kept(double[] summary, long at) {
    }

    private record Spectrum(ai.neuraldivergence.domain.mmd.FeatureSpectrum spectrum, long at) {
    }

    private final CalibrationSampleStore store;
    private final int sampleSize;
    private final long maxSampleBytes;
    private final Map<Key, Kept> nulls = new LinkedHashMap<>(16, 0.75f, true);
    // per (scope, grid point): what a rate below one in a thousand is read from (bucket 0 in the key)
    private final Map<Key, Spectrum> spectra = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<Scope, List<float[]>> samples = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<Scope, Long> sampledAt = new java.util.HashMap<>();
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
        return (g, n, m, alpha) -> {
            int bucket = LayerNull.bucket(n, m);
            if (bucket == 0) {
                return OptionalDouble.empty();
            }
            Key key = new Key(scope, g, bucket);
            long now = System.nanoTime();
            Kept kept;
            synchronized (this) {
                kept = nulls.get(key);
            }
            if (kept != null && now - kept.at() < KEPT.toNanos()) {
                // outside the lock: a spectrum is computed in about half a second
                return kept.summary() == null ? OptionalDouble.empty()
                        : OptionalDouble.of(LayerNull.quantile(kept.summary(), bucket, n, m, alpha,
                                spectrum(tap, scope, g, alpha, now)));
            }
            List<float[]> sample = sample(scope, now);
            double[] summary = null;
            if (sample.size() >= LayerNull.SMALLEST_SAMPLE) {
                long seed = LayerFeatures.seed(tap.modelId(), tap.tap(), Slice.ALL, 0, tap.neuronCount())
                        .orElseThrow();
                summary = LayerNull.resample(FeatureMaps.of(seed, tap.neuronCount()), g, sample, bucket,
                        seed ^ scope.hashCode());
            }
            synchronized (this) {
                nulls.put(key, new Kept(summary, now));
                while (nulls.size() > MAX_NULLS) {
                    nulls.remove(nulls.keySet().iterator().next());
                }
            }
            return summary == null ? OptionalDouble.empty()
                    : OptionalDouble.of(LayerNull.quantile(summary, bucket, n, m, alpha, spectrum(tap, scope, g,
                            alpha, now)));
        };
    }

    /** The sample's feature spectrum, for a rate below one in a thousand; null above it (not needed). */
    private ai.neuraldivergence.domain.mmd.FeatureSpectrum spectrum(TapDescriptor tap, Scope scope, int g,
            double alpha, long now) {
        if (alpha >= 1e-3) {
            return null;
        }
        Key key = new Key(scope, g, 0);
        synchronized (this) {
            Spectrum kept = spectra.get(key);
            if (kept != null && now - kept.at() < KEPT.toNanos()) {
                return kept.spectrum();
            }
        }
        List<float[]> sample = sample(scope, now);
        long seed = LayerFeatures.seed(tap.modelId(), tap.tap(), Slice.ALL, 0, tap.neuronCount()).orElseThrow();
        ai.neuraldivergence.domain.mmd.FeatureSpectrum spectrum = ai.neuraldivergence.domain.mmd.FeatureSpectrum.of(
                FeatureMaps.of(seed, tap.neuronCount()), g, sample);
        synchronized (this) {
            spectra.put(key, new Spectrum(spectrum, now));
            while (spectra.size() > MAX_NULLS) {
                spectra.remove(spectra.keySet().iterator().next());
            }
        }
        return spectrum;
    }

    private List<float[]> sample(Scope scope, long now) {
        synchronized (this) {
            List<float[]> kept = samples.get(scope);
            if (kept != null && now - sampledAt.get(scope) < KEPT.toNanos()) {
                return kept;
            }
        }
        List<float[]> read = scope.reference() != null
                ? store.readReference(scope.modelId(), scope.modelVersion(), scope.tap(), scope.reference(), sampleSize)
                : store.readHours(scope.modelId(), scope.modelVersion(), scope.tap(), scope.from(), scope.to(),
                        sampleSize);
        long bytes = bytes(read);
        synchronized (this) {
            List<float[]> old = samples.remove(scope);
            if (old != null) {
                sampleBytes -= bytes(old);
            }
            if (bytes <= maxSampleBytes) {
                samples.put(scope, read);
                sampledAt.put(scope, now);
                sampleBytes += bytes;
                var it = samples.entrySet().iterator();
                while (sampleBytes > maxSampleBytes && it.hasNext()) {
                    var eldest = it.next();
                    sampleBytes -= bytes(eldest.getValue());
                    sampledAt.remove(eldest.getKey());
                    it.remove();
                }
            }
        }
        return read;
    }

    private static long bytes(List<float[]> rows) {
        return rows.isEmpty() ? 0 : rows.size() * (16L + 4L * rows.get(0).length);
    }
}

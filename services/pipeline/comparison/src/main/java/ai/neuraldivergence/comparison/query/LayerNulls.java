package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.LayerNull;
import ai.neuraldivergence.domain.MeanKsNull;
import ai.neuraldivergence.domain.ResampledNull;
import ai.neuraldivergence.domain.SampledLayerNull;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.LayerNullStore;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.jboss.logging.Logger;

/**
 * The layer statistic's resampled nulls of a comparison's side A. A sealed reference's is computed once by an
 * aggregator after its seal and stored ({@link LayerNullStore}): read here and kept a few minutes, and until it is
 * stored the reference is calibrating ({@link LayerNull#CALIBRATING}: the analytic bound answers, and says so). A
 * time range's changes as its hours fill, and a reference still being built as its observations arrive: either is
 * resampled here from its calibration sample when first asked and kept a few minutes with its sample, as is another
 * slice than all (of any side: the sample's members in that slice)
 * ({@link SampledLayerNull}): a bucket costs about a second of one core at a thousand replicates, and a live view
 * redrawn every few seconds asks again for the same one.
 *
 * <p>The mean KS's null (a calibrated KS monitor's) is stored beside a sealed reference's layer null, computed in the
 * same claim after the seal: read and kept with it, and calibrating on its own while it is not stored (a reference
 * sealed before the mean KS had a null is computed again for it alone). Other sides have none (the analytic bound answers): a monitor
 * compares with a sealed reference, and resampling values on demand would read a sample of neuron values per query.
 * Thread-safe.
 */
public final class LayerNulls {

    private static final Logger LOG = Logger.getLogger(LayerNulls.class);

    /** How long a sample and the nulls resampled from it are kept, and a stored null once read. */
    static final Duration KEPT = Duration.ofMinutes(5);
    /** How soon a reference found calibrating is looked up again. */
    static final Duration CALIBRATING_RECHECK = Duration.ofSeconds(10);
    /** Stored nulls kept at once (about 11 KB each). */
    static final int STORED_KEPT = 256;

    /**
     * Where a side's calibration sample lives: a reference ({@code from} and {@code to} null; {@code createdAt}
     * tells a reference made again under the same name from the one before), or the hours of a range
     * ({@code reference} null), narrowed to the members in {@code slice}. A sealed reference's null of the slice all
     * is stored; one still being built, and another slice, are resampled from the sample as it stands.
     */
    public record Scope(String modelId, String modelVersion, String tap, String reference, Instant createdAt,
            boolean sealed, Instant from, Instant to, Slice slice) {
    }

    /** A stored null's key, with the reference's creation: a reference deleted and made again is another. */
    private record StoredKey(LayerNullStore.Key key, Instant createdAt) {
    }

    private record Kept(SampledLayerNull nulls, long at) {
    }

    /**
     * {@code nulls} null: the stored row could not be read (the analytic bound answers); {@code meanKs} likewise, or
     * none stored of it (computed without sampled values).
     */
    private record Stored(LayerNull.Source nulls, MeanKsNull.Source meanKs, long at) {

        boolean calibrating() {
            return nulls != null && nulls.calibrating() || meanKs == MeanKsNull.CALIBRATING;
        }
    }

    private final CalibrationSampleStore samples;
    private final LayerNullStore stored;
    private final int sampleSize;
    private final long maxSampleBytes;
    // least recently used first; bounded by the bytes of the samples they hold
    private final Map<Scope, Kept> kept = new LinkedHashMap<>(16, 0.75f, true);
    private long sampleBytes;
    private final Map<StoredKey, Stored> storedKept = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<StoredKey, Stored> eldest) {
            return size() > STORED_KEPT;
        }
    };

    /**
     * @param sampleSize the most observations read per sample (the aggregator's calibration-sample-size)
     * @param maxSampleBytes what the samples kept may hold together
     */
    public LayerNulls(CalibrationSampleStore samples, LayerNullStore stored, int sampleSize, long maxSampleBytes) {
        this.samples = samples;
        this.stored = stored;
        this.sampleSize = sampleSize;
        this.maxSampleBytes = maxSampleBytes;
    }

    /** The sample scope of a side: null when it has none (a reference not found). */
    public static Scope scopeOf(TapDescriptor tap, ai.neuraldivergence.domain.query.Selection side,
            ai.neuraldivergence.storage.ReferenceStore.StoredReference reference) {
        if (side instanceof ai.neuraldivergence.domain.query.Selection.Range r) {
            return new Scope(tap.modelId(), tap.modelVersion(), tap.tap(), null, null, false, hour(r.from()),
                    hourAfter(r.to()), side.slice());
        }
        if (reference == null) {
            return null;
        }
        if (reference.sealed() && Slice.ALL.equals(side.slice())) {
            // tagged, or frozen from a time range: either way its null is computed after the seal and stored
            return new Scope(tap.modelId(), reference.modelVersion(), tap.tap(), reference.name(),
                    reference.createdAt(), true, null, null, Slice.ALL);
        }
        if (reference.sourceFrom() != null) {
            // frozen from a range: its sample is its source hours', its slice all their source slice
            Slice source = reference.sourceSlice() == null ? Slice.ALL : Slice.parse(reference.sourceSlice());
            return new Scope(tap.modelId(), reference.modelVersion(), tap.tap(), null, null, false,
                    hour(reference.sourceFrom()), hourAfter(reference.sourceTo()),
                    Slice.ALL.equals(side.slice()) ? source : side.slice());
        }
        return new Scope(tap.modelId(), reference.modelVersion(), tap.tap(), reference.name(), reference.createdAt(),
                false, null, null, side.slice());
    }

    private static Instant hour(Instant t) {
        return ai.neuraldivergence.domain.Granularity.HOUR.windowStart(t);
    }

    /**
     * The end of a range as the sample reads it: the hours starting before {@code to}, so the first hour boundary at
     * or after it. Ranges reading the same hours are one scope, one seed and one null: two ending at 10:00:10 and
     * 10:00:50 share a kept comparison, and each replica, asked them in another order, kept another one's verdict.
     */
    static Instant hourAfter(Instant to) {
        Instant start = hour(to);
        return start.equals(to) ? to : start.plus(java.time.Duration.ofHours(1));
    }

    /** The source a comparison of {@code tap} asks for its null; null without a scope. */
    public LayerNull.Source sourceFor(TapDescriptor tap, Scope scope) {
        if (scope == null) {
            return null;
        }
        if (scope.reference() != null && scope.sealed()) {
            return stored(storedKey(scope)).nulls();
        }
        return (g, n, m, alpha) -> LayerNull.bucket(n, m) == 0 ? OptionalDouble.empty()
                : nulls(tap, scope).quantile(g, n, m, alpha);
    }

    /**
     * The mean KS's null a calibrated KS monitor asks of its reference side: a sealed reference's stored one (slice
     * all), {@link MeanKsNull#CALIBRATING} while its nulls are being computed; null, the analytic bound, elsewhere
     * (another side or slice, a tap without sampled values: wider than a block, or a sample too small).
     */
    public MeanKsNull.Source meanKsFor(Scope scope) {
        if (scope == null || scope.reference() == null || !scope.sealed()) {
            return null;
        }
        return stored(storedKey(scope)).meanKs();
    }

    private static StoredKey storedKey(Scope scope) {
        return new StoredKey(new LayerNullStore.Key(scope.modelId(), scope.modelVersion(), scope.reference(),
                scope.tap()), scope.createdAt());
    }

    /**
     * A sealed reference's stored nulls, or {@link LayerNull#CALIBRATING} and {@link MeanKsNull#CALIBRATING} while
     * they are not stored yet; null (the analytic bound) for one whose stored row cannot be read.
     */
    private Stored stored(StoredKey key) {
        long now = System.nanoTime();
        synchronized (this) {
            Stored s = storedKept.get(key);
            long kept = s == null ? 0 : s.nulls() == null || s.calibrating() ? CALIBRATING_RECHECK.toNanos()
                    : KEPT.toNanos();
            if (s != null && now - s.at() < kept) {
                return s;
            }
        }
        LayerNull.Source read;
        MeanKsNull.Source meanKs = null;
        try {
            read = stored.read(key.key()).<LayerNull.Source>map(t -> t).orElse(LayerNull.CALIBRATING);
        } catch (IllegalArgumentException e) {
            // a row of the wrong shape: a verdict at the analytic bound rather than a failed comparison
            LOG.warnf("the stored layer null of %s cannot be read, the analytic bound answers: %s", key.key(),
                    e.getMessage());
            read = null;
        }
        try {
            // none stored yet: calibrating; stored without a bucket (no sampled values): the analytic bound
            var k = stored.readMeanKs(key.key());
            meanKs = k.isEmpty() ? MeanKsNull.CALIBRATING : k.get().buckets().isEmpty() ? null
                    : MeanKsNull.Source.of(ResampledNull.of(ResampledNull.Scaling.KS,
                            new java.util.TreeMap<>(k.get().buckets())));
        } catch (IllegalArgumentException e) {
            LOG.warnf("the stored mean-KS null of %s cannot be read, the analytic bound answers: %s", key.key(),
                    e.getMessage());
        }
        Stored out = new Stored(read, meanKs, now);
        synchronized (this) {
            storedKept.put(key, out);
        }
        return out;
    }

    /**
     * The resampling seed of a scope: a function of what it names alone, so that every replica, and the same one
     * after a restart, resamples a scope alike and applies the same threshold to the same question. (A record's
     * hashCode is not that: a slice's kind is an enum, hashed by identity, which differs from one JVM to another.)
     */
    static long seed(Scope scope) {
        String key = String.join("\u0000", scope.modelId(), scope.modelVersion(), scope.tap(),
                String.valueOf(scope.reference()), String.valueOf(scope.createdAt()), String.valueOf(scope.sealed()),
                String.valueOf(scope.from()), String.valueOf(scope.to()), scope.slice().key());
        // String.hashCode is specified, hence the same in every JVM: as the aggregator seeds a sealed reference's
        return key.hashCode();
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
                ? samples.readReference(scope.modelId(), scope.modelVersion(), scope.tap(), scope.reference(),
                        scope.slice(), sampleSize)
                : samples.readHours(scope.modelId(), scope.modelVersion(), scope.tap(), scope.from(), scope.to(),
                        scope.slice(), sampleSize);
        SampledLayerNull nulls = new SampledLayerNull(tap, read, seed(scope));
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

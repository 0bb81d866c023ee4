package ai.neuraldivergence.domain.bench;

import ai.neuraldivergence.domain.DistributionCodec;
import ai.neuraldivergence.domain.TapDistribution;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.datasketches.kll.KllFloatsSketch;

/**
 * What a stored distribution weighs, for the capacity model (docs/capacity-model.md): the bytes per neuron of
 * {@link DistributionCodec#encode} for a minute row holding {@code n} values per neuron, for the hour row merged from
 * 60 such minutes and the day row merged from 24 such hours, as the fold builds them. Two activation shapes: post-ReLU
 * (half the values exact zeros, the rest half-normal) and dense (normal). Also times the two CPU steps of a fold: KLL
 * updates from raw values (minute) and decode + merge + encode of stored rows (hour, day), on one core.
 *
 * <p>Not a test: a main class. Run from the repository root after {@code ./mvnw -B -o -q test-compile -pl
 * services/core/domain -am}:
 *
 * <pre>java -cp services/core/domain/target/test-classes:services/core/domain/target/classes:$CP \
 *   ai.neuraldivergence.domain.bench.SketchSizeBench [k ...]</pre>
 *
 * <p>where {@code $CP} is the module's test class path ({@code dependency:build-classpath}). Arguments: the sketch
 * sizes k to measure (default 200); for k other than 200 only the post-ReLU shape is measured.
 */
public final class SketchSizeBench {

    /** Neurons per simulated tap: a sketch's size depends on n and k, not on the neuron, so a few suffice. */
    private static final int NEURONS = 8;
    /** Values per neuron per minute: the rates of the capacity model's slices (see the document). */
    private static final int[] PER_MINUTE = {60, 85, 600, 853, 6_000, 8_526, 60_000};
    private static final int POOL = 1 << 20;

    public static void main(String[] args) {
        List<Integer> ks = new ArrayList<>();
        for (String a : args) {
            ks.add(Integer.parseInt(a));
        }
        if (ks.isEmpty()) {
            ks.add(200);
        }
        float[] relu = pool(true);
        float[] dense = pool(false);
        System.out.printf(Locale.ROOT, "DistributionCodec bytes per neuron (%d neurons per row; mean over the rows "
                + "of a day: 1,440 minutes, 24 hours, 1 day)%n", NEURONS);
        System.out.printf(Locale.ROOT, "%-9s %4s %9s %11s %8s %11s %8s %11s %9s %9s%n", "shape", "k", "n/minute",
                "minute B", "raw B", "hour B", "raw B", "day B", "upd M/s", "fold ms");
        for (int k : ks) {
            for (boolean postRelu : k == 200 ? new boolean[] {true, false} : new boolean[] {true}) {
                for (int n : PER_MINUTE) {
                    measure(postRelu ? "post-ReLU" : "dense", k, n, postRelu ? relu : dense);
                }
            }
            System.out.printf(Locale.ROOT, "k=%d: single-sided normalized rank error (99 %%) %.4f, bin share "
                    + "(PMF) error %.4f%n", k, KllFloatsSketch.getNormalizedRankError(k, false),
                    KllFloatsSketch.getNormalizedRankError(k, true));
        }
    }

    /**
     * Builds a day of minute rows of {@code n} values per neuron, folding minutes into hours and hours into the day
     * through the codec (each stored row decoded before it is merged, as a fold reads it).
     */
    private static void measure(String shape, int k, int n, float[] pool) {
        Random random = new Random(n * 31L + k);
        long minuteBytes = 0;
        long hourBytes = 0;
        long updateNanos = 0;
        long foldNanos = 0;
        TapDistribution day = new TapDistribution(NEURONS, k);
        for (int h = 0; h < 24; h++) {
            TapDistribution hour = new TapDistribution(NEURONS, k);
            for (int m = 0; m < 60; m++) {
                TapDistribution minute = new TapDistribution(NEURONS, k);
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    minute.add(pool, random.nextInt(POOL));
                }
                updateNanos += System.nanoTime() - t0;
                byte[] row = DistributionCodec.encode(minute);
                minuteBytes += row.length;
                long t1 = System.nanoTime();
                hour.merge(DistributionCodec.decode(row));
                foldNanos += System.nanoTime() - t1;
            }
            long t1 = System.nanoTime();
            byte[] row = DistributionCodec.encode(hour);
            hourBytes += row.length;
            day.merge(DistributionCodec.decode(row));
            foldNanos += System.nanoTime() - t1;
        }
        long t1 = System.nanoTime();
        byte[] dayRow = DistributionCodec.encode(day);
        foldNanos += System.nanoTime() - t1;
        double minute = minuteBytes / 1440.0 / NEURONS;
        double hour = hourBytes / 24.0 / NEURONS;
        double dayPerNeuron = (double) dayRow.length / NEURONS;
        double updates = 1440.0 * n * NEURONS;
        System.out.printf(Locale.ROOT, "%-9s %4d %,9d %,11.0f %,8d %,11.0f %,8d %,11.0f %9.1f %9.3f%n", shape, k, n,
                minute, 4 * n, hour, 4 * 60 * n, dayPerNeuron, updates / (updateNanos / 1e3),
                // decode + merge + encode per neuron and minute folded (minutes into hours, hours into the day)
                foldNanos / 1e6 / (1440.0 + 24) / NEURONS);
    }

    /**
     * Values for {@code NEURONS}-wide observations starting anywhere in the pool: post-ReLU is half exact zeros and
     * half |N(0, 1)|; dense is N(0, 1). Sketch sizes depend on n and k alone; the shapes show it.
     */
    private static float[] pool(boolean postRelu) {
        Random random = new Random(postRelu ? 7 : 8);
        float[] values = new float[POOL + NEURONS];
        for (int i = 0; i < values.length; i++) {
            double g = random.nextGaussian();
            values[i] = (float) (postRelu ? Math.max(0, g) : g);
        }
        return values;
    }
}

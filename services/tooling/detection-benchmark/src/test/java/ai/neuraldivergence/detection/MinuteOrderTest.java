package ai.neuraldivergence.detection;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.domain.SamplingBound;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The benchmark feeds each neuron's sketch a minute's values in ascending order, three times faster than in arrival
 * order (Traffic). What its figures rely on: a sorted minute holds exactly the minute's draws, and its KS against a
 * reference is the arrival-order minute's up to the two sketches' error bounds. On average it reads slightly lower
 * (measured: 0.0008 to 0.0010 at 100 obs/s), nearer the exact minute's KS: a sketch's noise lifts a maximum of
 * differences, and values in arrival order carry more of it. The benchmark's KS values thus read lower than the
 * service's by that much on average.
 */
class MinuteOrderTest {

    /** A sketch size that keeps a minute's 6,000 values as they are. */
    private static final int EXACT_K = 8_192;

    private static Recording recording;
    private static Traffic traffic;

    @BeforeAll
    static void record() throws Exception {
        recording = Recording.of(Path.of(System.getProperty("nd.model.dir")), 7);
        traffic = new Traffic(recording);
    }

    /**
     * Every mix and density: benign alone, sparse (1/s, gathered and sorted) and dense (100/s, walked in each neuron's
     * order); a share of another pool at 5 and 100/s; that pool alone; the benign pool mixed with itself.
     */
    @Test
    void eachColumnHoldsExactlyTheMinutesDrawsInAscendingOrderAndTheSumsTheirFeatures() {
        Traffic.Mix fashion = new Traffic.Mix("Fashion-MNIST 20 %", "fashion", 0.2);
        List<Object[]> cases = List.of(new Object[] {Traffic.Mix.BENIGN, 1.0}, new Object[] {Traffic.Mix.BENIGN, 100.0},
                new Object[] {fashion, 5.0}, new Object[] {fashion, 100.0},
                new Object[] {new Traffic.Mix("PGD 0.10 on 100 %", "pgd-0.10", 1), 100.0},
                new Object[] {new Traffic.Mix("benign with itself", "benign", 0.3), 100.0});
        Recording.Pool benign = recording.pool("benign");
        for (Object[] c : cases) {
            Traffic.Mix mix = (Traffic.Mix) c[0];
            double rate = (Double) c[1];
            Recording.Pool other = mix.share() > 0 ? recording.pool(mix.pool()) : benign;
            Traffic.Drawn drawn = traffic.draw(new SplittableRandom(11), rate, mix);
            // the same draws, from a random of the same seed
            SplittableRandom again = new SplittableRandom(11);
            int count = Traffic.arrivals(again, rate * 60);
            List<float[][]> drawnRows = new ArrayList<>();
            List<Recording.Pool> drawnPools = new ArrayList<>();
            List<Integer> drawnInputs = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                boolean fromOther = mix.share() > 0 && again.nextDouble() < mix.share();
                Recording.Pool pool = fromOther ? other : benign;
                drawnPools.add(pool);
                drawnInputs.add(again.nextInt(pool.size()));
            }
            assertEquals(count, drawn.count(), mix.name() + " at " + rate);
            for (int t = 0; t < recording.taps().size(); t++) {
                for (int n = 0; n < recording.taps().get(t).neuronCount(); n++) {
                    float[] expected = new float[count];
                    for (int i = 0; i < count; i++) {
                        expected[i] = drawnPools.get(i).taps().get(t)[drawnInputs.get(i)][n];
                    }
                    java.util.Arrays.sort(expected);
                    assertArrayEquals(expected, drawn.column(t, n), mix.name() + " at " + rate + ", tap " + t
                            + ", neuron " + n);
                }
            }
            if (mix == fashion && rate == 100.0) {
                // the weighted sums against each draw projected again (the benchmark keeps features as float)
                int t = 4;
                RandomFeatureMap map = LayerFeatures.map(recording.taps().get(t));
                FeatureSums each = new FeatureSums(map.bandwidths());
                for (int i = 0; i < count; i++) {
                    each.add(map, drawnPools.get(i).taps().get(t)[drawnInputs.get(i)],
                            new double[RandomFeatureMap.DIRECTIONS]);
                }
                double[] weighted = drawn.featureSums(t);
                for (int j = 0; j < weighted.length; j++) {
                    assertEquals(each.sums()[j], weighted[j], 1e-6 * count, "feature sum " + j);
                }
            }
        }
    }

    @Test
    void aMinuteFedInSortedOrderHoldsTheSameDrawsAndReadsTheSameKsAsOneFedInArrivalOrder() {
        Recording.Pool benign = recording.pool("benign");
        Recording.Pool training = recording.pool("training");
        int taps = recording.taps().size();
        TapDistribution[] reference = new TapDistribution[taps];
        for (int t = 0; t < taps; t++) {
            reference[t] = new TapDistribution(recording.taps().get(t).neuronCount(), Traffic.K);
            reference[t].addAll(List.of(training.taps().get(t)));
        }
        int compared = 0;
        double signed = 0;
        double absolute = 0;
        double sortedOff = 0;
        double arrivalOff = 0;
        for (long seed = 1; seed <= 4; seed++) {
            // the same draws twice: Traffic's own, and again from a random of the same seed, in arrival order
            TapDistribution[] sorted = traffic.minute(new SplittableRandom(seed), 100, Traffic.Mix.BENIGN);
            SplittableRandom again = new SplittableRandom(seed);
            int count = Traffic.arrivals(again, 100 * 60);
            int[] index = new int[count];
            for (int i = 0; i < count; i++) {
                index[i] = again.nextInt(benign.size());
            }
            for (int t = 0; t < taps; t++) {
                List<float[]> rows = new ArrayList<>(count);
                for (int i : index) {
                    rows.add(benign.taps().get(t)[i]);
                }
                TapDistribution arrival = new TapDistribution(recording.taps().get(t).neuronCount(), Traffic.K);
                arrival.addAll(rows);
                // every value kept: the minute's exact distribution
                TapDistribution exact = new TapDistribution(recording.taps().get(t).neuronCount(), EXACT_K);
                exact.addAll(rows);
                assertEquals(count, sorted[t].observationCount());
                for (int n = 0; n < arrival.neuronCount(); n++) {
                    NeuronDistribution s = sorted[t].neuron(n);
                    NeuronDistribution a = arrival.neuron(n);
                    String where = "tap " + t + ", neuron " + n + ", seed " + seed;
                    assertEquals(a.count(), s.count(), where);
                    assertEquals(a.min(), s.min(), where);
                    assertEquals(a.max(), s.max(), where);
                    assertEquals(a.zeroCount(), s.zeroCount(), where);
                    assertEquals(a.sum(), s.sum(), 1e-9 * Math.max(1, Math.abs(a.sum())), where);
                    Divergence ds = Divergence.ksOf(s, reference[t].neuron(n), SamplingBound.NONE);
                    Divergence da = Divergence.ksOf(a, reference[t].neuron(n), SamplingBound.NONE);
                    assertTrue(Math.abs(ds.ks() - da.ks()) <= ds.ksErrorBound() + da.ksErrorBound(), where
                            + ": KS " + ds.ks() + " sorted, " + da.ks() + " in arrival order");
                    double ks = Divergence.ksOf(exact.neuron(n), reference[t].neuron(n), SamplingBound.NONE).ks();
                    compared++;
                    signed += ds.ks() - da.ks();
                    absolute += Math.abs(ds.ks() - da.ks());
                    sortedOff += ds.ks() - ks;
                    arrivalOff += da.ks() - ks;
                }
            }
        }
        double lean = signed / compared;
        System.out.printf(Locale.ROOT, "%d neuron-minutes: KS sorted less arrival order, mean %.5f, mean |.| %.5f; "
                + "less the exact minute's KS: sorted %.5f, arrival order %.5f%n", compared, lean,
                absolute / compared, sortedOff / compared, arrivalOff / compared);
        // measured 0.0008 to 0.0010 lower, each run's mean within about 0.0001; a lean of 0.002, a sixth of the
        // sketch's error bound (~0.013 at k = 200), would move every monitor's value alike
        assertTrue(Math.abs(lean) < 0.002, "sorted minutes read KS " + lean + " off on average");
        assertTrue(Math.abs(sortedOff) <= Math.abs(arrivalOff), "sorted minutes read KS " + sortedOff / compared
                + " off the exact minutes' on average, arrival order " + arrivalOff / compared);
    }
}

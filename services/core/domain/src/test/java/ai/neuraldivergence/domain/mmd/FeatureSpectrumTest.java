package ai.neuraldivergence.domain.mmd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The null of MMD² from the sample's feature spectrum: eigenvalues right, a quantile above the exact one where the
 * exact one is known and never above the bound that knows only the trace, and fresh null pairs exceeding it at most
 * at α plus the binomial 99 % margin.
 */
class FeatureSpectrumTest {

    private static final int NEURONS = 16;

    @Test
    void eigenvaluesOfAKnownMatrix() {
        double[] e = FeatureSpectrum.eigenvalues(new double[][] {{2, 1, 0}, {1, 2, 0}, {0, 0, 3}});
        Arrays.sort(e);
        assertArrayEquals(new double[] {1, 3, 3}, e, 1e-12);
    }

    @Test
    void oneEigenvalueBoundsTheExactChiSquareQuantile() {
        // a single eigenvalue t: sum λ (Z² - 1) = t (Z² - 1), exact quantile t (z²_(1 - α/2) - 1)
        for (double alpha : new double[] {1e-2, 1e-3, 1e-5}) {
            double chernoff = FeatureSpectrum.ofEigenvalues(0.4).quantile(alpha, 1000, 1000);
            double exact = MmdNull.quantile(alpha, 1000, 1000, 0.4);
            System.out.printf("alpha %.0e: Chernoff %.6f, exact %.6f%n", alpha, chernoff, exact);
            // a bound: never below the exact quantile, loosest at large α (Chernoff's polynomial factor)
            assertTrue(chernoff >= exact && chernoff < 2.5 * exact, alpha + ": " + chernoff + " vs " + exact);
        }
    }

    @Test
    void freshNullPairsExceedTheSpectrumQuantileAtMostAtAlpha() {
        Random r = new Random(9);
        RandomFeatureMap map = RandomFeatureMap.of(77, NEURONS, null);
        int g = 2;
        FeatureSpectrum spectrum = FeatureSpectrum.of(map, g, draw(r, 2000).stream().map(map::projection).toList());
        double alpha = 0.01;
        int n = 500;
        double q = spectrum.quantile(alpha, n, n);
        double trace = 1 - 0; // the trace bound's worst case, for the comparison below
        int draws = 400;
        int flagged = 0;
        double[] scratch = new double[RandomFeatureMap.DIRECTIONS];
        for (int i = 0; i < draws; i++) {
            FeatureSums a = new FeatureSums(map.bandwidths());
            FeatureSums b = new FeatureSums(map.bandwidths());
            draw(r, n).forEach(row -> a.add(map, row, scratch));
            draw(r, n).forEach(row -> b.add(map, row, scratch));
            flagged += Mmd.unbiased(a, b, g) > q ? 1 : 0;
            trace = Mmd.pooledTrace(a, b, g);
        }
        double share = (double) flagged / draws;
        double allowed = alpha + 2.576 * Math.sqrt(alpha * (1 - alpha) / draws);
        double analytic = MmdNull.quantile(alpha, n, n, trace);
        double tiny = spectrum.quantile(1.0 / 43_200, n, n);
        System.out.printf("spectrum quantile %.6f (trace bound %.6f), flagged %.4f (allowed %.4f); at 1/43,200: "
                + "%.6f (trace bound %.6f)%n", q, analytic, share, allowed, tiny,
                MmdNull.quantile(1.0 / 43_200, n, n, trace));
        assertTrue(share <= allowed, "flagged " + share);
        assertTrue(q <= analytic && tiny < MmdNull.quantile(1.0 / 43_200, n, n, trace) / 2,
                "the spectrum is tighter than the trace alone");
    }

    private static List<float[]> draw(Random r, int n) {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] row = new float[NEURONS];
            for (int j = 0; j < NEURONS; j++) {
                row[j] = (float) r.nextGaussian();
            }
            row[1] = (float) (0.8 * row[0] + 0.6 * row[1]);
            out.add(row);
        }
        return out;
    }
}

package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.Mmd;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import ai.neuraldivergence.testkit.TestPrerequisites;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The layer statistic's estimate from random-feature sums against SciPy's exact Gaussian-kernel U-statistic on the
 * same raw samples, at each bandwidth of the grid: within 3/sqrt(D), the random features' error.
 */
class MmdAgreementTest {

    private static final int NEURONS = 16;

    /** 16 N(0, 1) neurons, neurons 0 and 1 correlated {@code rho}, written as float32 rows too. */
    private static List<float[]> draw(Random r, int n, double rho, Path file) throws Exception {
        List<float[]> rows = new ArrayList<>();
        ByteBuffer bytes = ByteBuffer.allocate(n * NEURONS * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            float[] row = new float[NEURONS];
            for (int j = 0; j < NEURONS; j++) {
                row[j] = (float) r.nextGaussian();
            }
            row[1] = (float) (rho * row[0] + Math.sqrt(1 - rho * rho) * row[1]);
            for (float v : row) {
                bytes.putFloat(v);
            }
            rows.add(row);
        }
        Files.write(file, bytes.array());
        return rows;
    }

    @Test
    void theFeatureEstimateAgreesWithSciPysExactUStatisticAtEveryBandwidth(@TempDir Path dir) throws Exception {
        Path python = TestPrerequisites.requirePythonModule("scipy", "python3-scipy");
        Path script = dir.resolve("scipy_mmd.py");
        try (InputStream in = MmdAgreementTest.class.getResourceAsStream("/scipy_mmd.py")) {
            Files.copy(in, script);
        }
        double tolerance = 3 / Math.sqrt(RandomFeatureMap.DIRECTIONS);
        double largest = 0;
        for (double rho : new double[] {0.8, -0.8}) {
            Random r = new Random(rho > 0 ? 1 : 2);
            List<float[]> a = draw(r, 400, 0.8, dir.resolve("a.bin"));
            List<float[]> b = draw(r, 400, rho, dir.resolve("b.bin"));
            RandomFeatureMap map = RandomFeatureMap.of(2026, NEURONS, null);
            FeatureSums sa = new FeatureSums(map.bandwidths());
            FeatureSums sb = new FeatureSums(map.bandwidths());
            double[] scratch = new double[RandomFeatureMap.DIRECTIONS];
            a.forEach(row -> sa.add(map, row, scratch));
            b.forEach(row -> sb.add(map, row, scratch));
            List<String> command = new ArrayList<>(List.of(python.toString(), script.toString(),
                    dir.resolve("a.bin").toString(), dir.resolve("b.bin").toString(), Integer.toString(NEURONS)));
            for (int g = 0; g < map.bandwidths(); g++) {
                command.add(Double.toString(map.bandwidth(g)));
            }
            Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, "SciPy failed: " + out);
            List<Double> exact = out.lines().map(Double::parseDouble).toList();
            assertEquals(map.bandwidths(), exact.size(), out);
            for (int g = 0; g < map.bandwidths(); g++) {
                double estimate = Mmd.unbiased(sa, sb, g);
                System.out.printf("MMD² B correlated %+.1f, bandwidth %.2f: features %.6f, SciPy exact %.6f%n", rho,
                        map.bandwidth(g), estimate, exact.get(g));
                largest = Math.max(largest, Math.abs(estimate - exact.get(g)));
                assertEquals(exact.get(g), estimate, tolerance, "bandwidth " + map.bandwidth(g));
            }
        }
        System.out.printf("largest difference %.6f (allowed %.4f)%n", largest, tolerance);
    }
}

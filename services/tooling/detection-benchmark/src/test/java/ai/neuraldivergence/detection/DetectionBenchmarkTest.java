package ai.neuraldivergence.detection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * One simulated day at 5 observations a second through the monitors' domain classes, on the real model's recorded
 * activations: what a user of a calibrated monitor relies on is that benign traffic raises no more false alarms than
 * its budget allows, and that a strong change still raises one within the three hours the benchmark allows.
 */
class DetectionBenchmarkTest {

    private static final List<String> STRONG = List.of("PGD 0.10 on 100 %", "Fashion-MNIST 100 %");

    @Test
    void aCalibratedMonitorStaysWithinItsBudgetOnADayOfBenignTrafficAndStillSeesAStrongChange() throws Exception {
        DetectionBenchmark.Options options = new DetectionBenchmark.Options(
                Path.of(System.getProperty("nd.model.dir")), new double[] {5}, 1, 0.25, 0, 1,
                DetectionBenchmark.SCENARIOS.stream().filter(s -> STRONG.contains(s.name())).toList(), 7, 2,
                Path.of("target/detection-report.md"));
        DetectionBenchmark.Results results = DetectionBenchmark.run(options);
        System.out.println(Report.markdown(results));

        DetectionBenchmark.RateResult day = results.rates().get(0);
        // the budget: 1 false alarm per 30 days (at most 0 in a day, at 95 %), and the test budget of 1 a day (at
        // most 3 in a day)
        List<Report.BudgetCheck> checks = Report.budgetChecks(results);
        assertEquals(4, checks.size(), "two calibrated monitors at two budgets");
        for (Report.BudgetCheck c : checks) {
            assertTrue(c.passed(), c.method().label() + " raised " + c.alarms() + " false alarms in a day of benign "
                    + "traffic; its budget allows " + c.limit());
        }
        for (String scenario : STRONG) {
            Map<Method, int[]> delays = day.delays().get(scenario);
            for (Method m : List.of(Method.CALIBRATED, Method.LAYER, Method.FIXED_015)) {
                int delay = delays.get(m)[0];
                assertTrue(delay >= 1 && delay <= DetectionBenchmark.MISSED_AFTER, m.label() + " on " + scenario
                        + ": delay " + delay + " minutes (-1: missed)");
            }
        }
    }

    @Test
    void poissonIntervalsAreTheExactOnes() {
        // Garwood's 95 % interval: 0 events -> [0, 3.689]; 10 events -> [4.795, 18.390]
        assertEquals(3.689, Poisson.interval(0)[1], 1e-3);
        assertEquals(4.795, Poisson.interval(10)[0], 1e-3);
        assertEquals(18.390, Poisson.interval(10)[1], 1e-3);
        // at a mean of 1/30 no event is the 95 % limit; at 1, three
        assertEquals(0, Poisson.upperLimit(1.0 / 30));
        assertEquals(3, Poisson.upperLimit(1));
    }
}

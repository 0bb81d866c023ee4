package ai.neuraldivergence.detection;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The benchmark's results as a Markdown report, and its two pass rules. */
final class Report {

    /** Scenarios on which the calibrated monitor's matched median delay must be no worse than the fixed one's. */
    static final int REQUIRED_WINS = 8;

    private Report() {
    }

    /** A calibrated method's alarms on a benign run against the most its budget allows there (Poisson, 95 %). */
    record BudgetCheck(double rate, Method method, int alarms, double days, long limit) {

        boolean passed() {
            return alarms <= limit;
        }
    }

    static List<BudgetCheck> budgetChecks(DetectionBenchmark.Results r) {
        return r.rates().stream().flatMap(rate -> Arrays.stream(Method.values()).filter(Method::calibrated)
                .map(m -> new BudgetCheck(rate.rate(), m, rate.falseAlarms().get(m), r.options().days(),
                        Poisson.upperLimit(m.budget() * r.options().days() / 30)))).toList();
    }

    /**
     * Scenarios where the calibrated KS monitor's median delay, at the matched threshold, is no worse than the fixed
     * threshold's (a missed onset counts as later than any delay; both missing is a tie).
     */
    static int matchedWins(DetectionBenchmark.RateResult rate) {
        return matchedWins(rate, Method.CALIBRATED);
    }

    /**
     * {@link #matchedWins} of any method at its matched threshold (the calibrated KS monitor's matched threshold is
     * its own: its realised rate is the one matched).
     */
    static int matchedWins(DetectionBenchmark.RateResult rate, Method method) {
        int wins = 0;
        for (var e : rate.matchedDelays().entrySet()) {
            wins += median(e.getValue().get(method)) <= median(e.getValue().get(Method.FIXED_015)) ? 1 : 0;
        }
        return wins;
    }

    /** The median delay, missed onsets as +infinity. */
    static double median(int[] delays) {
        return quantile(delays, 0.5);
    }

    static double quantile(int[] delays, double q) {
        double[] d = Arrays.stream(delays).mapToDouble(v -> v < 0 ? Double.POSITIVE_INFINITY : v).sorted().toArray();
        if (d.length == 0) {
            return Double.NaN;
        }
        return d[(int) Math.min(d.length - 1, Math.ceil(q * d.length) - 1)];
    }

    static String markdown(DetectionBenchmark.Results r) {
        DetectionBenchmark.Options o = r.options();
        StringBuilder out = new StringBuilder();
        out.append("# Detection benchmark\n\n");
        out.append(String.format(Locale.ROOT, "Recorded activations of the real model, minute distributions at k = %d "
                + "(each neuron's values fed in ascending order), every method through the monitors' domain classes "
                + "(`MinuteEvaluation`, `MonitorRun`). Rates %s obs/s; %.1f benign days each, %.1f separate days for "
                + "the matched thresholds, %.1f days against the training reference; %d onsets per scenario and rate, "
                + "each after %d benign minutes, missed after %d minutes; seed %d; %d threads. Runtime **%.0f s**.%n%n",
                Traffic.K, rates(o.rates()), o.days(), o.separateDays(), o.trainingDays(), o.onsets(),
                DetectionBenchmark.BENIGN_MINUTES, DetectionBenchmark.MISSED_AFTER, o.seed(), o.threads(),
                r.seconds()));

        out.append("## False alarms on benign traffic (reference: 8,000 draws of the held-out digits)\n\n");
        out.append("Window, value and threshold: means over the run's evaluations that had a verdict.\n\n");
        out.append("| rate | method | alarms | per monitor-day (95 % interval) | budget's 95 % limit | | window (min) "
                + "| value | threshold |\n");
        out.append("|---|---|---|---|---|---|---|---|---|\n");
        for (DetectionBenchmark.RateResult rate : r.rates()) {
            for (Method m : Method.values()) {
                int k = rate.falseAlarms().get(m);
                double[] ci = Poisson.interval(k);
                String limit = m.calibrated() ? Long.toString(Poisson.upperLimit(m.budget() * o.days() / 30)) : "";
                String verdict = m.calibrated() ? (k <= Poisson.upperLimit(m.budget() * o.days() / 30) ? "pass"
                        : "**FAIL**") : "";
                Stream.Typical t = rate.typical().get(m);
                if (!hadVerdicts(rate, m)) {
                    out.append(String.format(Locale.ROOT, "| %s/s | %s | n/a | no verdict (%s) | | | | | |%n",
                            num(rate.rate()), m.label(), NO_VERDICT));
                    continue;
                }
                out.append(String.format(Locale.ROOT, "| %s/s | %s | %d | %.3f (%.3f–%.3f) | %s | %s | %.1f | %.4f "
                        + "| %.4f |%n", num(rate.rate()), m.label(), k, k / o.days(), ci[0] / o.days(),
                        ci[1] / o.days(), limit, verdict, t.minutes(), t.value(), t.threshold()));
            }
        }
        if (o.trainingDays() > 0) {
            out.append("\n## Alarms against the training reference (benign held-out traffic)\n\n");
            out.append("| rate | " + String.join(" | ", Arrays.stream(Method.values()).map(Method::label).toList())
                    + " |\n|---|" + "---|".repeat(Method.values().length) + "\n");
            for (DetectionBenchmark.RateResult rate : r.rates()) {
                out.append("| ").append(num(rate.rate())).append("/s |");
                for (Method m : Method.values()) {
                    out.append(hadVerdicts(rate, m) ? String.format(Locale.ROOT, " %.2f/day |",
                            rate.trainingAlarms().get(m) / o.trainingDays()) : " n/a |");
                }
                out.append('\n');
            }
        }
        out.append("\n## Matched thresholds (shift of each method's threshold on the separate benign run)\n\n");
        out.append("| rate | calibrated KS alarms | " + String.join(" | ", Arrays.stream(Method.values())
                .map(Method::label).toList()) + " |\n|---|---|" + "---|".repeat(Method.values().length) + "\n");
        for (DetectionBenchmark.RateResult rate : r.rates()) {
            out.append(String.format(Locale.ROOT, "| %s/s | %d |", num(rate.rate()), rate.target()));
            for (Method m : Method.values()) {
                out.append(hadVerdicts(rate, m) ? String.format(Locale.ROOT, " %+.4f |", rate.shifts().get(m))
                        : " n/a |");
            }
            out.append('\n');
        }
        for (boolean matched : new boolean[] {false, true}) {
            out.append(matched ? "\n## Detection at matched false-alarm rates\n\n"
                    : "\n## Detection at each method's own threshold\n\n");
            out.append("Each cell: onsets detected within " + DetectionBenchmark.MISSED_AFTER
                    + " minutes, median / p90 delay in minutes (– where missed).\n\n");
            for (DetectionBenchmark.RateResult rate : r.rates()) {
                out.append(String.format(Locale.ROOT, "### %s obs/s%n%n| scenario | %s |%n|---|%s%n",
                        num(rate.rate()), String.join(" | ", Arrays.stream(Method.values()).map(Method::label)
                                .toList()), "---|".repeat(Method.values().length)));
                for (var e : (matched ? rate.matchedDelays() : rate.delays()).entrySet()) {
                    out.append("| ").append(e.getKey()).append(" |");
                    for (Method m : Method.values()) {
                        if (!hadVerdicts(rate, m)) {
                            out.append(" n/a |");
                            continue;
                        }
                        int[] d = e.getValue().get(m);
                        long detected = Arrays.stream(d).filter(v -> v >= 0).count();
                        out.append(String.format(Locale.ROOT, " %d/%d, %s / %s |", detected, d.length,
                                minutes(median(d)), minutes(quantile(d, 0.9))));
                    }
                    out.append('\n');
                }
                if (matched) {
                    out.append(String.format(Locale.ROOT, "%nNo slower than the fixed threshold (median, matched; "
                            + "at matched rates fixed 0.10 and 0.15 are one threshold): calibrated KS on **%d of %d** "
                            + "scenarios, calibrated MMD² on **%d**.%n%n", matchedWins(rate),
                            rate.matchedDelays().size(), matchedWins(rate, Method.LAYER)));
                } else {
                    out.append('\n');
                }
            }
        }
        out.append("## Pass rules\n\n");
        List<BudgetCheck> checks = budgetChecks(r);
        long failed = checks.stream().filter(c -> !c.passed()).count();
        out.append(String.format(Locale.ROOT, "- Calibrated monitors within their budget's Poisson 95 %% limit at both "
                + "budgets and every rate: **%s** (%d of %d checks).%n", failed == 0 ? "pass" : "FAIL",
                checks.size() - failed, checks.size()));
        for (DetectionBenchmark.RateResult rate : r.rates()) {
            if (rate.rate() == 1 || rate.rate() == 5) {
                int wins = matchedWins(rate);
                out.append(String.format(Locale.ROOT, "- At %s obs/s, matched rates: calibrated median delay no "
                        + "worse than the fixed one on %d of %d scenarios (needs %d): **%s**.%n", num(rate.rate()),
                        wins, rate.matchedDelays().size(), REQUIRED_WINS, wins >= REQUIRED_WINS ? "pass" : "FAIL"));
                out.append(String.format(Locale.ROOT, "  - the multivariate monitor (calibrated MMD², matched): %d of "
                        + "%d.%n", matchedWins(rate, Method.LAYER), rate.matchedDelays().size()));
            }
        }
        return out.toString();
    }

    /**
     * Whether a method decided anything on the rate's benign run: mean + 3 sd has no threshold where the window holds
     * more observations than a tenth of the reference, so its zero alarms and misses there mean nothing.
     */
    private static boolean hadVerdicts(DetectionBenchmark.RateResult rate, Method m) {
        return !Double.isNaN(rate.typical().get(m).minutes());
    }

    private static final String NO_VERDICT = "fewer than 10 reference chunks of the window's size";

    private static String minutes(double v) {
        return Double.isInfinite(v) ? "–" : String.format(Locale.ROOT, "%.0f", v);
    }

    private static String num(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private static String rates(double[] rates) {
        return String.join(", ", Arrays.stream(rates).mapToObj(Report::num).toList());
    }
}

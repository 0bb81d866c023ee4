package ai.neuraldivergence.detection;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * How fast each way of deciding an alarm sees a change, and how often it cries wolf, on the real model's recorded
 * activations, through the monitors' own domain classes ({@link Stream}). Per rate of traffic:
 * <ol>
 *   <li>false alarms: benign traffic against a reference of 8,000 draws from the benign pool, for {@code days};</li>
 *   <li>a separate benign run, on which each method's threshold is shifted until it raises no more alarms than the
 *       calibrated KS monitor did there (matched false-alarm rates);</li>
 *   <li>benign traffic against the training reference, reported apart (the held-out digits are not the training
 *       digits);</li>
 *   <li>detection: {@code onsets} onsets of each scenario, each after two benign hours, each followed for three
 *       hours: the delay from the onset to the monitor's first alarm, at its own threshold and at the matched one.</li>
 * </ol>
 *
 * <pre>DetectionBenchmark [--model DIR] [--rates 1,5,20,100] [--days 7] [--separate-days 7] [--training-days 1]
 *     [--onsets 10] [--seed 1] [--threads 2] [--report FILE]</pre>
 */
public final class DetectionBenchmark {

    /** Benign minutes before each onset. */
    static final int BENIGN_MINUTES = 120;
    /** An onset not alarmed within this many minutes is missed. */
    static final int MISSED_AFTER = 180;

    /** The scenarios, in the order reported. */
    static final List<Traffic.Mix> SCENARIOS = List.of(
            new Traffic.Mix("PGD 0.05 on 10 %", "pgd-0.05", 0.1), new Traffic.Mix("PGD 0.05 on 100 %", "pgd-0.05", 1),
            new Traffic.Mix("PGD 0.10 on 10 %", "pgd-0.10", 0.1), new Traffic.Mix("PGD 0.10 on 100 %", "pgd-0.10", 1),
            new Traffic.Mix("FGSM 0.05 on 10 %", "fgsm-0.05", 0.1),
            new Traffic.Mix("FGSM 0.05 on 100 %", "fgsm-0.05", 1),
            new Traffic.Mix("FGSM 0.10 on 10 %", "fgsm-0.10", 0.1),
            new Traffic.Mix("FGSM 0.10 on 100 %", "fgsm-0.10", 1),
            new Traffic.Mix("Fashion-MNIST 5 %", "fashion", 0.05), new Traffic.Mix("Fashion-MNIST 20 %", "fashion", 0.2),
            new Traffic.Mix("Fashion-MNIST 100 %", "fashion", 1), new Traffic.Mix("noise 100 %", "noise", 1),
            new Traffic.Mix("rotation 100 %", "rotated", 1));

    /** What to run. */
    record Options(Path model, double[] rates, double days, double separateDays, double trainingDays, int onsets,
            List<Traffic.Mix> scenarios, long seed, int threads, Path report) {

        static Options parse(String[] args) {
            Path model = Path.of(System.getProperty("nd.model.dir", "services/tooling/model-builder/target/mnist-cnn"));
            double[] rates = {1, 5, 20, 100};
            double days = 7;
            double separate = 7;
            double training = 1;
            int onsets = 10;
            long seed = 1;
            int threads = Runtime.getRuntime().availableProcessors();
            Path report = Path.of("services/tooling/detection-benchmark/target/detection-report.md");
            for (int i = 0; i < args.length; i++) {
                String v = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--model" -> model = Path.of(v);
                    case "--rates" -> rates = Arrays.stream(v.split(",")).mapToDouble(Double::parseDouble).toArray();
                    case "--days" -> days = Double.parseDouble(v);
                    case "--separate-days" -> separate = Double.parseDouble(v);
                    case "--training-days" -> training = Double.parseDouble(v);
                    case "--onsets" -> onsets = Integer.parseInt(v);
                    case "--seed" -> seed = Long.parseLong(v);
                    case "--threads" -> threads = Integer.parseInt(v);
                    case "--report" -> report = Path.of(v);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
                i++;
            }
            return new Options(model, rates, days, separate, training, onsets, SCENARIOS, seed, threads, report);
        }
    }

    /** One rate's results. */
    record RateResult(double rate, Map<Method, Integer> falseAlarms, Map<Method, Stream.Typical> typical,
            Map<Method, Integer> trainingAlarms,
            Map<Method, Double> shifts, int target, Map<String, Map<Method, int[]>> delays,
            Map<String, Map<Method, int[]>> matchedDelays, double seconds) {
    }

    /** Everything measured, for the report and the test. */
    record Results(Options options, List<RateResult> rates, double seconds) {
    }

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        Results results = run(options);
        String report = Report.markdown(results);
        System.out.println(report);
        Files.createDirectories(options.report().toAbsolutePath().getParent());
        Files.writeString(options.report(), report);
        System.out.println("report written to " + options.report());
    }

    static Results run(Options o) throws Exception {
        long started = System.nanoTime();
        Recording recording = Recording.of(o.model(), o.seed());
        log(started, "recorded the model's activations on every pool");
        Traffic traffic = new Traffic(recording);
        Reference benign = Reference.of("benign-8000", recording, "benign", 8_000, 2_000, o.seed());
        Reference training = Reference.of("training", recording, "training", 0, 2_000, o.seed() + 1);
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, o.threads()));
        try {
            // the busiest rate first: a minute at 100 obs/s costs many at 1 obs/s, and a rate's detection phase runs
            // on one thread after its separate run, so started last it would leave the other threads idle at the end
            Map<Double, CompletableFuture<RateResult>> futures = new HashMap<>();
            Arrays.stream(o.rates()).boxed().sorted(Comparator.reverseOrder()).distinct().forEach(rate ->
                    futures.put(rate, rate(o, traffic, benign, training, rate, pool, started)));
            List<RateResult> results = new ArrayList<>();
            for (double rate : o.rates()) {
                results.add(futures.get(rate).get());
            }
            return new Results(o, results, (System.nanoTime() - started) / 1e9);
        } finally {
            pool.shutdownNow();
        }
    }

    private static CompletableFuture<RateResult> rate(Options o, Traffic traffic, Reference benign,
            Reference training, double rate, ExecutorService pool, long started) {
        long seed = o.seed() * 1_000_003L + Double.hashCode(rate);
        CompletableFuture<Stream> falseAlarms = CompletableFuture.supplyAsync(() -> {
            Stream s = new Stream(traffic, benign, rate, seed + 1, null, false);
            run(s, minutes(o.days()));
            // each phase's alarms as it ends: a run stopped before its report still says what it measured
            log(started, String.format(Locale.ROOT, "%.0f/s: %.1f benign days, alarms %s", rate, o.days(),
                    labelled(alarmCounts(s))));
            return s;
        }, pool);
        CompletableFuture<Map<Method, Integer>> trainingAlarms = CompletableFuture.supplyAsync(() -> {
            Stream s = new Stream(traffic, training, rate, seed + 2, null, false);
            run(s, minutes(o.trainingDays()));
            Map<Method, Integer> alarms = alarmCounts(s);
            log(started, String.format(Locale.ROOT, "%.0f/s: %.1f days against the training reference, alarms %s",
                    rate, o.trainingDays(), labelled(alarms)));
            return alarms;
        }, pool);
        CompletableFuture<Matched> shifts = CompletableFuture.supplyAsync(() -> {
            Stream s = new Stream(traffic, benign, rate, seed + 3, null, true);
            run(s, minutes(o.separateDays()));
            int target = s.alarms(Method.CALIBRATED, false).size();
            Map<Method, Double> out = new EnumMap<>(Method.class);
            for (Method m : Method.values()) {
                out.put(m, m == Method.CALIBRATED ? 0.0 : Matching.shift(s.margins(m),
                        m.definition("m", "r").windowsInARow(), target));
            }
            log(started, String.format(Locale.ROOT, "%.0f/s: %.1f separate benign days, %d calibrated alarms", rate,
                    o.separateDays(), target));
            return new Matched(out, target);
        }, pool);
        CompletableFuture<Map<String, Map<Method, int[]>[]>> detection = shifts.thenApplyAsync(
                matched -> detect(o, traffic, benign, rate, seed + 4, matched.shifts(), started), pool);
        return CompletableFuture.allOf(falseAlarms, trainingAlarms, detection).thenApply(v -> {
            Matched shift = shifts.join();
            Map<String, Map<Method, int[]>> own = new LinkedHashMap<>();
            Map<String, Map<Method, int[]>> matched = new LinkedHashMap<>();
            detection.join().forEach((scenario, both) -> {
                own.put(scenario, both[0]);
                matched.put(scenario, both[1]);
            });
            Map<Method, Stream.Typical> typical = new EnumMap<>(Method.class);
            for (Method m : Method.values()) {
                typical.put(m, falseAlarms.join().typical(m));
            }
            return new RateResult(rate, alarmCounts(falseAlarms.join()), typical, trainingAlarms.join(),
                    shift.shifts(), shift.target(), own, matched, (System.nanoTime() - started) / 1e9);
        });
    }

    /** The matched thresholds' shifts, and the calibrated monitor's alarms on the separate run they match. */
    private record Matched(Map<Method, Double> shifts, int target) {
    }

    /** Per scenario, per method, each onset's delay in minutes at its own and at the matched threshold (-1: missed). */
    @SuppressWarnings("unchecked")
    private static Map<String, Map<Method, int[]>[]> detect(Options o, Traffic traffic, Reference reference,
            double rate, long seed, Map<Method, Double> shifts, long started) {
        Map<String, Map<Method, int[]>[]> out = new LinkedHashMap<>();
        for (Traffic.Mix scenario : o.scenarios()) {
            Map<Method, int[]> own = new EnumMap<>(Method.class);
            Map<Method, int[]> matched = new EnumMap<>(Method.class);
            for (Method m : Method.values()) {
                own.put(m, new int[o.onsets()]);
                matched.put(m, new int[o.onsets()]);
            }
            out.put(scenario.name(), new Map[] {own, matched});
        }
        Stream base = new Stream(traffic, reference, rate, seed, shifts, false);
        for (int k = 0; k < o.onsets(); k++) {
            // each onset after two benign hours of the base stream; the forks never feed back into it
            run(base, BENIGN_MINUTES);
            int onset = base.minutes();
            for (int s = 0; s < o.scenarios().size(); s++) {
                Traffic.Mix scenario = o.scenarios().get(s);
                Stream fork = base.fork(scenario, seed * 31 + k * 1_000L + s);
                Map<Method, int[]>[] delays = out.get(scenario.name());
                for (int minute = 0; minute < MISSED_AFTER && fork.anyActive(); minute++) {
                    fork.step();
                    for (Method m : Method.values()) {
                        boolean ownDone = !fork.alarms(m, false).isEmpty();
                        boolean matchedDone = !fork.alarms(m, true).isEmpty();
                        if (ownDone && matchedDone) {
                            fork.retire(m);
                        }
                    }
                }
                for (Method m : Method.values()) {
                    delays[0].get(m)[k] = delay(fork.alarms(m, false), onset);
                    delays[1].get(m)[k] = delay(fork.alarms(m, true), onset);
                }
            }
            log(started, String.format(Locale.ROOT, "%.0f/s: onset %d of %d, every scenario", rate, k + 1,
                    o.onsets()));
        }
        return out;
    }

    /** Minutes from the onset to the end of the minute whose evaluation raised the first alarm; -1 if none. */
    private static int delay(List<Integer> alarms, int onset) {
        return alarms.isEmpty() ? -1 : alarms.get(0) + 1 - onset;
    }

    private static void run(Stream s, int minutes) {
        for (int i = 0; i < minutes; i++) {
            s.step();
        }
    }

    private static int minutes(double days) {
        return (int) Math.round(days * 24 * 60);
    }

    /** "fixed 0.10 0; fixed 0.15 0; ...": a log line's counts by method. */
    private static String labelled(Map<Method, Integer> counts) {
        StringBuilder out = new StringBuilder();
        counts.forEach((m, n) -> out.append(out.length() == 0 ? "" : "; ").append(m.label()).append(' ').append(n));
        return out.toString();
    }

    private static Map<Method, Integer> alarmCounts(Stream s) {
        Map<Method, Integer> out = new EnumMap<>(Method.class);
        for (Method m : Method.values()) {
            out.put(m, s.alarms(m, false).size());
        }
        return out;
    }

    private static synchronized void log(long started, String what) {
        System.out.printf(Locale.ROOT, "[%6.0f s] %s%n", (System.nanoTime() - started) / 1e9, what);
    }
}

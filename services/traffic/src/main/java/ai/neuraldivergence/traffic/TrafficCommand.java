package ai.neuraldivergence.traffic;

import ai.neuraldivergence.datasets.ImageSet;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The traffic generator: {@code stream} live traffic that drifts, {@code replay-reference} the training set. */
@Command(name = "nd-traffic", mixinStandardHelpOptions = true,
        subcommands = {TrafficCommand.Stream.class, TrafficCommand.ReplayReference.class},
        description = "Sends real inputs to the NeuralDivergence inference service.")
public final class TrafficCommand implements Callable<Integer> {

    public static void main(String[] args) {
        System.exit(new CommandLine(new TrafficCommand()).execute(args));
    }

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return 2;
    }

    @Command(name = "stream", mixinStandardHelpOptions = true,
            description = "Streams benign digits, then the drifting scenarios of the schedule, in a loop.")
    static final class Stream implements Callable<Integer> {

        @Option(names = "--inference", defaultValue = "http://127.0.0.1:8080", description = "inference base URL")
        String inference;

        @Option(names = "--pairs", required = true, description = "the model builder's attacked-pairs.bin.gz")
        Path pairs;

        @Option(names = "--rate", defaultValue = "20", description = "inputs per second (default ${DEFAULT-VALUE})")
        double rate;

        @Option(names = "--schedule", defaultValue = "benign:20,pgd:90,benign:60,fgsm:60,benign:60,fashion:60,"
                + "benign:60,noise:45,benign:60,rotated:60", description = "scenario:seconds,... looped (default "
                + "${DEFAULT-VALUE})")
        String schedule;

        @Option(names = "--duration", description = "stop after this many seconds (default: run until stopped)")
        Long duration;

        @Option(names = "--seed", defaultValue = "7")
        long seed;

        @Override
        public Integer call() throws Exception {
            if (!(rate > 0 && rate <= 10_000)) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--rate must be in (0, 10000]");
            }
            Schedule plan = Schedule.parse(schedule);
            Inputs inputs = new Inputs(pairs, seed);
            InferenceClient client = new InferenceClient(inference, System.getenv("ND_TOKEN"));
            long start = System.nanoTime();
            long sent = 0;
            long shed = 0;
            long failures = 0;
            Scenario current = null;
            // inputs go out in requests of up to 8, paced to the rate
            int perRequest = (int) Math.max(1, Math.min(8, Math.round(rate / 10)));
            while (duration == null || System.nanoTime() - start < Duration.ofSeconds(duration).toNanos()) {
                long elapsed = (System.nanoTime() - start) / 1_000_000_000L;
                Schedule.Step step = plan.at(elapsed);
                if (step.scenario() != current) {
                    current = step.scenario();
                    System.out.printf(Locale.ROOT, "%6d s  scenario %-8s (sent %d, shed %d, failed requests %d)%n",
                            elapsed, current.word(), sent, shed, failures);
                }
                List<Inputs.Input> batch = new ArrayList<>();
                while (batch.size() < perRequest) {
                    batch.addAll(inputs.next(current));
                }
                try {
                    InferenceClient.Answer a = client.send(batch, Map.of("scenario", current.word()));
                    sent += a.predicted();
                    shed += a.shed();
                } catch (IOException e) {
                    failures++;
                    System.out.println("request failed (retrying): " + e.getMessage());
                    Thread.sleep(1000);
                }
                long due = start + (long) (sent * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
            System.out.printf(Locale.ROOT, "done: sent %d, shed %d, failed requests %d%n", sent, shed, failures);
            return 0;
        }
    }

    @Command(name = "replay-reference", mixinStandardHelpOptions = true,
            description = "Replays the training digits tagged reference=<name>, once: they build that reference.")
    static final class ReplayReference implements Callable<Integer> {

        @Option(names = "--inference", defaultValue = "http://127.0.0.1:8080")
        String inference;

        @Option(names = "--name", defaultValue = "training", description = "the reference's name")
        String name;

        @Option(names = "--done-marker", description = "skip when this file exists; create it when done")
        Path marker;

        @Option(names = "--batch", defaultValue = "64")
        int batch;

        @Override
        public Integer call() throws Exception {
            if (marker != null && Files.exists(marker)) {
                System.out.println("reference '" + name + "' already replayed (" + marker + ")");
                return 0;
            }
            ImageSet training = Inputs.trainingDigits();
            InferenceClient client = new InferenceClient(inference, System.getenv("ND_TOKEN"));
            Progress progress = new Progress(System.out, "replaying reference '" + name + "'", training.size());
            int shed = 0;
            for (int from = 0; from < training.size(); from += batch) {
                List<Inputs.Input> inputs = new ArrayList<>();
                for (int i = from; i < Math.min(training.size(), from + batch); i++) {
                    inputs.add(new Inputs.Input(training.image(i), training.label(i),
                            Map.of("source", "replay", "dataset", "mnist", "reference", name), null, null));
                }
                InferenceClient.Answer a = sendWithRetry(client, inputs);
                shed += a.shed();
                progress.advance(inputs.size());
            }
            progress.done();
            if (shed > 0) {
                System.err.println(shed + " observations were shed by the inference service (its capture queue was "
                        + "full): the reference is incomplete; replay again");
                return 1;
            }
            if (marker != null) {
                Files.createDirectories(marker.toAbsolutePath().getParent());
                Files.writeString(marker, name + "\n");
            }
            return 0;
        }

        private static InferenceClient.Answer sendWithRetry(InferenceClient client, List<Inputs.Input> inputs)
                throws Exception {
            for (int attempt = 1; ; attempt++) {
                try {
                    return client.send(inputs, Map.of());
                } catch (IOException e) {
                    if (attempt == 10) {
                        throw e;
                    }
                    Thread.sleep(1000L * attempt);
                }
            }
        }
    }

    /** A progress bar on a terminal, a line per tenth otherwise. */
    static final class Progress {
        private final PrintStream out;
        private final String what;
        private final int total;
        private final boolean terminal = System.console() != null;
        private final long start = System.nanoTime();
        private int done;
        private int lastTenth = -1;

        Progress(PrintStream out, String what, int total) {
            this.out = out;
            this.what = what;
            this.total = total;
        }

        void advance(int n) {
            done += n;
            double rate = done / ((System.nanoTime() - start) / 1e9);
            if (terminal) {
                int width = 30;
                int filled = (int) ((long) width * done / total);
                out.printf(Locale.ROOT, "\r%s [%s%s] %d/%d  %.0f/s", what, "#".repeat(filled),
                        " ".repeat(width - filled), done, total, rate);
            } else if (done * 10 / total != lastTenth) {
                lastTenth = done * 10 / total;
                out.printf(Locale.ROOT, "%s: %d/%d (%d %%), %.0f/s%n", what, done, total, 100 * done / total, rate);
            }
        }

        void done() {
            if (terminal) {
                out.println();
            }
            out.printf(Locale.ROOT, "%s: done, %d observations in %.1f s%n", what, total,
                    (System.nanoTime() - start) / 1e9);
        }
    }
}

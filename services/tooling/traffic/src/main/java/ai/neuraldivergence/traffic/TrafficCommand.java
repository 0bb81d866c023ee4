package ai.neuraldivergence.traffic;

import ai.neuraldivergence.datasets.ImageSet;
import ai.neuraldivergence.proto.v1.Reference;
import ai.neuraldivergence.proto.v1.ReferenceState;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
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

        // the attack first: monitors judge complete minutes, so an attack that began in a minute of benign traffic
        // could wait for the next whole minute, up to two minutes; begun with the traffic, the first minute holding
        // 200 observations is wholly attacked
        @Option(names = "--schedule", defaultValue = "pgd:90,benign:60,fgsm:60,benign:60,fashion:60,benign:60,"
                + "noise:45,benign:60,rotated:60,benign:60", description = "scenario:seconds,... looped (default "
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
            description = {"Builds the served model version's reference <name> from the training digits, once: "
                    + "replays them tagged reference=<name>, then seals it (SealReference) and waits for the seal.",
                "A sealed reference is left alone; one left building by an interrupted replay is deleted and built "
                    + "again. Both services' token is read from ND_TOKEN (reference scope on inference, read and "
                    + "write on comparison)."})
    static final class ReplayReference implements Callable<Integer> {

        @Option(names = "--inference", defaultValue = "http://127.0.0.1:8080")
        String inference;

        @Option(names = "--comparison", defaultValue = "http://127.0.0.1:8082",
                description = "comparison base URL (its JSON API seals the reference)")
        String comparison;

        @Option(names = "--name", defaultValue = "training", description = "the reference's name")
        String name;

        @Option(names = "--batch", defaultValue = "64")
        int batch;

        @Option(names = "--limit", description = "replay only the first N training digits (default: all of them)")
        Integer limit;

        @Option(names = "--seal-wait", defaultValue = "PT3M",
                description = "how long to wait for the aggregator to seal it (ISO-8601 duration)")
        Duration sealWait;

        @Override
        public Integer call() throws Exception {
            String token = System.getenv("ND_TOKEN");
            InferenceClient client = new InferenceClient(inference, token);
            ComparisonClient references = new ComparisonClient(comparison, token);
            InferenceClient.Model model = client.model();
            String what = "reference '" + name + "' of " + model.modelId() + " version " + model.modelVersion();
            Optional<Reference> existing = references.reference(model.modelId(), model.modelVersion(), name);
            if (existing.isPresent() && existing.get().getState() == ReferenceState.REFERENCE_STATE_SEALED) {
                System.out.println(what + " is sealed (" + existing.get().getObservationCount()
                        + " observations): nothing to replay");
                return 0;
            }
            if (existing.isPresent()) {
                Duration age = Duration.between(Instant.ofEpochSecond(existing.get().getCreatedAt().getSeconds()),
                        Instant.now());
                System.out.println(what + " was left building " + age.toMinutes() + " min ago (an interrupted "
                        + "replay, " + existing.get().getObservationCount() + " observations): deleting it and "
                        + "building it again");
                references.delete(model.modelId(), model.modelVersion(), name);
            }
            ImageSet training = Inputs.trainingDigits();
            int size = limit == null ? training.size() : Math.max(1, Math.min(limit, training.size()));
            Progress progress = new Progress(System.out, "replaying " + what, size);
            int shed = 0;
            for (int from = 0; from < size; from += batch) {
                List<Inputs.Input> inputs = new ArrayList<>();
                for (int i = from; i < Math.min(size, from + batch); i++) {
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
                        + "full): the reference is incomplete and left building; run the replay again");
                return 1;
            }
            Reference sealed = seal(references, model, size);
            if (sealed.getShortfall() > 0) {
                System.err.println(what + " was sealed by the aggregator's seal timeout " + sealed.getShortfall()
                        + " observations short of " + size);
                return 1;
            }
            System.out.println(what + " is sealed with " + sealed.getObservationCount() + " observations");
            return 0;
        }

        /** Asks for the seal (the version may not be stored yet: retried) and waits until the aggregator made it. */
        private Reference seal(ComparisonClient references, InferenceClient.Model model, long expected)
                throws Exception {
            long deadline = System.nanoTime() + sealWait.toNanos();
            Reference r = null;
            while (r == null) {
                try {
                    r = references.seal(model.modelId(), model.modelVersion(), name, expected);
                } catch (ComparisonClient.ApiException e) {
                    // 404: the aggregator has not stored the model version yet; 503: the store is away
                    if ((e.status() != 404 && e.status() != 503) || System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(1000);
                }
            }
            while (r.getState() != ReferenceState.REFERENCE_STATE_SEALED) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("reference '" + name + "' was not sealed within " + sealWait + " (it holds "
                            + r.getObservationCount() + " of " + expected + " observations); the aggregator seals "
                            + "it with what it holds after its seal timeout");
                }
                Thread.sleep(1000);
                r = references.reference(model.modelId(), model.modelVersion(), name).orElseThrow(() ->
                        new IOException("reference '" + name + "' was deleted while it was sealed"));
            }
            return r;
        }

        private static InferenceClient.Answer sendWithRetry(InferenceClient client, List<Inputs.Input> inputs)
                throws Exception {
            for (int attempt = 1; ; attempt++) {
                try {
                    return client.send(inputs, Map.of());
                } catch (InferenceClient.Refused e) {
                    throw e;
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

package ai.neuraldivergence.inference.bench;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.neuraldivergence.datasets.ImageSet;
import ai.neuraldivergence.datasets.NpmImages;
import ai.neuraldivergence.inference.capture.CapturePipeline;
import ai.neuraldivergence.inference.config.CaptureConfig;
import ai.neuraldivergence.inference.model.ModelRunner;
import ai.neuraldivergence.inference.model.ModelSpecResolver;
import ai.neuraldivergence.inference.model.TensorFlowEngine;
import ai.neuraldivergence.inference.service.PredictionService;
import ai.neuraldivergence.proto.v1.Reduction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What capture costs: images/s of a plain DJL predict (copying out only the probabilities) against the full path
 * of a request (predict, reduce every tap, build the ActivationBatches, queue, publish), the clock stopped only when
 * Kafka has acknowledged every record, at batch 1 and 64, in one run. Then RSS after 100,000 predictions against
 * RSS after warm-up. Run it with deploy/benchmark-capture.sh, which starts a Kafka broker for it.
 *
 * <pre>CaptureBenchmark MODEL_DIR BOOTSTRAP_SERVERS</pre>
 */
public final class CaptureBenchmark {

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        String bootstrap = args[1];
        TensorFlowEngine.load(null);
        ImageSet digits = NpmImages.mnist().split(0.8, 1234).test();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ModelRunner runner = new ModelRunner(model, new int[] {28, 28, 1}, 2, new ModelSpecResolver.Overrides(
                Optional.empty(), Optional.empty(), Optional.empty(), Reduction.REDUCTION_MAX, "probabilities",
                "logits"));
                CapturePipeline pipeline = new CapturePipeline(Map.of("bootstrap.servers", bootstrap),
                        config(), registry)) {
            PredictionService service = new PredictionService(runner, pipeline, config(), 256, registry);
            int taps = runner.spec().taps().size();
            System.out.printf(Locale.ROOT, "model %s %s, %d taps; Kafka %s; heap max %d MB%n",
                    runner.spec().modelId(), runner.spec().modelVersion(), taps, bootstrap,
                    Runtime.getRuntime().maxMemory() >> 20);
            System.out.println();
            System.out.println("batch  plain DJL predict   predict+capture+publish   ratio (median of 3 rounds, "
                    + "each round measures both paths back to back)");
            for (int batch : new int[] {1, 64}) {
                int requests = batch == 1 ? 4000 : 160;
                float[] x = inputs(digits, batch);
                List<PredictionService.Instance> instances = instances(digits, batch);
                // warm both paths, then measure them back to back in each round: a ratio within a round is
                // immune to the machine's drift between rounds
                plain(runner, x, batch, requests / 4);
                captured(service, pipeline, instances, requests / 4, taps);
                double[][] rounds = new double[3][];
                for (int round = 0; round < rounds.length; round++) {
                    double plain = plain(runner, x, batch, requests);
                    double full = captured(service, pipeline, instances, requests, taps);
                    rounds[round] = new double[] {full / plain, plain, full};
                }
                java.util.Arrays.sort(rounds, java.util.Comparator.comparingDouble(r -> r[0]));
                double[] median = rounds[1];
                System.out.printf(Locale.ROOT, "%5d  %10.0f images/s   %10.0f images/s         %.3f  (rounds %.3f, "
                        + "%.3f, %.3f)%n", batch, median[1], median[2], median[0], rounds[0][0], rounds[1][0],
                        rounds[2][0]);
            }
            double shed = registry.counter("nd.capture.observations.shed").count();
            System.out.printf(Locale.ROOT, "shed observations: %.0f%n%n", shed);

            List<PredictionService.Instance> instances = instances(digits, 64);
            captured(service, pipeline, instances, 200, taps);
            System.gc();
            long warm = rssKb();
            int predictions = 0;
            while (predictions < 100_000) {
                captured(service, pipeline, instances, 100, taps);
                predictions += 100 * 64;
            }
            System.gc();
            long after = rssKb();
            System.out.printf(Locale.ROOT, "RSS after warm-up %d MB, after %d predictions %d MB: %+.1f %%%n",
                    warm >> 10, predictions, after >> 10, 100.0 * (after - warm) / warm);
            if (shed > 0) {
                System.out.println("WARNING: observations were shed; the capture figures are not comparable");
                System.exit(1);
            }
        }
    }

    /** Images/s of predict with only the probabilities copied out. */
    private static double plain(ModelRunner runner, float[] x, int batch, int requests) {
        long start = System.nanoTime();
        for (int i = 0; i < requests; i++) {
            try (NDManager m = NDManager.newBaseManager()) {
                NDList out = runner.run(m, x, batch, new int[] {28, 28, 1});
                out.get("probabilities").toFloatArray();
            }
        }
        return (double) requests * batch / ((System.nanoTime() - start) / 1e9);
    }

    /** Images/s of the full request path, until Kafka acknowledged every tap batch. */
    private static double captured(PredictionService service, CapturePipeline pipeline,
            List<PredictionService.Instance> instances, int requests, int taps) throws InterruptedException {
        long before = pipeline.acknowledgedObservationBatches();
        long expected = before + (long) requests * instances.size() * taps;
        long start = System.nanoTime();
        for (int i = 0; i < requests; i++) {
            service.predict(instances);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (pipeline.acknowledgedObservationBatches() < expected) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Kafka did not acknowledge every capture in 120 s");
            }
            Thread.sleep(1);
        }
        return (double) requests * instances.size() / ((System.nanoTime() - start) / 1e9);
    }

    private static float[] inputs(ImageSet digits, int n) {
        float[] x = new float[n * ImageSet.PIXELS];
        digits.copyImages(0, n, x, 0);
        return x;
    }

    private static List<PredictionService.Instance> instances(ImageSet digits, int n) {
        List<PredictionService.Instance> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new PredictionService.Instance(digits.image(i), null, digits.label(i),
                    Map.of("source", "benchmark"), null, null));
        }
        return out;
    }

    private static long rssKb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return -1;
    }

    /** The shipped defaults (the mapping's), but its own topic, and a full queue blocks rather than sheds. */
    private static CaptureConfig config() {
        return new SmallRyeConfigBuilder().addDiscoveredConverters().withMapping(CaptureConfig.class)
                .withSources(new PropertiesConfigSource(Map.of("nd.capture.topic", "nd.benchmark.activations",
                        "nd.capture.policy", "block", "nd.capture.block-timeout", "30s"), "benchmark", 100))
                .build().getConfigMapping(CaptureConfig.class);
    }
}

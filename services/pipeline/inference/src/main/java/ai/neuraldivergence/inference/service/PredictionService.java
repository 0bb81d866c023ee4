package ai.neuraldivergence.inference.service;

import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.inference.capture.CaptureItem;
import ai.neuraldivergence.inference.capture.CapturePipeline;
import ai.neuraldivergence.inference.capture.TapRows;
import ai.neuraldivergence.inference.config.CaptureConfig;
import ai.neuraldivergence.inference.config.ModelConfig;
import ai.neuraldivergence.inference.model.ModelRunner;
import ai.neuraldivergence.inference.model.ModelSpec;
import ai.neuraldivergence.inference.model.ServedModel;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.wire.WireMapping;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CaptureStatus;
import ai.neuraldivergence.proto.v1.CapturedInput;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.PairRole;
import com.google.protobuf.Timestamp;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Predicts and captures: runs the model on a request's instances, answers class and probabilities, and hands the
 * sampled instances' reduced activations (one ActivationBatch per tap) to the capture pipeline.
 */
@ApplicationScoped
public class PredictionService {

    /** One input with its metadata. Tags already merged (instance over request). */
    public record Instance(float[] pixels, String instanceId, Integer trueLabel, Map<String, String> tags,
            String pairId, PairRole pairRole) {
    }

    public record Result(String instanceId, int predictedClass, float confidence, float[] probabilities,
            CaptureStatus capture) {
    }

    private final ModelRunner model;
    private final ModelSpec spec;
    private final CapturePipeline capture;
    private final CaptureConfig captureConfig;
    private final int maxInstances;
    private final Timer latency;
    private final Counter predictions;
    // per tap, in network order: an ActivationBatch without observations, built once
    private final List<ActivationBatch> headers;
    private final ActivationBatchValidator.Rules rules;

    @Inject
    public PredictionService(ServedModel served, CapturePipeline capture, CaptureConfig captureConfig,
            ModelConfig modelConfig, MeterRegistry registry) {
        this(served.runner(), capture, captureConfig, modelConfig.maxInstancesPerRequest(), registry);
    }

    /** Outside the container (benchmarks): the same path a request takes. */
    public PredictionService(ModelRunner model, CapturePipeline capture, CaptureConfig captureConfig,
            int maxInstances, MeterRegistry registry) {
        this.model = model;
        this.spec = model.spec();
        this.capture = capture;
        this.captureConfig = captureConfig;
        this.maxInstances = maxInstances;
        this.rules = new ActivationBatchValidator.Rules(captureConfig.maxNeuronsPerTap(), captureConfig.futureSkew(),
                null);
        this.latency = Timer.builder("nd.inference.predict").description("Predict requests, model run and capture")
                .publishPercentileHistogram().register(registry);
        this.predictions = Counter.builder("nd.inference.predictions").description("Instances predicted")
                .register(registry);
        List<ActivationBatch> h = new ArrayList<>();
        for (TapDescriptor tap : spec.taps()) {
            ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId(spec.modelId())
                    .setModelVersion(spec.modelVersion()).setTap(tap.tap()).setTapIndex(tap.tapIndex())
                    .setNeuronCount(tap.neuronCount()).setReduction(WireMapping.reduction(tap.reduction()))
                    .setOrigin(ai.neuraldivergence.proto.v1.BatchOrigin.BATCH_ORIGIN_SERVED);
            for (int d : tap.shape()) {
                b.addTapShape(d);
            }
            float[] scales = tap.featureScales();
            // every tap's layout registers its scales (a wider tap's block 0 records carry projections made through
            // them, TapRecords)
            if (scales != null) {
                for (float s : scales) {
                    b.addNeuronScales(s);
                }
            }
            h.add(b.build());
        }
        this.headers = List.copyOf(h);
    }

    /**
     * At start, the served model version claims its tap layouts in the store (batches without observations), so
     * that nothing else registers that version first with other layouts.
     */
    void declareLayout(@jakarta.enterprise.event.Observes io.quarkus.runtime.StartupEvent event) {
        capture.declareLayout(headers);
    }

    public ModelSpec spec() {
        return spec;
    }

    /** Throws IllegalArgumentException, with what was expected, for input the model cannot take. */
    public List<Result> predict(List<Instance> instances) {
        validate(instances);
        long started = System.nanoTime();
        int n = instances.size();
        int size = spec.inputSize();
        float[] inputs = new float[n * size];
        for (int i = 0; i < n; i++) {
            System.arraycopy(instances.get(i).pixels(), 0, inputs, i * size, size);
        }
        ModelRunner.Pending out = model.start(inputs, n);
        Instant now = Instant.now();
        List<String> ids = new ArrayList<>(n);
        for (Instance instance : instances) {
            ids.add(instance.instanceId() == null || instance.instanceId().isEmpty() ? newInstanceId()
                    : instance.instanceId());
        }
        boolean[] sampled = new boolean[n];
        List<Integer> chosen = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            sampled[i] = captureConfig.sampleRate() >= 1.0
                    || ThreadLocalRandom.current().nextDouble() < captureConfig.sampleRate();
            if (sampled[i]) {
                chosen.add(i);
            }
        }
        List<Result> results = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            float[] p = Arrays.copyOfRange(out.probabilities(), i * out.classes(), (i + 1) * out.classes());
            int c = out.predictedClass(i);
            results.add(new Result(ids.get(i), c, p[c], p, CaptureStatus.CAPTURE_STATUS_NOT_SAMPLED));
        }
        CapturePipeline.Status status = null;
        if (chosen.isEmpty()) {
            out.close();
        } else {
            // the taps are reduced and the batches built on the capture thread, off this request's path
            status = capture.offer(new PredictionCapture(out, metadata(instances, ids, out, chosen, now), chosen,
                    captureConfig.inputs() ? inputs(instances, ids, chosen, now) : List.of()));
        }
        for (int i = 0; i < n; i++) {
            if (sampled[i]) {
                Result r = results.get(i);
                results.set(i, new Result(r.instanceId(), r.predictedClass(), r.confidence(), r.probabilities(),
                        status == CapturePipeline.Status.QUEUED ? CaptureStatus.CAPTURE_STATUS_QUEUED
                                : CaptureStatus.CAPTURE_STATUS_SHED));
            }
        }
        predictions.increment(n);
        latency.record(System.nanoTime() - started, java.util.concurrent.TimeUnit.NANOSECONDS);
        return results;
    }

    /**
     * A random (version 4) UUID from a non-blocking, non-cryptographic source: ids must be unique, not secret, and
     * SecureRandom costs microseconds per id on the request path.
     */
    static String newInstanceId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long hi = (r.nextLong() & ~0xF000L) | 0x4000L;
        long lo = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(hi, lo).toString();
    }

    private void validate(List<Instance> instances) {
        if (instances == null || instances.isEmpty()) {
            throw new IllegalArgumentException("instances must hold 1.." + maxInstances + " inputs");
        }
        if (instances.size() > maxInstances) {
            throw new IllegalArgumentException("at most " + maxInstances + " instances per request, got "
                    + instances.size());
        }
        for (int i = 0; i < instances.size(); i++) {
            Instance instance = instances.get(i);
            float[] pixels = instance.pixels();
            if (pixels == null || pixels.length != spec.inputSize()) {
                throw new IllegalArgumentException("instance " + i + ": expected " + spec.inputSize()
                        + " pixel values (" + Arrays.toString(spec.inputShape()) + ", row-major), got "
                        + (pixels == null ? "none" : pixels.length));
            }
            for (float v : pixels) {
                if (!(v >= 0f && v <= 1f)) {
                    throw new IllegalArgumentException("instance " + i + ": pixel values must lie in [0, 1], got "
                            + v);
                }
            }
            if (instance.trueLabel() != null && instance.trueLabel() < 0) {
                throw new IllegalArgumentException("instances[" + i + "].trueLabel must be >= 0");
            }
            boolean paired = instance.pairId() != null && !instance.pairId().isEmpty();
            if (paired != (instance.pairRole() != null)) {
                throw new IllegalArgumentException("instances[" + i + "]: pairId and pairRole come together");
            }
            // the fields an observation carries, checked as the aggregator will: a NUL in a tag would otherwise
            // dead-letter the whole batch this prediction is merged into, other requests' observations included
            Observation.Builder probe = Observation.newBuilder().setInstanceId(instance.instanceId() == null
                    || instance.instanceId().isEmpty() ? "generated" : instance.instanceId())
                    .setEventTime(Timestamp.newBuilder().setSeconds(Instant.now().getEpochSecond()))
                    .putAllTags(instance.tags());
            if (paired) {
                probe.setPairId(instance.pairId()).setPairRole(instance.pairRole());
            }
            int at = i;
            ActivationBatchValidator.observationProblem(probe.build(), rules, Instant.now()).ifPresent(p -> {
                throw new IllegalArgumentException("instances[" + at + "]." + ActivationBatchValidator.inJsonNames(p));
            });
        }
    }

    private List<Observation> metadata(List<Instance> instances, List<String> ids, ModelRunner.Pending out,
            List<Integer> chosen, Instant now) {
        Timestamp time = ai.neuraldivergence.wire.WireMapping.timestamp(now);
        List<Observation> observations = new ArrayList<>(chosen.size());
        for (int i : chosen) {
            Instance instance = instances.get(i);
            Observation.Builder o = Observation.newBuilder().setInstanceId(ids.get(i)).setEventTime(time)
                    .setPredictedClass(out.predictedClass(i))
                    .setConfidence(out.probabilities()[i * out.classes() + out.predictedClass(i)])
                    .putAllTags(instance.tags());
            if (instance.trueLabel() != null) {
                o.setTrueLabel(instance.trueLabel());
            }
            if (instance.pairRole() != null) {
                o.setPairId(instance.pairId()).setPairRole(instance.pairRole());
            }
            observations.add(o.build());
        }
        return observations;
    }

    private List<CapturedInput> inputs(List<Instance> instances, List<String> ids, List<Integer> chosen,
            Instant now) {
        Timestamp time = ai.neuraldivergence.wire.WireMapping.timestamp(now);
        int[] shape = spec.inputShape();
        List<CapturedInput> inputs = new ArrayList<>();
        for (int i : chosen) {
            inputs.add(CapturedInput.newBuilder().setModelId(spec.modelId()).setModelVersion(spec.modelVersion())
                    .setInstanceId(ids.get(i)).setEventTime(time)
                    .setPng(com.google.protobuf.ByteString.copyFrom(
                            InputImages.png(instances.get(i).pixels(), shape[1], shape[0])))
                    .build());
        }
        return inputs;
    }

    /** A prediction's capture: its taps are still native until the capture thread builds the batches. */
    private final class PredictionCapture implements CaptureItem {
        private final ModelRunner.Pending out;
        private final List<Observation> observations;
        private final List<Integer> chosen;
        private final List<CapturedInput> inputs;
        private final ai.neuraldivergence.inference.capture.Delivery delivery =
                new ai.neuraldivergence.inference.capture.Delivery();

        PredictionCapture(ModelRunner.Pending out, List<Observation> observations, List<Integer> chosen,
                List<CapturedInput> inputs) {
            this.out = out;
            this.observations = observations;
            this.chosen = chosen;
            this.inputs = inputs;
        }

        @Override
        public int observations() {
            return observations.size();
        }

        @Override
        public List<CapturedInput> inputs() {
            return inputs;
        }

        @Override
        public void discard() {
            out.close();
        }

        @Override
        public ai.neuraldivergence.inference.capture.Delivery delivery() {
            return delivery;
        }

        @Override
        public List<TapRows> taps() {
            Map<String, float[]> reduced = out.reduceTaps();
            List<TapRows> taps = new ArrayList<>(spec.taps().size());
            boolean all = chosen.size() == out.count();
            for (TapDescriptor tap : spec.taps()) {
                float[] values = reduced.get(tap.tap());
                int neurons = tap.neuronCount();
                if (!all) {
                    float[] kept = new float[chosen.size() * neurons];
                    for (int k = 0; k < chosen.size(); k++) {
                        System.arraycopy(values, chosen.get(k) * neurons, kept, k * neurons, neurons);
                    }
                    values = kept;
                }
                taps.add(new TapRows(headers.get(tap.tapIndex()), observations, values));
            }
            return taps;
        }
    }
}

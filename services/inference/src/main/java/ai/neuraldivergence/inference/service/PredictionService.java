package ai.neuraldivergence.inference.service;

import ai.neuraldivergence.inference.capture.CaptureItem;
import ai.neuraldivergence.inference.capture.CapturePipeline;
import ai.neuraldivergence.inference.config.CaptureConfig;
import ai.neuraldivergence.inference.config.ModelConfig;
import ai.neuraldivergence.inference.model.ModelRunner;
import ai.neuraldivergence.inference.model.ModelSpec;
import ai.neuraldivergence.inference.model.ServedModel;
import ai.neuraldivergence.inference.model.TapSpec;
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

    @Inject
    public PredictionService(ServedModel served, CapturePipeline capture, CaptureConfig captureConfig,
            ModelConfig modelConfig, MeterRegistry registry) {
        this.model = served.runner();
        this.spec = served.spec();
        this.capture = capture;
        this.captureConfig = captureConfig;
        this.maxInstances = modelConfig.maxInstancesPerRequest();
        this.latency = Timer.builder("nd.inference.predict").description("Predict requests, model run and capture")
                .publishPercentileHistogram().register(registry);
        this.predictions = Counter.builder("nd.inference.predictions").description("Instances predicted")
                .register(registry);
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
        ModelRunner.Output out = model.predict(inputs, n);
        Instant now = Instant.now();
        List<String> ids = new ArrayList<>(n);
        for (Instance instance : instances) {
            ids.add(instance.instanceId() == null || instance.instanceId().isEmpty() ? UUID.randomUUID().toString()
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
        CapturePipeline.Status status = chosen.isEmpty() ? null
                : capture.offer(captureOf(instances, ids, out, chosen, now));
        List<Result> results = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            float[] p = Arrays.copyOfRange(out.probabilities(), i * out.classes(), (i + 1) * out.classes());
            int c = out.predictedClass(i);
            CaptureStatus cs = !sampled[i] ? CaptureStatus.CAPTURE_STATUS_NOT_SAMPLED
                    : status == CapturePipeline.Status.QUEUED ? CaptureStatus.CAPTURE_STATUS_QUEUED
                    : CaptureStatus.CAPTURE_STATUS_SHED;
            results.add(new Result(ids.get(i), c, p[c], p, cs));
        }
        predictions.increment(n);
        latency.record(System.nanoTime() - started, java.util.concurrent.TimeUnit.NANOSECONDS);
        return results;
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
                throw new IllegalArgumentException("instance " + i + ": trueLabel must be >= 0");
            }
            boolean paired = instance.pairId() != null && !instance.pairId().isEmpty();
            if (paired != (instance.pairRole() != null)) {
                throw new IllegalArgumentException("instance " + i + ": pairId and pairRole come together");
            }
        }
    }

    private CaptureItem captureOf(List<Instance> instances, List<String> ids, ModelRunner.Output out,
            List<Integer> chosen, Instant now) {
        Timestamp time = Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()).build();
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
        List<ActivationBatch> batches = new ArrayList<>(spec.taps().size());
        for (TapSpec tap : spec.taps()) {
            float[] reduced = out.taps().get(tap.name());
            int neurons = tap.neuronCount();
            ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId(spec.modelId())
                    .setModelVersion(spec.modelVersion()).setTap(tap.name()).setTapIndex(tap.index())
                    .setNeuronCount(neurons).setReduction(tap.reduction()).addAllObservations(observations);
            for (int d : tap.shape()) {
                b.addTapShape(d);
            }
            for (int i : chosen) {
                for (int j = 0; j < neurons; j++) {
                    b.addActivations(reduced[i * neurons + j]);
                }
            }
            batches.add(b.build());
        }
        List<CapturedInput> inputs = new ArrayList<>();
        if (captureConfig.inputs()) {
            int[] shape = spec.inputShape();
            for (int i : chosen) {
                inputs.add(CapturedInput.newBuilder().setModelId(spec.modelId())
                        .setModelVersion(spec.modelVersion()).setInstanceId(ids.get(i)).setEventTime(time)
                        .setPng(com.google.protobuf.ByteString.copyFrom(
                                InputImages.png(instances.get(i).pixels(), shape[1], shape[0])))
                        .build());
            }
        }
        return new CaptureItem(batches, inputs);
    }
}

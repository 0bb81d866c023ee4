package ai.neuraldivergence.inference.model;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.wire.WireMapping;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The loaded SavedModel and a fixed pool of predictors (a DJL {@code Predictor} is not thread-safe): a request
 * borrows one, runs, and returns it. Every native array is closed before {@link #predict} returns; only plain Java
 * arrays leave this class.
 */
public final class ModelRunner implements AutoCloseable {

    /** Outputs of one predict, row-major: probabilities [N x classes] and each tap reduced to [N x neurons]. */
    public record Output(int count, int classes, float[] probabilities, Map<String, float[]> taps) {

        public int predictedClass(int i) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (probabilities[i * classes + c] > probabilities[i * classes + best]) {
                    best = c;
                }
            }
            return best;
        }
    }

    private final ZooModel<NDList, NDList> model;
    private final BlockingQueue<Predictor<NDList, NDList>> predictors;
    private final ModelSpec spec;

    /**
     * Loads the model, discovers its outputs with one warm-up predict (the first run is also the slowest), and
     * resolves its taps.
     */
    public ModelRunner(Path savedModel, int[] inputShape, int poolSize, ModelSpecResolver.Overrides overrides)
            throws IOException {
        if (!Files.isRegularFile(savedModel.resolve("saved_model.pb"))) {
            throw new IOException("no SavedModel at " + savedModel.toAbsolutePath()
                    + " (saved_model.pb missing); set nd.model.path");
        }
        Thread t = Thread.currentThread();
        ClassLoader previous = t.getContextClassLoader();
        // DJL's model zoo lookup goes through the context class loader too
        t.setContextClassLoader(ModelRunner.class.getClassLoader());
        try {
            model = Criteria.builder()
                    .setTypes(NDList.class, NDList.class)
                    .optModelPath(savedModel)
                    .optEngine("TensorFlow")
                    .optOption("Tags", "serve")
                    .optOption("SignatureDefKey", "serving_default")
                    .optTranslator(new NoopTranslator())
                    .build()
                    .loadModel();
        } catch (ModelNotFoundException | MalformedModelException e) {
            throw new IOException("cannot load the SavedModel at " + savedModel + ": " + e.getMessage(), e);
        } finally {
            t.setContextClassLoader(previous);
        }
        predictors = new ArrayBlockingQueue<>(poolSize);
        for (int i = 0; i < poolSize; i++) {
            predictors.add(model.newPredictor());
        }
        Map<String, long[]> outputs = new LinkedHashMap<>();
        int size = 1;
        for (int d : inputShape) {
            size *= d;
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDList out = run(m, new float[size], 1, inputShape);
            for (NDArray a : out) {
                outputs.put(a.getName(), a.getShape().getShape());
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        spec = ModelSpecResolver.resolve(savedModel, outputs, inputShape, overrides);
    }

    public ModelSpec spec() {
        return spec;
    }

    /**
     * A predict whose tap outputs stay native until {@link #reduceTaps} (or {@link #close}): the probabilities are
     * copied out at once, the taps can be reduced later on another thread. The holder must close it.
     */
    public final class Pending implements AutoCloseable {
        private final NDManager manager;
        private final NDList out;
        private final float[] probabilities;
        private final int count;

        private Pending(NDManager manager, NDList out, int count) {
            this.manager = manager;
            this.out = out;
            this.count = count;
            this.probabilities = out.get(spec.probabilitiesOutput()).toFloatArray();
        }

        public int count() {
            return count;
        }

        public int classes() {
            return probabilities.length / count;
        }

        public float[] probabilities() {
            return probabilities;
        }

        public int predictedClass(int i) {
            int classes = classes();
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (probabilities[i * classes + c] > probabilities[i * classes + best]) {
                    best = c;
                }
            }
            return best;
        }

        /** Every tap reduced to [count x neurons], row-major; then releases the native outputs. */
        public Map<String, float[]> reduceTaps() {
            try {
                Map<String, float[]> taps = new LinkedHashMap<>();
                for (TapDescriptor tap : spec.taps()) {
                    taps.put(tap.tap(), reduced(out, tap));
                }
                return taps;
            } finally {
                close();
            }
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    /** Runs {@code count} inputs; the caller owns (and must close) the result. */
    public Pending start(float[] inputs, int count) {
        NDManager manager = NDManager.newBaseManager();
        try {
            return new Pending(manager, run(manager, inputs, count, spec.inputShape()), count);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Runs {@code count} inputs packed in {@code inputs}; returns probabilities and every tap, reduced. */
    public Output predict(float[] inputs, int count) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDList out = run(m, inputs, count, spec.inputShape());
            float[] probabilities = out.get(spec.probabilitiesOutput()).toFloatArray();
            Map<String, float[]> taps = new LinkedHashMap<>();
            for (TapDescriptor tap : spec.taps()) {
                taps.put(tap.tap(), reduced(out, tap));
            }
            return new Output(count, probabilities.length / count, probabilities, taps);
        }
    }

    /** A tap reduced to [N x neurons]: the model's own reduced output when it has one, else reduced here. */
    private float[] reduced(NDList out, TapDescriptor tap) {
        String reducedOutput = spec.reducedOutput(tap);
        return reducedOutput != null ? out.get(reducedOutput).toFloatArray()
                : ActivationReducer.reduce(out.get(tap.tap()), WireMapping.reduction(tap.reduction()));
    }

    /** The raw outputs, for callers that need them whole (tests, benchmarks). They belong to {@code manager}. */
    public NDList run(NDManager manager, float[] inputs, int count, int[] inputShape) {
        long[] shape = new long[inputShape.length + 1];
        shape[0] = count;
        for (int i = 0; i < inputShape.length; i++) {
            shape[i + 1] = inputShape[i];
        }
        Predictor<NDList, NDList> predictor;
        try {
            predictor = predictors.poll(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a predictor", e);
        }
        if (predictor == null) {
            throw new IllegalStateException("no predictor free for 30 s");
        }
        try {
            NDList out = predictor.predict(new NDList(manager.create(inputs, new Shape(shape))));
            out.attach(manager);
            return out;
        } catch (TranslateException e) {
            throw new IllegalStateException("prediction failed: " + e.getMessage(), e);
        } finally {
            predictors.add(predictor);
        }
    }

    @Override
    public void close() {
        if (predictors != null) {
            predictors.forEach(Predictor::close);
            predictors.clear();
        }
        model.close();
    }
}

package ai.neuraldivergence.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.neuraldivergence.datasets.ImageSet;
import ai.neuraldivergence.datasets.NpmImages;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.inference.model.ActivationReducer;
import ai.neuraldivergence.inference.model.ModelRunner;
import ai.neuraldivergence.inference.model.ModelSpecResolver;
import ai.neuraldivergence.inference.model.TensorFlowEngine;
import ai.neuraldivergence.proto.v1.Reduction;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/** The real exported model through DJL, checked against TensorFlow Java's own Session on the same digits. */
class ModelParityTest {

    private static final Path MODEL = Path.of(System.getProperty("nd.model.path"));
    private static ModelRunner runner;
    private static ImageSet heldOut;

    @BeforeAll
    static void load() throws Exception {
        TensorFlowEngine.load(null);
        runner = new ModelRunner(MODEL, new int[] {28, 28, 1}, 2, new ModelSpecResolver.Overrides(Optional.empty(),
                Optional.empty(), Optional.empty(), Reduction.REDUCTION_MAX, "probabilities", "logits"));
        heldOut = NpmImages.mnist().split(0.8, 1234).test();
    }

    @AfterAll
    static void close() {
        runner.close();
    }

    @Test
    void tapsComeInNetworkOrderFromTheManifest() {
        assertEquals("mnist-cnn", runner.spec().modelId());
        assertEquals(List.of("conv1", "pool1", "conv2", "pool2", "dense1"),
                runner.spec().taps().stream().map(TapDescriptor::tap).toList());
        assertArrayEquals(new int[] {14, 14, 32}, runner.spec().taps().get(2).shape());
        assertEquals(ai.neuraldivergence.domain.Reduction.NONE, runner.spec().taps().get(4).reduction());
    }

    @Test
    void djlOutputsEqualADirectTensorFlowSessionRun() {
        int n = 32;
        float[] x = new float[n * ImageSet.PIXELS];
        heldOut.copyImages(0, n, x, 0);
        try (SavedModelBundle bundle = SavedModelBundle.load(MODEL.toString(), "serve");
                NDManager manager = NDManager.newBaseManager();
                TFloat32 input = TFloat32.tensorOf(Shape.of(n, 28, 28, 1), DataBuffers.of(x, true, false));
                Result direct = bundle.function("serving_default").call(Map.of("input", input))) {
            NDList djl = runner.run(manager, x, n, new int[] {28, 28, 1});
            assertEquals(direct.keySet(), djl.stream().map(NDArray::getName).collect(java.util.stream.Collectors
                    .toSet()), "the same outputs");
            int correct = 0;
            for (String name : direct.keySet()) {
                Tensor t = direct.get(name).orElseThrow();
                float[] expected = new float[(int) t.shape().size()];
                ((TFloat32) t).copyTo(DataBuffers.of(expected, false, false));
                float[] actual = djl.get(name).toFloatArray();
                assertEquals(expected.length, actual.length, name);
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], actual[i], 1e-5, name + "[" + i + "]");
                }
            }
            // the model's in-graph reductions (what capture uses) equal reducing the full maps here
            for (TapDescriptor tap : runner.spec().taps()) {
                String reducedOutput = runner.spec().reducedOutput(tap);
                if (reducedOutput != null) {
                    assertEquals(tap.tap() + "_channel_max", reducedOutput);
                    assertArrayEquals(ActivationReducer.reduce(djl.get(tap.tap()), Reduction.REDUCTION_MAX),
                            djl.get(reducedOutput).toFloatArray(), 1e-6f, tap.tap());
                    assertArrayEquals(ActivationReducer.reduce(djl.get(tap.tap()), Reduction.REDUCTION_MEAN),
                            djl.get(tap.tap() + "_channel_mean").toFloatArray(), 1e-5f, tap.tap());
                }
            }
            ModelRunner.Output out = runner.predict(x, n);
            for (int i = 0; i < n; i++) {
                if (out.predictedClass(i) == heldOut.label(i)) {
                    correct++;
                }
            }
            assertTrue(correct >= n - 2, "the model reads real digits: " + correct + " of " + n);
        }
    }

    @Test
    void channelReductionEqualsAHandComputation() {
        // [N=2, H=2, W=2, C=3]: value = 100 n + 10 (h * 2 + w) + c
        float[] values = new float[2 * 2 * 2 * 3];
        for (int n = 0; n < 2; n++) {
            for (int p = 0; p < 4; p++) {
                for (int c = 0; c < 3; c++) {
                    values[((n * 4) + p) * 3 + c] = 100 * n + 10 * p + c - (p == 2 ? 50 : 0);
                }
            }
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray map = m.create(values, new ai.djl.ndarray.types.Shape(2, 2, 2, 3));
            float[] max = ActivationReducer.reduce(map, Reduction.REDUCTION_MAX);
            float[] mean = ActivationReducer.reduce(map, Reduction.REDUCTION_MEAN);
            float[] expectedMax = new float[6];
            float[] expectedMean = new float[6];
            for (int n = 0; n < 2; n++) {
                for (int c = 0; c < 3; c++) {
                    float mx = Float.NEGATIVE_INFINITY;
                    float sum = 0;
                    for (int p = 0; p < 4; p++) {
                        float v = values[((n * 4) + p) * 3 + c];
                        mx = Math.max(mx, v);
                        sum += v;
                    }
                    expectedMax[n * 3 + c] = mx;
                    expectedMean[n * 3 + c] = sum / 4;
                }
            }
            assertArrayEquals(expectedMax, max, 1e-6f);
            assertArrayEquals(expectedMean, mean, 1e-6f);
            // a map too large for the heap path goes through the native op: same results
            float[] big = new float[2 * 128 * 128 * 3];
            for (int i = 0; i < big.length; i++) {
                big[i] = (float) Math.sin(i * 0.37);
            }
            NDArray large = m.create(big, new ai.djl.ndarray.types.Shape(2, 128, 128, 3));
            float[] nativeMax = ActivationReducer.reduce(large, Reduction.REDUCTION_MAX);
            float[] nativeMean = ActivationReducer.reduce(large, Reduction.REDUCTION_MEAN);
            for (int n = 0; n < 2; n++) {
                for (int c = 0; c < 3; c++) {
                    float mx = Float.NEGATIVE_INFINITY;
                    double sum = 0;
                    for (int p = 0; p < 128 * 128; p++) {
                        float v = big[(n * 128 * 128 + p) * 3 + c];
                        mx = Math.max(mx, v);
                        sum += v;
                    }
                    assertEquals(mx, nativeMax[n * 3 + c], 1e-6f);
                    assertEquals(sum / (128 * 128), nativeMean[n * 3 + c], 1e-4);
                }
            }
            assertArrayEquals(new float[] {1f, 2f}, ActivationReducer.reduce(m.create(new float[] {1f, 2f},
                    new ai.djl.ndarray.types.Shape(1, 2)), Reduction.REDUCTION_MAX));
        }
    }
}

package ai.neuraldivergence.inference.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.wire.WireMapping;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the taps are resolved from a signature's outputs and the manifest, without a model. */
class ModelSpecResolverTest {

    private static final String WIDE_MANIFEST = """
        {"modelId": "wide-16384", "modelVersion": "abc123", "taps": [
          {"name": "wide", "index": 0, "shape": [7, 7, 16384],
           "reduced": {"max": "wide_channel_max", "mean": "wide_channel_mean"}}]}
        """;

    @TempDir
    Path dir;

    @Test
    void aTapExportedOnlyReducedIsServedFromItsReducedOutputWithTheManifestShape() throws Exception {
        for (Reduction reduction : List.of(Reduction.REDUCTION_MAX, Reduction.REDUCTION_MEAN)) {
            ModelSpec spec = resolve(WIDE_MANIFEST, wideOutputs(16384), reduction);
            assertEquals("wide-16384", spec.modelId());
            assertEquals("abc123", spec.modelVersion());
            TapDescriptor tap = spec.taps().get(0);
            assertEquals("wide", tap.tap());
            assertArrayEquals(new int[] {7, 7, 16384}, tap.shape());
            assertEquals(16384, tap.neuronCount());
            assertEquals(reduction, WireMapping.reduction(tap.reduction()));
            assertEquals(reduction == Reduction.REDUCTION_MAX ? "wide_channel_max" : "wide_channel_mean",
                    spec.reducedOutput(tap));
        }
    }

    @Test
    void aReducedOutputWithOtherChannelsThanTheManifestSaysFails() throws Exception {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> resolve(WIDE_MANIFEST, wideOutputs(2048), Reduction.REDUCTION_MAX));
        assertTrue(e.getMessage().contains("'wide'") && e.getMessage().contains("wide_channel_max")
                && e.getMessage().contains("[7, 7, 16384]") && e.getMessage().contains("[1, 2048]"), e.getMessage());
    }

    @Test
    void aTapWithoutItsOutputOrTheConfiguredReducedOutputFailsNamingTheReduction() throws Exception {
        Map<String, long[]> outputs = outputs();
        outputs.put("wide_channel_max", new long[] {1, 16384});
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> resolve(WIDE_MANIFEST, outputs, Reduction.REDUCTION_MEAN));
        assertTrue(e.getMessage().contains("'wide'") && e.getMessage().contains("reduction mean")
                && e.getMessage().contains("wide_channel_mean"), e.getMessage());

        String noReduced = """
            {"modelId": "m", "modelVersion": "v", "taps": [{"name": "wide", "index": 0, "shape": [7, 7, 16384]}]}
            """;
        e = assertThrows(IllegalStateException.class,
                () -> resolve(noReduced, wideOutputs(16384), Reduction.REDUCTION_MAX));
        assertTrue(e.getMessage().contains("'wide'") && e.getMessage().contains("reduction max"), e.getMessage());
    }

    @Test
    void theCnnsTapsAreTakenFromTheirOwnOutputsAsBefore() throws Exception {
        String manifest = """
            {"modelId": "mnist-cnn", "modelVersion": "v1", "taps": [
              {"name": "conv1", "index": 0, "shape": [28, 28, 16],
               "reduced": {"max": "conv1_channel_max", "mean": "conv1_channel_mean"}},
              {"name": "dense1", "index": 1, "shape": [128]},
              {"name": "pool2", "index": 2, "shape": [7, 7, 32],
               "reduced": {"max": "pool2_channel_max", "mean": "pool2_channel_mean"}}]}
            """;
        Map<String, long[]> outputs = outputs();
        outputs.put("conv1", new long[] {1, 28, 28, 16});
        outputs.put("conv1_channel_max", new long[] {1, 16});
        outputs.put("conv1_channel_mean", new long[] {1, 16});
        outputs.put("dense1", new long[] {1, 128});
        outputs.put("pool2", new long[] {1, 7, 7, 32});
        ModelSpec spec = resolve(manifest, outputs, Reduction.REDUCTION_MAX);
        assertEquals(List.of("conv1", "dense1", "pool2"), spec.taps().stream().map(TapDescriptor::tap).toList());
        assertArrayEquals(new int[] {28, 28, 16}, spec.taps().get(0).shape());
        assertEquals("conv1_channel_max", spec.reducedOutput(spec.taps().get(0)));
        assertEquals(ai.neuraldivergence.domain.Reduction.NONE, spec.taps().get(1).reduction());
        assertNull(spec.reducedOutput(spec.taps().get(1)));
        // reduced by the service when the signature lacks the reduced output
        assertEquals(ai.neuraldivergence.domain.Reduction.MAX, spec.taps().get(2).reduction());
        assertNull(spec.reducedOutput(spec.taps().get(2)));
    }

    @Test
    void theManifestsNeuronScalesAreTheCapturedNeuronsOwnAndABadListRefusesTheStart() throws Exception {
        String manifest = """
            {"modelId": "m", "modelVersion": "v1", "taps": [
              {"name": "conv1", "index": 0, "shape": [28, 28, 2],
               "reduced": {"max": "conv1_channel_max", "mean": "conv1_channel_mean"},
               "neuronScales": {"max": [2.5, 0.5], "mean": [0.25, 0.125]}},
              {"name": "dense1", "index": 1, "shape": [3], "neuronScales": {"none": [1, 2, 3]}},
              {"name": "dense2", "index": 2, "shape": [3]}]}
            """;
        Map<String, long[]> outputs = outputs();
        outputs.put("conv1_channel_max", new long[] {1, 2});
        outputs.put("conv1_channel_mean", new long[] {1, 2});
        outputs.put("dense1", new long[] {1, 3});
        outputs.put("dense2", new long[] {1, 3});
        ModelSpec max = resolve(manifest, outputs, Reduction.REDUCTION_MAX);
        assertArrayEquals(new float[] {2.5f, 0.5f}, max.taps().get(0).featureScales());
        assertArrayEquals(new float[] {1, 2, 3}, max.taps().get(1).featureScales());
        assertNull(max.taps().get(2).featureScales(), "undeclared: 1 for every neuron");
        ModelSpec mean = resolve(manifest, outputs, Reduction.REDUCTION_MEAN);
        assertArrayEquals(new float[] {0.25f, 0.125f}, mean.taps().get(0).featureScales(),
                "the scales of the neurons as captured: the channel means'");
        for (String bad : List.of("[1, 2]", "[1, 0, 3]", "[1, \"x\", 3]", "{\"a\": 1}", "[1, 1e-40, 3]")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> resolve(manifest.replace(
                    "[1, 2, 3]", bad), outputs, Reduction.REDUCTION_MAX), bad);
            assertTrue(e.getMessage().contains("neuronScales.none") && e.getMessage().contains("'dense1'"),
                    e.getMessage());
        }
    }

    private ModelSpec resolve(String manifest, Map<String, long[]> outputs, Reduction reduction) throws Exception {
        Files.writeString(dir.resolve("manifest.json"), manifest);
        return ModelSpecResolver.resolve(dir.resolve("saved_model"), outputs, new int[] {7, 7, 512},
                new ModelSpecResolver.Overrides(Optional.empty(), Optional.empty(), Optional.empty(), reduction,
                        "probabilities", "logits"));
    }

    /** The wide model's signature: no [N, 7, 7, C] map, only the tap reduced (shapes as from a one-input warm-up). */
    private static Map<String, long[]> wideOutputs(int channels) {
        Map<String, long[]> outputs = outputs();
        outputs.put("wide_channel_max", new long[] {1, channels});
        outputs.put("wide_channel_mean", new long[] {1, channels});
        return outputs;
    }

    private static Map<String, long[]> outputs() {
        Map<String, long[]> outputs = new LinkedHashMap<>();
        outputs.put("probabilities", new long[] {1, 10});
        outputs.put("logits", new long[] {1, 10});
        return outputs;
    }
}

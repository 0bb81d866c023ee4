package ai.neuraldivergence.inference.model;

import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.wire.WireMapping;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Decides the model's identity and taps. Taps are the signature's outputs other than the probabilities and logits
 * (or the configured list). Their network order cannot come from the signature (DJL returns outputs sorted by
 * name): it comes from the configured list, else from the {@code manifest.json} exported beside the SavedModel.
 * A rank-4 tap may also be exported only reduced (one value per channel); the manifest then gives its shape.
 */
public final class ModelSpecResolver {

    /** Configuration that overrides what the model directory says. */
    public record Overrides(Optional<String> modelId, Optional<String> modelVersion, Optional<List<String>> taps,
            Reduction reduction, String probabilitiesOutput, String logitsOutput) {
    }

    private ModelSpecResolver() {
    }

    /**
     * @param outputs the signature's outputs and their shapes with the batch dimension (from a warm-up predict)
     */
    public static ModelSpec resolve(Path savedModel, Map<String, long[]> outputs, int[] inputShape,
            Overrides overrides) throws IOException {
        if (!outputs.containsKey(overrides.probabilitiesOutput())) {
            throw new IllegalStateException("the signature has no output '" + overrides.probabilitiesOutput()
                    + "' (nd.model.probabilities-output); it has " + new TreeSet<>(outputs.keySet()));
        }
        Optional<JsonNode> manifest = manifest(savedModel);
        List<String> order;
        String reductionWord = overrides.reduction() == Reduction.REDUCTION_MEAN ? "mean" : "max";
        Map<String, JsonNode> listed = new HashMap<>();
        manifest.ifPresent(m -> m.path("taps").forEach(t -> listed.put(t.get("name").asText(), t)));
        if (overrides.taps().isPresent()) {
            order = overrides.taps().get();
        } else if (manifest.isPresent() && manifest.get().has("taps")) {
            order = new ArrayList<>();
            List<JsonNode> taps = new ArrayList<>();
            manifest.get().get("taps").forEach(taps::add);
            taps.sort((a, b) -> Integer.compare(a.get("index").asInt(), b.get("index").asInt()));
            taps.forEach(t -> order.add(t.get("name").asText()));
        } else {
            Set<String> candidates = new TreeSet<>(outputs.keySet());
            candidates.remove(overrides.probabilitiesOutput());
            candidates.remove(overrides.logitsOutput());
            throw new IllegalStateException("the network order of the taps " + candidates + " is unknown: list them "
                    + "in nd.model.taps, or export a manifest.json beside the SavedModel");
        }
        String id = overrides.modelId().orElseGet(() -> manifest.map(m -> m.path("modelId").asText(null))
                .orElse(savedModel.toAbsolutePath().normalize().getParent().getFileName().toString()));
        String version = overrides.modelVersion().orElseGet(() -> manifest
                .map(m -> m.path("modelVersion").asText(null)).orElseGet(() -> digest(savedModel)));
        List<TapDescriptor> taps = new ArrayList<>();
        Map<String, String> reducedOutputs = new HashMap<>();
        for (String name : order) {
            JsonNode listedTap = listed.get(name);
            String reduced = listedTap == null ? null : listedTap.path("reduced").path(reductionWord).asText(null);
            long[] shape = outputs.get(name);
            int[] withoutBatch;
            if (shape == null) {
                withoutBatch = servedReducedShape(name, listedTap, reduced, reductionWord, outputs);
                reducedOutputs.put(name, reduced);
            } else {
                withoutBatch = new int[shape.length - 1];
                for (int i = 1; i < shape.length; i++) {
                    withoutBatch[i - 1] = (int) shape[i];
                }
                if (withoutBatch.length == 3 && reduced != null && outputs.containsKey(reduced)) {
                    reducedOutputs.put(name, reduced);
                }
            }
            Reduction reduction = withoutBatch.length == 1 ? Reduction.REDUCTION_NONE : overrides.reduction();
            int neurons = withoutBatch[withoutBatch.length - 1];
            taps.add(new TapDescriptor(id, version, name, taps.size(), withoutBatch, neurons,
                    WireMapping.reduction(reduction), Math.max(1, neurons), neuronScales(name, listedTap,
                            withoutBatch.length == 1 ? "none" : reductionWord, neurons)));
        }
        return new ModelSpec(id, version, inputShape, overrides.probabilitiesOutput(), taps, reducedOutputs);
    }

    /**
     * The neuron scales the manifest declares for a tap's neurons as captured ({@code "neuronScales": {"none": [..]}}
     * for a rank-2 tap, {@code {"max": [..], "mean": [..]}} per reduction for a rank-4 one): what the layer statistic
     * divides each neuron by. Null when it declares none; a start refused when they do not fit the tap.
     */
    static float[] neuronScales(String name, JsonNode listedTap, String reductionWord, int neurons) {
        JsonNode declared = listedTap == null ? null : listedTap.path("neuronScales").get(reductionWord);
        if (declared == null || declared.isNull()) {
            return null;
        }
        float[] scales = new float[declared.isArray() ? declared.size() : 0];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = declared.get(i).isNumber() ? declared.get(i).floatValue() : Float.NaN;
        }
        TapDescriptor.scalesProblem(scales, neurons).ifPresent(p -> {
            throw new IllegalStateException("the manifest's neuronScales." + reductionWord + " of tap '" + name
                    + "' must be one positive finite number per neuron: " + p);
        });
        for (int i = 0; i < scales.length; i++) {
            // the aggregator refuses a batch whose scale has no finite inverse: refused here, at the start, instead
            // of every batch of the tap dead-lettered
            if (!Float.isFinite(1f / scales[i])) {
                throw new IllegalStateException("the manifest's neuronScales." + reductionWord + " of tap '" + name
                        + "' must be one positive finite number per neuron: neuron " + i + "'s scale is "
                        + scales[i] + ", whose inverse is not finite");
            }
        }
        return scales;
    }

    /**
     * A rank-4 tap the signature returns only reduced, as a wide model does (its whole [N, H, W, C] map would be far
     * too big to fetch on every predict): its shape comes from the manifest, its values from the reduced output of the
     * configured reduction, which must hold one value per channel. Returns the tap's shape without the batch
     * dimension.
     */
    private static int[] servedReducedShape(String name, JsonNode listedTap, String reduced, String reductionWord,
            Map<String, long[]> outputs) {
        long[] reducedShape = reduced == null ? null : outputs.get(reduced);
        if (reducedShape == null) {
            String why = listedTap == null ? "and the manifest does not list it"
                    : reduced == null ? "and the manifest names no reduced output for the reduction " + reductionWord
                    : "nor is its reduced output for the reduction " + reductionWord + ", '" + reduced + "'";
            throw new IllegalStateException("tap '" + name + "' is not an output of the signature, " + why
                    + "; outputs are " + new TreeSet<>(outputs.keySet()));
        }
        int[] shape = new int[listedTap.path("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = listedTap.path("shape").get(i).asInt();
        }
        if (shape.length != 3 || reducedShape.length != 2 || reducedShape[1] != shape[2]) {
            throw new IllegalStateException("tap '" + name + "' is served from its reduced output '" + reduced
                    + "', which must have shape [N, C] for the tap's shape [H, W, C] in the manifest; the manifest "
                    + "gives " + Arrays.toString(shape) + ", the signature " + Arrays.toString(reducedShape));
        }
        return shape;
    }

    /** The input shape the manifest beside the SavedModel declares (without the batch dimension), if any. */
    public static Optional<int[]> inputShape(Path savedModel) {
        try {
            return manifest(savedModel).map(m -> m.path("input").path("shape")).filter(JsonNode::isArray)
                    .filter(a -> a.size() > 0).map(a -> {
                        int[] shape = new int[a.size()];
                        for (int i = 0; i < shape.length; i++) {
                            shape[i] = a.get(i).asInt();
                        }
                        return shape;
                    });
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read the manifest beside " + savedModel, e);
        }
    }

    private static Optional<JsonNode> manifest(Path savedModel) throws IOException {
        for (Path candidate : new Path[] {savedModel.resolve("manifest.json"),
            savedModel.toAbsolutePath().getParent().resolve("manifest.json")}) {
            if (Files.isRegularFile(candidate)) {
                return Optional.of(new ObjectMapper().readTree(candidate.toFile()));
            }
        }
        return Optional.empty();
    }

    /** A version that changes whenever the graph does. */
    private static String digest(Path savedModel) {
        try {
            byte[] graph = Files.readAllBytes(savedModel.resolve("saved_model.pb"));
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(graph)).substring(0, 12);
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot read " + savedModel.resolve("saved_model.pb"), e);
        }
    }
}

package ai.neuraldivergence.inference.model;

import ai.neuraldivergence.proto.v1.Reduction;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
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
        Map<String, String> reducedOutputs = new java.util.HashMap<>();
        String reductionWord = overrides.reduction() == Reduction.REDUCTION_MEAN ? "mean" : "max";
        manifest.ifPresent(m -> m.path("taps").forEach(t -> {
            String reduced = t.path("reduced").path(reductionWord).asText(null);
            if (reduced != null && outputs.containsKey(reduced)) {
                reducedOutputs.put(t.get("name").asText(), reduced);
            }
        }));
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
        List<TapSpec> taps = new ArrayList<>();
        for (String name : order) {
            long[] shape = outputs.get(name);
            if (shape == null) {
                throw new IllegalStateException("tap '" + name + "' is not an output of the signature; outputs are "
                        + new TreeSet<>(outputs.keySet()));
            }
            int[] withoutBatch = new int[shape.length - 1];
            for (int i = 1; i < shape.length; i++) {
                withoutBatch[i - 1] = (int) shape[i];
            }
            Reduction reduction = withoutBatch.length == 1 ? Reduction.REDUCTION_NONE : overrides.reduction();
            taps.add(new TapSpec(name, taps.size(), withoutBatch, reduction,
                    withoutBatch.length == 1 ? null : reducedOutputs.get(name)));
        }
        String id = overrides.modelId().orElseGet(() -> manifest.map(m -> m.path("modelId").asText(null))
                .orElse(savedModel.toAbsolutePath().normalize().getParent().getFileName().toString()));
        String version = overrides.modelVersion().orElseGet(() -> manifest
                .map(m -> m.path("modelVersion").asText(null)).orElseGet(() -> digest(savedModel)));
        return new ModelSpec(id, version, inputShape, overrides.probabilitiesOutput(), taps);
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

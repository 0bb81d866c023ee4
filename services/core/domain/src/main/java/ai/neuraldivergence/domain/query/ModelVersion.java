package ai.neuraldivergence.domain.query;

/** The model a query reads, and its version: empty for the newest one seen. */
public record ModelVersion(String modelId, String version) {

    public ModelVersion {
        if (modelId == null || modelId.isEmpty()) {
            throw new IllegalArgumentException("model_id is required");
        }
        version = version == null ? "" : version;
    }

    public boolean newest() {
        return version.isEmpty();
    }
}

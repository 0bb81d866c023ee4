package ai.neuraldivergence.domain.query;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One observation placed in a selection's distributions: a recent prediction by its instance id, or activations
 * given inline (tap name to values), in the taps asked for (every tap it has when {@code taps} is empty).
 */
public record InstanceQuery(ModelVersion model, String instanceId, Map<String, float[]> inline, Selection against,
        List<String> taps) {

    public InstanceQuery {
        instanceId = instanceId == null ? "" : instanceId;
        inline = inline == null ? Map.of() : new LinkedHashMap<>(inline);
        taps = taps == null ? List.of() : List.copyOf(taps);
        if (instanceId.isEmpty() == inline.isEmpty()) {
            throw new IllegalArgumentException(instanceId.isEmpty() ? "an instance_id or inline activations are "
                    + "required" : "an instance_id or inline activations, not both");
        }
        Queries.require(against, "against");
    }

    public boolean byInstance() {
        return !instanceId.isEmpty();
    }
}

package ai.neuraldivergence.inference.config;

import io.smallrye.config.ConfigSourceInterceptor;
import io.smallrye.config.ConfigSourceInterceptorContext;
import io.smallrye.config.ConfigValue;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Topic names have one set of keys in every service, {@code nd.topics.*} (as the aggregator and the comparison
 * service read them). Inference's earlier keys stay as deprecated aliases: {@code nd.capture.topic} for
 * {@code nd.topics.activations}, {@code nd.capture.inputs-topic} for {@code nd.topics.inputs}, {@code nd.labels.topic}
 * for {@code nd.topics.labels}. Whichever of the two a higher-precedence source sets wins (an environment variable
 * over application.properties, as for any key); an alias that is used is logged once as deprecated.
 */
public final class TopicKeys implements ConfigSourceInterceptor {

    /** Deprecated key to the key that replaces it. */
    static final Map<String, String> DEPRECATED = Map.of("nd.capture.topic", "nd.topics.activations",
            "nd.capture.inputs-topic", "nd.topics.inputs", "nd.labels.topic", "nd.topics.labels");

    private static final Logger LOG = Logger.getLogger(TopicKeys.class);
    private static final Set<String> WARNED = ConcurrentHashMap.newKeySet();

    /** Both ways: a key asked for by either name gets the same answer. */
    private static final Map<String, String> OTHER = both();

    private static Map<String, String> both() {
        Map<String, String> out = new java.util.HashMap<>(DEPRECATED);
        DEPRECATED.forEach((old, current) -> out.put(current, old));
        return Map.copyOf(out);
    }

    @Override
    public ConfigValue getValue(ConfigSourceInterceptorContext context, String name) {
        String other = OTHER.get(name);
        if (other == null) {
            return context.proceed(name);
        }
        String oldKey = DEPRECATED.containsKey(name) ? name : other;
        String currentKey = DEPRECATED.containsKey(name) ? other : name;
        ConfigValue deprecated = context.proceed(oldKey);
        ConfigValue current = context.proceed(currentKey);
        if (current != null && (deprecated == null
                || current.getConfigSourceOrdinal() >= deprecated.getConfigSourceOrdinal())) {
            return current.withName(name);
        }
        if (deprecated == null) {
            return null;
        }
        // a mapping's own default (the lowest precedence there is) is no user's setting of the old key
        if (deprecated.getConfigSourceOrdinal() > Integer.MIN_VALUE && WARNED.add(oldKey)) {
            LOG.warnf("configuration key %s (from %s) is deprecated: use %s", oldKey,
                    deprecated.getConfigSourceName(), currentKey);
        }
        return deprecated.withName(name);
    }
}

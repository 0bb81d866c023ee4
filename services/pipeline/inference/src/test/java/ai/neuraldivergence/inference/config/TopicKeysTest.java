package ai.neuraldivergence.inference.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Inference's old topic keys are aliases of the nd.topics.* keys every service reads. */
class TopicKeysTest {

    /** application.properties (ordinal 250) and the environment (300), as a service sees them. */
    private static SmallRyeConfig config(Map<String, String> file, Map<String, String> environment) {
        return new SmallRyeConfigBuilder().withInterceptors(new TopicKeys())
                .withSources(new PropertiesConfigSource(file, "application.properties", 250))
                .withSources(new PropertiesConfigSource(environment, "environment", 300)).build();
    }

    @Test
    void theNewKeyIsReadByEitherName() {
        SmallRyeConfig c = config(Map.of("nd.topics.activations", "a1"), Map.of());
        assertEquals("a1", c.getValue("nd.topics.activations", String.class));
        assertEquals("a1", c.getValue("nd.capture.topic", String.class));
    }

    @Test
    void anOldKeyStillWorksWhereNoNewOneIsSet() {
        SmallRyeConfig c = config(Map.of("nd.capture.inputs-topic", "in-old", "nd.labels.topic", "labels-old"),
                Map.of());
        assertEquals("in-old", c.getValue("nd.topics.inputs", String.class));
        assertEquals("labels-old", c.getValue("nd.topics.labels", String.class));
        assertEquals("labels-old", c.getValue("nd.labels.topic", String.class));
    }

    @Test
    void theSourceOfHigherPrecedenceWinsWhicheverNameItUses() {
        // the shipped file sets the new key; an operator's environment still names the old one
        SmallRyeConfig c = config(Map.of("nd.topics.activations", "nd.activations"),
                Map.of("nd.capture.topic", "team-a.activations"));
        assertEquals("team-a.activations", c.getValue("nd.topics.activations", String.class));
        // both set at the same precedence: the new key wins
        SmallRyeConfig same = config(Map.of("nd.topics.labels", "new", "nd.labels.topic", "old"), Map.of());
        assertEquals("new", same.getValue("nd.topics.labels", String.class));
    }
}

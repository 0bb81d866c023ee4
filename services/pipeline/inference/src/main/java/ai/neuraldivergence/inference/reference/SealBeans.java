package ai.neuraldivergence.inference.reference;

import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Makes the seal follower a bean, started with the service and closed at shutdown. */
public class SealBeans {

    @Produces
    @Singleton
    @io.quarkus.runtime.Startup
    SealedReferences sealedReferences(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig,
            @ConfigProperty(name = "nd.topics.reference-seals", defaultValue = "nd.reference-seals") String topic) {
        SealedReferences seals = new SealedReferences(kafkaConfig, topic);
        seals.start();
        return seals;
    }

    void close(@Disposes SealedReferences seals) {
        seals.close();
    }
}

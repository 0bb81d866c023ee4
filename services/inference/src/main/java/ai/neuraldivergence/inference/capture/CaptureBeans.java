package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.inference.config.CaptureConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Map;

/** Makes the framework-free capture pipeline a bean, closed (queue drained, producer flushed) at shutdown. */
public class CaptureBeans {

    @Produces
    @Singleton
    CapturePipeline capturePipeline(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig,
            CaptureConfig config, MeterRegistry registry) {
        return new CapturePipeline(kafkaConfig, config, registry);
    }

    void close(@Disposes CapturePipeline pipeline) {
        pipeline.close();
    }
}

package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.inference.config.CaptureConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.jboss.logging.Logger;

/** Makes the framework-free capture pipeline a bean, closed (queue drained, producer flushed) at shutdown. */
public class CaptureBeans {

    private static final Logger LOG = Logger.getLogger(CaptureBeans.class);

    @Produces
    @Singleton
    CapturePipeline capturePipeline(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig,
            CaptureConfig config, MeterRegistry registry) {
        CapturePipeline pipeline = new CapturePipeline(kafkaConfig, config, registry);
        // the topic's own limit, read in the background: serving must not wait for Kafka, which may be away
        Thread reader = new Thread(() -> readTopicLimit(kafkaConfig, config.topic(), pipeline),
                "capture-topic-limit");
        reader.setDaemon(true);
        reader.start();
        return pipeline;
    }

    /** Lowers the pipeline's record limit to the topic's {@code max.message.bytes}; retried while Kafka is away. */
    static void readTopicLimit(Map<String, Object> kafkaConfig, String topic, CapturePipeline pipeline) {
        Map<String, Object> c = new java.util.HashMap<>(kafkaConfig);
        c.keySet().retainAll(AdminClientConfig.configNames());
        c.put(AdminClientConfig.CLIENT_ID_CONFIG, "nd-inference-topic-limit");
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        for (int attempt = 0; attempt < 30; attempt++) {
            try (Admin admin = Admin.create(c)) {
                ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
                Config config = admin.describeConfigs(List.of(resource)).all().get(15, TimeUnit.SECONDS)
                        .get(resource);
                ConfigEntry limit = config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
                if (limit != null && limit.value() != null) {
                    pipeline.topicAccepts(Integer.parseInt(limit.value()));
                }
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                // the topic may not exist yet (it is created on first use) or Kafka may be away: try again later
                LOG.debugf("reading %s's record limit: %s", topic, e.toString());
            }
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    void close(@Disposes CapturePipeline pipeline) {
        pipeline.close();
    }
}

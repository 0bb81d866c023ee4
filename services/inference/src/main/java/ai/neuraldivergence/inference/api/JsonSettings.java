package ai.neuraldivergence.inference.api;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * A {@code null} where a number belongs (a pixel, an activation) is a client's mistake, not a zero: Jackson would
 * read it as 0 into a primitive array and the observation would be recorded wrong. Refused with a 400 instead.
 */
@Singleton
public class JsonSettings implements ObjectMapperCustomizer {

    @Override
    public void customize(ObjectMapper mapper) {
        mapper.enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    }
}

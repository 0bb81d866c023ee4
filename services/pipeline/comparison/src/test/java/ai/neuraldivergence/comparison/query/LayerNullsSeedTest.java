package ai.neuraldivergence.comparison.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.neuraldivergence.domain.Slice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A null resampled on demand (a slice, a time range, a reference still being built) is seeded by what its scope names
 * alone: two replicas, or one after a restart, resample it alike and apply the same threshold to the same question.
 * Each replica here is a JVM of its own that has hashed a different number of objects by identity before (as two
 * services do, whatever ran first), which is what moved an enum's hash, and with it a seed taken from hashCode.
 */
class LayerNullsSeedTest {

    static final LayerNulls.Scope SLICE = new LayerNulls.Scope("m", "1", "dense1", "training",
            Instant.parse("2026-12-01T10:00:00Z"), true, null, null, Slice.predictedClass(3));
    static final LayerNulls.Scope RANGE = new LayerNulls.Scope("m", "1", "dense1", null, null, false,
            Instant.parse("2026-12-01T10:00:00Z"), Instant.parse("2026-12-01T12:00:00Z"), Slice.tag("source", "cam"));

    /** One replica: hashes {@code args[0]} objects by identity, then prints both scopes' seeds. */
    public static void main(String[] args) {
        for (int i = 0; i < Integer.parseInt(args[0]); i++) {
            new Object().hashCode();
        }
        System.out.println(LayerNulls.seed(SLICE) + " " + LayerNulls.seed(RANGE));
    }

    @Test
    void everyReplicaSeedsAScopeAlike() throws Exception {
        String here = LayerNulls.seed(SLICE) + " " + LayerNulls.seed(RANGE);
        for (int hashedBefore : List.of(0, 1, 5, 40)) {
            assertEquals(here, replica(hashedBefore), "a replica that hashed " + hashedBefore + " objects first");
        }
    }

    @Test
    void scopesThatDifferResampleApart() {
        assertNotEquals(LayerNulls.seed(SLICE), LayerNulls.seed(RANGE));
        assertNotEquals(LayerNulls.seed(SLICE), LayerNulls.seed(new LayerNulls.Scope("m", "1", "dense1", "training",
                Instant.parse("2026-12-01T10:00:00Z"), true, null, null, Slice.predictedClass(4))));
        // a reference made again under its name is another one
        assertNotEquals(LayerNulls.seed(SLICE), LayerNulls.seed(new LayerNulls.Scope("m", "1", "dense1", "training",
                Instant.parse("2026-12-02T10:00:00Z"), true, null, null, Slice.predictedClass(3))));
    }

    /**
     * Ranges that read the same hours of sample are one scope: ending at 10:00:10 and at 10:00:50 they share a kept
     * comparison, and were seeded apart, so each replica kept the verdict of whichever it was asked first.
     */
    @Test
    void rangesReadingTheSameHoursAreOneScope() {
        ai.neuraldivergence.domain.TapDescriptor tap = new ai.neuraldivergence.domain.TapDescriptor("m", "1",
                "dense1", 0, new int[] {4}, 4, ai.neuraldivergence.domain.Reduction.NONE);
        Instant from = Instant.parse("2026-12-01T08:20:00Z");
        LayerNulls.Scope early = LayerNulls.scopeOf(tap, new ai.neuraldivergence.domain.query.Selection.Range(from,
                Instant.parse("2026-12-01T10:00:10Z"), Slice.ALL), null);
        LayerNulls.Scope late = LayerNulls.scopeOf(tap, new ai.neuraldivergence.domain.query.Selection.Range(from,
                Instant.parse("2026-12-01T10:00:50Z"), Slice.ALL), null);
        assertEquals(early, late);
        assertEquals(LayerNulls.seed(early), LayerNulls.seed(late));
        assertEquals(Instant.parse("2026-12-01T11:00:00Z"), early.to(), "the hour 10:00 is read: it starts before");
        // ending on the hour, that hour is not read, and the scope says so
        assertEquals(Instant.parse("2026-12-01T10:00:00Z"), LayerNulls.scopeOf(tap,
                new ai.neuraldivergence.domain.query.Selection.Range(from, Instant.parse("2026-12-01T10:00:00Z"),
                        Slice.ALL), null).to());
    }

    private static String replica(int hashedBefore) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), LayerNullsSeedTest.class.getName(),
                String.valueOf(hashedBefore)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("the replica JVM failed: " + out);
        }
        return out;
    }
}

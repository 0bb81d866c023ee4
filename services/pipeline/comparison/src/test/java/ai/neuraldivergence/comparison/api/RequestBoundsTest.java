package ai.neuraldivergence.comparison.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.comparison.query.NotFoundException;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.InspectInstanceRequest;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.Slice;
import ai.neuraldivergence.proto.v1.Tag;
import ai.neuraldivergence.proto.v1.TimeRange;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Every request's strings (length, no control character) and timestamps are bounded before a query runs, the problem named by its field path and
 * never quoted; an error's description stays short, and an internal one says nothing of the inside.
 */
class RequestBoundsTest {

    private static final Timestamp NOW = Timestamp.newBuilder().setSeconds(1_800_000_000L).build();

    @Test
    void aHundredKilobyteModelIdIsNamedNotQuoted() {
        String id = "m".repeat(100_000);
        Optional<String> p = RequestBounds.problem(CompareRequest.newBuilder().setModelId(id).build(), "");
        assertEquals(Optional.of("model_id has 100000 characters; a string may have at most 256"), p);
    }

    @Test
    void stringsAreCheckedWhereverTheyAreNested() {
        Selection a = Selection.newBuilder().setSlice(Slice.newBuilder().setTag(Tag.newBuilder().setKey("source")
                .setValue("v".repeat(257)))).setReference("training").build();
        assertEquals(Optional.of("a.slice.tag.value has 257 characters; a string may have at most 256"),
                RequestBounds.problem(CompareRequest.newBuilder().setModelId("mnist").setA(a).build(), ""));
        InspectInstanceRequest taps = InspectInstanceRequest.newBuilder().setModelId("mnist").addTaps("conv1")
                .addTaps("t".repeat(300)).build();
        assertEquals(Optional.of("taps[1] has 300 characters; a string may have at most 256"),
                RequestBounds.problem(taps, ""));
        String atTheLimit = "x".repeat(256);
        assertFalse(RequestBounds.problem(CompareRequest.newBuilder().setModelId(atTheLimit).setTap(atTheLimit)
                .setA(Selection.newBuilder().setReference(atTheLimit)).build(), "").isPresent());
    }

    @Test
    void aControlCharacterInAnyStringIsNamedNotPassedToTheDatabase() {
        // a NUL reached PostgreSQL, which refuses it in text: the call failed as INTERNAL
        assertEquals(Optional.of("name holds a control character (U+0000 at 1); names, ids and tags may not"),
                RequestBounds.problem(ai.neuraldivergence.proto.v1.MonitorHistoryRequest.newBuilder()
                        .setName("a\u0000").build(), ""));
        Selection a = Selection.newBuilder().setSlice(Slice.newBuilder().setTag(Tag.newBuilder().setKey("source")
                .setValue("cam\n1"))).setReference("training").build();
        assertEquals(Optional.of("a.slice.tag.value holds a control character (U+000A at 3); names, ids and tags "
                + "may not"), RequestBounds.problem(CompareRequest.newBuilder().setModelId("mnist").setA(a).build(),
                        ""));
        assertEquals(Optional.of("taps[0] holds a control character (U+007F at 0); names, ids and tags may not"),
                RequestBounds.problem(InspectInstanceRequest.newBuilder().setModelId("mnist").addTaps("\u007fx")
                        .build(), ""));
        // what is not a control character passes: a name in any script, a tag value with spaces
        assertFalse(RequestBounds.problem(CompareRequest.newBuilder().setModelId("modèle ü 模型").setA(Selection
                .newBuilder().setReference("training set 2")).build(), "").isPresent());
    }

    @Test
    void timestampsOutsideProtobufsRangeAreNamedByTheirField() {
        for (Timestamp bad : new Timestamp[] {
            Timestamp.newBuilder().setSeconds(253_402_300_800L).build(), // 10000-01-01
            Timestamp.newBuilder().setSeconds(-62_135_596_801L).build(), // 0000-12-31T23:59:59
            Timestamp.newBuilder().setSeconds(0).setNanos(-1).build(),
            Timestamp.newBuilder().setSeconds(0).setNanos(1_000_000_000).build()}) {
            CompareRequest r = CompareRequest.newBuilder().setModelId("mnist").setA(Selection.newBuilder()
                    .setReference("training")).setB(Selection.newBuilder().setTimeRange(TimeRange.newBuilder()
                            .setFrom(NOW).setTo(bad))).build();
            Optional<String> p = RequestBounds.problem(r, "");
            assertTrue(p.isPresent() && p.get().startsWith("b.time_range.to must lie in 0001-01-01T00:00:00Z.."),
                    bad + ": " + p);
        }
        Timestamp first = Timestamp.newBuilder().setSeconds(ai.neuraldivergence.wire.WireMapping.MIN_TIMESTAMP.getEpochSecond()).build();
        Timestamp last = Timestamp.newBuilder().setSeconds(ai.neuraldivergence.wire.WireMapping.MAX_TIMESTAMP.getEpochSecond())
                .setNanos(999_999_999).build();
        assertFalse(RequestBounds.problem(CompareRequest.newBuilder().setB(Selection.newBuilder().setTimeRange(
                TimeRange.newBuilder().setFrom(first).setTo(last))).build(), "").isPresent());
    }

    @Test
    void descriptionsQuotingAClientsValueStayShort() {
        Status s = GrpcErrors.status("Compare", new NotFoundException("model '" + "m".repeat(100_000)
                + "' has no version"));
        assertEquals(Status.Code.NOT_FOUND, s.getCode());
        assertTrue(s.getDescription().length() <= 512, s.getDescription().length() + " characters");
        assertTrue(s.getDescription().endsWith("(100023 characters)"), s.getDescription());
    }

    @Test
    void anInternalErrorCarriesNoInternals() {
        RuntimeException sql = new IllegalStateException("query failed", new java.sql.SQLException(
                "ERROR: relation \"tap_window\" does not exist\n  Position: 15", "42P01"));
        Status s = GrpcErrors.status("Compare", sql);
        assertEquals(Status.Code.INTERNAL, s.getCode());
        assertTrue(s.getDescription().matches("Compare failed: internal error [0-9a-f]+ \\(the service's log has "
                + "the details\\)"), s.getDescription());
        Status again = GrpcErrors.status("Compare", sql);
        assertFalse(again.getDescription().equals(s.getDescription()), "each error has its own id");
    }
}

package ai.neuraldivergence.comparison.service;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.Slice;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import org.junit.jupiter.api.Test;

/**
 * A watch's slices match the updates of those slices however the request spells them: the aggregator announces the
 * slice all as {@code {all: true}}, and a request that asked for it as {@code {}} or {@code {all: false}} (both
 * accepted as the slice all) received nothing, for ever.
 */
class WatchFilterTest {

    private static WatchEvent update(Slice slice) {
        return WatchEvent.newBuilder().setWindowUpdate(WindowUpdate.newBuilder().setModelId("m").setTap("dense1")
                .setSlice(slice)).build();
    }

    private static WatchRequest asking(Slice slice) {
        WatchRequest r = WatchRequest.newBuilder().setModelId("m").addSlices(slice).build();
        WatchFilter.validate(r);
        return r;
    }

    @Test
    void theSliceAllMatchesHoweverItIsSpelled() {
        WatchEvent all = update(Slice.newBuilder().setAll(true).build());
        assertTrue(WatchFilter.matches(asking(Slice.getDefaultInstance()), all), "{}");
        assertTrue(WatchFilter.matches(asking(Slice.newBuilder().setAll(false).build()), all), "{all: false}");
        assertTrue(WatchFilter.matches(asking(Slice.newBuilder().setAll(true).build()), all), "{all: true}");
        assertFalse(WatchFilter.matches(asking(Slice.getDefaultInstance()),
                update(Slice.newBuilder().setPredictedClass(3).build())), "the slice all is not predicted=3");
    }

    @Test
    void otherSlicesMatchOnlyThemselves() {
        WatchRequest three = asking(Slice.newBuilder().setPredictedClass(3).build());
        assertTrue(WatchFilter.matches(three, update(Slice.newBuilder().setPredictedClass(3).build())));
        assertFalse(WatchFilter.matches(three, update(Slice.newBuilder().setPredictedClass(4).build())));
        assertFalse(WatchFilter.matches(three, update(Slice.newBuilder().setTrueLabel(3).build())));
    }
}

package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import ai.neuraldivergence.wire.WireMapping;

/** What a watch request asks for: a model (empty: every model), taps and slices (empty: all), and monitors. */
public final class WatchFilter {

    private WatchFilter() {
    }

    /** Refuses a request that could never match anything. */
    public static void validate(WatchRequest request) {
        for (String tap : request.getTapsList()) {
            if (tap.isEmpty()) {
                throw new IllegalArgumentException("taps must not hold an empty name");
            }
        }
        request.getSlicesList().forEach(WireMapping::slice);
    }

    /**
     * Whether a slice asked for is the update's, compared as slices, not as messages: the slice all may be asked as
     * {@code {}} or {@code {all: false}}, which validate accepts and the aggregator never sends (a stream that asked
     * so stayed empty for ever).
     */
    private static boolean asked(WatchRequest r, ai.neuraldivergence.proto.v1.Slice slice) {
        ai.neuraldivergence.domain.Slice updated = WireMapping.slice(slice);
        for (ai.neuraldivergence.proto.v1.Slice s : r.getSlicesList()) {
            if (WireMapping.slice(s).equals(updated)) {
                return true;
            }
        }
        return false;
    }

    public static boolean matches(WatchRequest r, WatchEvent e) {
        return switch (e.getEventCase()) {
            case WINDOW_UPDATE -> {
                var u = e.getWindowUpdate();
                yield (r.getModelId().isEmpty() || r.getModelId().equals(u.getModelId()))
                        && (r.getTapsCount() == 0 || r.getTapsList().contains(u.getTap()))
                        && (r.getSlicesCount() == 0 || asked(r, u.getSlice()));
            }
            case MONITOR_TRANSITION -> {
                var m = e.getMonitorTransition().getMonitor();
                yield r.getIncludeMonitors() && (r.getModelId().isEmpty() || r.getModelId().equals(m.getModelId()))
                        && (r.getTapsCount() == 0 || r.getTapsList().contains(m.getTap()));
            }
            default -> false;
        };
    }
}

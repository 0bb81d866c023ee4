package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;

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
        request.getSlicesList().forEach(ai.neuraldivergence.wire.WireMapping::slice);
    }

    public static boolean matches(WatchRequest r, WatchEvent e) {
        return switch (e.getEventCase()) {
            case WINDOW_UPDATE -> {
                var u = e.getWindowUpdate();
                yield (r.getModelId().isEmpty() || r.getModelId().equals(u.getModelId()))
                        && (r.getTapsCount() == 0 || r.getTapsList().contains(u.getTap()))
                        && (r.getSlicesCount() == 0 || r.getSlicesList().contains(u.getSlice()));
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

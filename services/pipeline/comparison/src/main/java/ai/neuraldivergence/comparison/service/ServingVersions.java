package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.comparison.query.NotFoundException;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import java.time.Instant;
import java.util.List;
import java.util.NavigableMap;
import java.util.Optional;

/**
 * Which version of a model serves a monitor's tap at a minute, so that a rollout moves the monitor to the new version
 * as its traffic takes over.
 */
final class ServingVersions {

    /** The tap as that version lays it out, and its observations per minute in the span read. */
    record Located(TapDescriptor tap, NavigableMap<Instant, Long> counts) {
    }

    private final CatalogStore catalog;
    private final TapWindowStore windows;

    ServingVersions(CatalogStore catalog, TapWindowStore windows) {
        this.catalog = catalog;
        this.windows = windows;
    }

    /**
     * The tap as the version serving it at {@code end} lays it out: the version holding most of the tap's
     * observations in the minute ending there (else in {@code [from, end)}; the newest on a tie).
     */
    Located locate(MonitorDefinition d, String tap, Instant from, Instant end) {
        List<String> versions = catalog.versionNames(d.modelId());
        if (versions.isEmpty()) {
            throw new NotFoundException("model '" + d.modelId() + "' has no stored distributions");
        }
        Located best = null;
        long bestMinute = -1;
        long bestSpan = -1;
        Instant minute = end.minusSeconds(60);
        for (String version : versions) {
            Optional<TapDescriptor> descriptor = catalog.find(d.modelId(), version, tap);
            if (descriptor.isEmpty()) {
                continue;
            }
            NavigableMap<Instant, Long> counts = windows.minuteCounts(descriptor.get(), d.slice(), from, end);
            long inMinute = counts.getOrDefault(minute, 0L);
            long inSpan = counts.values().stream().mapToLong(Long::longValue).sum();
            if (inMinute > bestMinute || inMinute == bestMinute && inSpan > bestSpan) {
                best = new Located(descriptor.get(), counts);
                bestMinute = inMinute;
                bestSpan = inSpan;
            }
        }
        if (best == null) {
            throw new NotFoundException("model '" + d.modelId() + "' has no tap '" + tap + "'");
        }
        return best;
    }
}

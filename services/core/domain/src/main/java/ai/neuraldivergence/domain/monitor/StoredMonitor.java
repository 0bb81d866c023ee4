package ai.neuraldivergence.domain.monitor;

import java.time.Instant;

/**
 * A monitor as stored: its definition, where it was defined, and its generation, which increases whenever what it
 * measures changes (its state then starts over).
 */
public record StoredMonitor(MonitorDefinition definition, Source source, long generation, String updatedBy,
        Instant updatedAt) {

    /** Where a monitor was defined: through the API, or in the comparison service's configuration. */
    public enum Source {
        API, CONFIG;

        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}

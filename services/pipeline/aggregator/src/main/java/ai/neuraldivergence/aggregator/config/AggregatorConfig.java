package ai.neuraldivergence.aggregator.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.time.Duration;
import java.util.Set;

/** The aggregator's settings (application.properties, prefix {@code nd.aggregator}). */
@ConfigMapping(prefix = "nd.aggregator")
public interface AggregatorConfig {

    /** Off in tests that only exercise the HTTP surface. */
    @WithDefault("true")
    boolean enabled();

    /** Kafka consumer group; every aggregator instance of one deployment shares it. */
    @WithDefault("nd-aggregator")
    String consumerGroup();

    /**
     * How often what arrived is appended to PostgreSQL (as window deltas) together with the offsets: an observation
     * is visible to readers within about this long of its record.
     */
    @WithDefault("500ms")
    Duration flushInterval();

    /**
     * Observations kept per tap for each hour window and each reference (block 0's, where a tap stored in several
     * blocks has its projections), as their projections on the layer statistic's directions: the calibration sample
     * the comparison service resamples for its null. 0: none kept.
     */
    @WithName("calibration-sample-size")
    @WithDefault("2000")
    int calibrationSampleSize();

    /**
     * The most one tap's sample of an hour or a reference may hold, at 512 bytes an observation (its 128 projections,
     * whatever the tap's width): 2M holds 4,096, more than the default size.
     */
    @WithName("calibration-sample-max-bytes")
    @WithDefault("2M")
    io.quarkus.runtime.configuration.MemorySize calibrationSampleMaxBytes();

    /**
     * The most one tap's sample of an hour or a reference keeps of its members' neuron values (4 bytes a neuron), from
     * which the mean KS's null is resampled: its smallest-ranked members keep them. 1M: a 128-neuron tap's values for
     * the whole sample, a 1,024-neuron tap's for 256 members (the fewest resampled; a wider tap's fewer, so the
     * analytic bound). A tap stored in several blocks keeps none (no block holds a whole observation). 0: none kept,
     * and calibrated KS monitors use the analytic bound.
     */
    @WithName("calibration-sample-value-bytes")
    @WithDefault("1M")
    io.quarkus.runtime.configuration.MemorySize calibrationSampleValueBytes();

    /** KLL sketch size: larger is more accurate and bigger (~1.33 % rank error at 200). */
    @WithDefault("200")
    int sketchK();

    /** Tag keys whose values become slices. Other tags are kept on observations but not sliced by. */
    @WithDefault("source,attack,eps,dataset")
    Set<String> sliceTagKeys();

    /** Distinct values a slice tag may take before further values are refused (and counted). */
    @WithDefault("64")
    int maxValuesPerTag();

    /**
     * Bytes of heap the unflushed delta may hold (raw activations, one row per observation and tap, and what refers
     * to them); a record that would take it past the budget is preceded by an early flush. The flush itself needs
     * about twice the largest stored row of a tap on top (see the README's memory table).
     */
    @WithDefault("32M")
    io.quarkus.runtime.configuration.MemorySize maxPendingBytes();

    /**
     * The most windows (tap, slice and minute, a tap's blocks counted once; references per block) one delta may hold
     * before it is flushed early. Each
     * window written takes an advisory lock until its transaction ends, and PostgreSQL's lock table is shared and
     * fixed in size ({@code max_locks_per_transaction} x ({@code max_connections} + prepared transactions)): a
     * flush takes at most about three locks per window (the window, its exemplars, a late minute's hour and day)
     * plus 1,024 instance buckets (see the README).
     */
    @WithName("max-windows-per-flush")
    @WithDefault("1000")
    int maxWindowsPerFlush();

    /**
     * The most neurons a tap may have; batches of wider taps are dead-lettered. Each neuron of a minute row costs
     * up to about 2.4 KB per slice in use, so the default's rows stay under 40 MB.
     */
    @WithName("max-neurons-per-tap")
    @WithDefault("16384")
    int maxNeuronsPerTap();

    /**
     * Neurons per block of a tap first registered by a batch that declares no block size: each block of a tap is a
     * row of its own in every table, a delta, a fold and a Kafka record of its own (see the README). A tap keeps the
     * block size it was registered with; changing this affects new taps only.
     */
    @WithName("block-size")
    @WithDefault("1024")
    int blockSize();

    /** How far after its record's timestamp an observation's event time may lie (clocks drift); later: invalid. */
    @WithDefault("5m")
    Duration futureSkew();

    /** How long to wait before retrying after a failed flush or poll, doubled up to {@link #maxRetryBackoff}. */
    @WithDefault("500ms")
    Duration retryBackoff();

    @WithDefault("30s")
    Duration maxRetryBackoff();

    /**
     * A delta's write has not ended, or the consumer thread has neither polled nor started over, for this long: a call
     * that does not return (a database read on a connection nothing answers, say). Logged with the consumer's and the
     * writer's stacks, and counted ({@code nd_aggregator_consumer_stalls_total}).
     */
    @WithDefault("60s")
    Duration stallWarning();

    /**
     * Stuck this long: liveness DOWN, so that Kubernetes restarts the pod (its partitions have gone to another
     * instance by then: Kafka's {@code max.poll.interval.ms} is 5 minutes).
     */
    @WithDefault("5m")
    Duration stallTimeout();

    /**
     * How long after its event time an observation may reach the aggregator (measured against its Kafka record's
     * timestamp, so that a replay decides alike) and still enter its window; later ones are counted and dropped.
     */
    @WithDefault("15m")
    Duration allowedLateness();

    /**
     * How long a late label (LabelEvent) is kept for an observation that has not arrived yet. The observations
     * themselves wait for their label in the recent-observation store, kept at least this long too.
     */
    @WithDefault("15m")
    Duration labelHorizon();

    /**
     * How often the watermark is read and acted on: the deltas of complete minutes folded into their rows, hours and
     * days whose last minute is final built, delta partitions made ahead and retired.
     */
    @WithDefault("5s")
    Duration rollupInterval();

    /** The recent-observation store: every live observation's taps and captured inputs, bounded. */
    Recent recent();

    interface Recent {
        /** How long observations and inputs are kept (at least the label horizon for observations). */
        @WithDefault("1h")
        Duration ttl();

        /**
         * At most this many observation rows (one per observation and tap) are kept; the oldest go first. With
         * 5 taps the default keeps the last 50,000 observations.
         */
        @WithDefault("250000")
        long maxObservationRows();

        /** At most this many captured inputs are kept; the oldest go first. */
        @WithDefault("50000")
        long maxInputs();

        /**
         * The share of labelled, unpaired observations kept (drawn by a hash of the instance id). Unlabelled
         * observations are always kept (they wait for a late label), and so are pairs. Keeping every observation
         * costs about a third of the aggregator's throughput at thousands of observations per second (see the
         * README's benchmark).
         */
        @WithDefault("0.02")
        double sampleRate();

        /** How often the TTL and caps are enforced: the store may overshoot a cap by what arrives meanwhile. */
        @WithDefault("30s")
        Duration checkInterval();
    }

    /** Sealing references (see SealReference). */
    References references();

    interface References {
        /**
         * How long after SealReference a reference whose taps have not all reached the expected count waits: then
         * it is sealed with what it holds, and the shortfall is logged, counted and shown by ListReferences.
         */
        @WithDefault("10m")
        Duration sealTimeout();

        /** How often seals that are due (complete, or timed out) are made and published. */
        @WithDefault("2s")
        Duration sealCheckInterval();

        /**
         * How often sealed references are looked for whose layer null (the layer statistic's null resampled from the
         * reference's calibration sample) is still to compute. Until it is stored, the reference is calibrating:
         * comparisons and monitors against it use the analytic bound.
         */
        @WithDefault("15s")
        Duration layerNullCheckInterval();

        /**
         * How long an aggregator holds a layer null it computes (seconds of one core per tap): past it, another takes
         * it over (one that died meanwhile leaves nothing undone).
         */
        @WithDefault("10m")
        Duration layerNullLease();
    }

    /** How long stored windows are kept, per granularity (see the sizing table in the README). */
    Retention retention();

    interface Retention {
        @WithDefault("12h")
        Duration minute();

        @WithDefault("35d")
        Duration hour();

        @WithDefault("400d")
        Duration day();

        /** Stored bytes one retention statement deletes (at least one row): bounds its WAL and locks. */
        @WithDefault("64M")
        io.quarkus.runtime.configuration.MemorySize batchBytes();

        /** How often expired windows are deleted. */
        @WithDefault("10m")
        Duration checkInterval();
    }
}

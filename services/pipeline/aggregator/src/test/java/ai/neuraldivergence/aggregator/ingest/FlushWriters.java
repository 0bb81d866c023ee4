package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.LateLabelStore;
import ai.neuraldivergence.storage.OffsetStore;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.WindowDeltaStore;
import javax.sql.DataSource;

/**
 * Flush writers for the tests that run without the application: each on stores of its own, as an aggregator process
 * has (two of them stand for two instances).
 */
public final class FlushWriters {

    private FlushWriters() {
    }

    /** A writer whose minutes are never final, with sketches of the default size. */
    public static FlushWriter of(DataSource ds, String consumerGroup) {
        return of(ds, consumerGroup, NeuronDistribution.DEFAULT_K, FlushWriter.Finality.NONE, new DeltaPartitions(ds));
    }

    /** A writer whose flushes add to the calibration samples through {@code samples}. */
    public static FlushWriter withSamples(DataSource ds, String consumerGroup, CalibrationSamples samples) {
        return new FlushWriter(ds, consumerGroup, NeuronDistribution.DEFAULT_K, FlushWriter.Finality.NONE,
                stores(ds, NeuronDistribution.DEFAULT_K, new DeltaPartitions(ds)), samples);
    }

    /** A writer that makes and knows window-delta partitions through {@code partitions}. */
    public static FlushWriter of(DataSource ds, String consumerGroup, int sketchK, FlushWriter.Finality finality,
            DeltaPartitions partitions) {
        return new FlushWriter(ds, consumerGroup, sketchK, finality, stores(ds, sketchK, partitions));
    }

    private static FlushWriter.Stores stores(DataSource ds, int sketchK, DeltaPartitions partitions) {
        return new FlushWriter.Stores(new CatalogStore(ds),
                new TapWindowStore(ds, sketchK), new WindowDeltaStore(), partitions,
                new DeltaPartitions(ds, DeltaPartitions.EXEMPLARS), new OffsetStore(), new ReferenceStore(ds),
                new ai.neuraldivergence.storage.SealStore(ds), new LateLabelStore(ds), new RecentObservationStore(ds),
                new ExemplarStore(ds));
    }
}

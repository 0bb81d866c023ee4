package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.config.Stores;
import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.LateLabelStore;
import ai.neuraldivergence.storage.OffsetStore;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.SealStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.WindowDeltaStore;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Set;

/** Makes the framework-free flush writer a bean, on the process's stores ({@link Stores}). */
@ApplicationScoped
public class IngestBeans {

    /**
     * The consumer group's flush writer: a delta's minute is final once the watermark of the activation and label
     * partitions is past its end plus the allowed lateness (or the recent store's ttl, within which a late label
     * joins).
     */
    @Produces
    @Singleton
    FlushWriter flushWriter(@Identifier(Stores.READS_BOUNDED) javax.sql.DataSource dataSource, AggregatorConfig config,
            Topics topics,
            CatalogStore catalog, TapWindowStore windows, WindowDeltaStore deltas, DeltaPartitions deltaPartitions,
            @Identifier(Stores.EXEMPLAR_DELTAS) DeltaPartitions exemplarPartitions, OffsetStore offsets,
            ReferenceStore references, SealStore seals, LateLabelStore lateLabels, RecentObservationStore recent,
            ExemplarStore exemplars, CalibrationSampleStore samples) {
        return new FlushWriter(dataSource, config.consumerGroup(), config.sketchK(),
                new FlushWriter.Finality(CompactionJob.finality(config), Set.of(topics.activations(),
                        topics.labels()), config.recent().ttl()),
                new FlushWriter.Stores(catalog, windows, deltas, deltaPartitions, exemplarPartitions, offsets,
                        references, seals, lateLabels, recent, exemplars),
                new CalibrationSamples(samples, config.calibrationSampleSize(),
                        config.calibrationSampleMaxBytes().asLongValue(),
                        config.calibrationSampleValueBytes().asLongValue()));
    }
}

package ai.neuraldivergence.aggregator.config;

import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.LateLabelStore;
import ai.neuraldivergence.storage.LayerNullStore;
import ai.neuraldivergence.storage.OffsetStore;
import ai.neuraldivergence.storage.ReadTimeout;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.SealStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.WindowDeltaStore;
import ai.neuraldivergence.storage.WindowRetention;
import io.agroal.api.AgroalDataSource;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * The stores of nd-storage, one of each per process, for the beans that use them. Several remember which of their
 * table's partitions exist: shared, a partition one of them retires or makes is known to the others too (each still
 * asks the database again when a write finds one missing).
 */
@ApplicationScoped
public class Stores {

    /** Qualifies the data source every store and job of the aggregator uses. */
    public static final String READS_BOUNDED = "reads-bounded";

    /**
     * The data source every store and job of the aggregator uses, its reads bounded ({@link ReadTimeout}): one
     * place, so that no path can miss the bound. Flyway migrates through the bare one.
     */
    @Produces
    @Singleton
    @Identifier(READS_BOUNDED)
    javax.sql.DataSource boundedDataSource(AgroalDataSource dataSource) {
        return ReadTimeout.bounding(dataSource);
    }

    /** Qualifies the partitions of {@code exemplar_delta}; unqualified {@link DeltaPartitions} are window deltas'. */
    public static final String EXEMPLAR_DELTAS = DeltaPartitions.EXEMPLARS;

    @Produces
    @Singleton
    CatalogStore catalog(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new CatalogStore(dataSource);
    }

    /** New rows get sketches of {@code nd.aggregator.sketch-k}. */
    @Produces
    @Singleton
    TapWindowStore windows(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource, AggregatorConfig config) {
        return new TapWindowStore(dataSource, config.sketchK());
    }

    @Produces
    @Singleton
    WindowDeltaStore deltas() {
        return new WindowDeltaStore();
    }

    @Produces
    @Singleton
    DeltaPartitions deltaPartitions(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new DeltaPartitions(dataSource);
    }

    @Produces
    @Singleton
    @Identifier(EXEMPLAR_DELTAS)
    DeltaPartitions exemplarDeltaPartitions(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new DeltaPartitions(dataSource, DeltaPartitions.EXEMPLARS);
    }

    @Produces
    @Singleton
    OffsetStore offsets() {
        return new OffsetStore();
    }

    @Produces
    @Singleton
    ReferenceStore references(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new ReferenceStore(dataSource);
    }

    @Produces
    @Singleton
    SealStore seals(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new SealStore(dataSource);
    }

    @Produces
    @Singleton
    LateLabelStore lateLabels(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new LateLabelStore(dataSource);
    }

    @Produces
    @Singleton
    RecentObservationStore recent(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new RecentObservationStore(dataSource);
    }

    @Produces
    @Singleton
    ExemplarStore exemplars(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new ExemplarStore(dataSource);
    }

    @Produces
    @Singleton
    WindowRetention retention(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new WindowRetention(dataSource);
    }

    @Produces
    @Singleton
    CalibrationSampleStore samples(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new CalibrationSampleStore(dataSource);
    }

    @Produces
    @Singleton
    LayerNullStore layerNulls(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new LayerNullStore(dataSource);
    }
}

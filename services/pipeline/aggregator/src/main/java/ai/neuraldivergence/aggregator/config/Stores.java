package ai.neuraldivergence.aggregator.config;

import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.LateLabelStore;
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

    private javax.sql.DataSource bounded;

    /** The data source, its reads bounded ({@link ReadTimeout}); Flyway migrates through the bare one. */
    private synchronized javax.sql.DataSource bounded(AgroalDataSource dataSource) {
        if (bounded == null) {
            bounded = ReadTimeout.bounding(dataSource);
        }
        return bounded;
    }

    /** Qualifies the partitions of {@code exemplar_delta}; unqualified {@link DeltaPartitions} are window deltas'. */
    public static final String EXEMPLAR_DELTAS = DeltaPartitions.EXEMPLARS;

    @Produces
    @Singleton
    CatalogStore catalog(AgroalDataSource dataSource) {
        return new CatalogStore(bounded(dataSource));
    }

    /** New rows get sketches of {@code nd.aggregator.sketch-k}. */
    @Produces
    @Singleton
    TapWindowStore windows(AgroalDataSource dataSource, AggregatorConfig config) {
        return new TapWindowStore(bounded(dataSource), config.sketchK());
    }

    @Produces
    @Singleton
    WindowDeltaStore deltas() {
        return new WindowDeltaStore();
    }

    @Produces
    @Singleton
    DeltaPartitions deltaPartitions(AgroalDataSource dataSource) {
        return new DeltaPartitions(bounded(dataSource));
    }

    @Produces
    @Singleton
    @Identifier(EXEMPLAR_DELTAS)
    DeltaPartitions exemplarDeltaPartitions(AgroalDataSource dataSource) {
        return new DeltaPartitions(bounded(dataSource), DeltaPartitions.EXEMPLARS);
    }

    @Produces
    @Singleton
    OffsetStore offsets() {
        return new OffsetStore();
    }

    @Produces
    @Singleton
    ReferenceStore references(AgroalDataSource dataSource) {
        return new ReferenceStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    SealStore seals(AgroalDataSource dataSource) {
        return new SealStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    LateLabelStore lateLabels(AgroalDataSource dataSource) {
        return new LateLabelStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    RecentObservationStore recent(AgroalDataSource dataSource) {
        return new RecentObservationStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    ExemplarStore exemplars(AgroalDataSource dataSource) {
        return new ExemplarStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    WindowRetention retention(AgroalDataSource dataSource) {
        return new WindowRetention(bounded(dataSource));
    }
}

package ai.neuraldivergence.comparison.config;

import ai.neuraldivergence.storage.CallDeadline;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.MonitorStore;
import ai.neuraldivergence.storage.ReadTimeout;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.SealStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.WindowDeltaStore;
import ai.neuraldivergence.storage.WindowRollups;
import io.agroal.api.AgroalDataSource;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * The stores the comparison service reads, one of each, on the service's data source (its read-mostly role), every
 * statement bounded by the deadline of the call it answers ({@link CallDeadline}) and every read by
 * {@link ReadTimeout}.
 */
@ApplicationScoped
public class Stores {

    /** Qualifies the service's data source with its reads bounded ({@link ReadTimeout}). */
    public static final String READS_BOUNDED = "reads-bounded";

    private javax.sql.DataSource bounded;

    /**
     * The service's data source, its reads bounded ({@link ReadTimeout}): what every store and background read uses,
     * so that no path can miss the bound. Flyway migrates through the bare one.
     */
    @Produces
    @Singleton
    @Identifier(READS_BOUNDED)
    javax.sql.DataSource readsBounded(AgroalDataSource dataSource) {
        return ReadTimeout.bounding(dataSource);
    }

    private synchronized javax.sql.DataSource bounded(javax.sql.DataSource readsBounded) {
        if (bounded == null) {
            // the call's deadline cancels a statement the server is working on; the read timeout gives up on a
            // server that stopped answering (a cancel reaches no one then), so that no worker waits forever
            bounded = CallDeadline.bounding(readsBounded);
        }
        return bounded;
    }

    @Produces
    @Singleton
    CatalogStore catalog(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new CatalogStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    TapWindowStore windows(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new TapWindowStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    WindowRollups rollups(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource, TapWindowStore windows) {
        return new WindowRollups(bounded(dataSource), windows);
    }

    @Produces
    @Singleton
    WindowDeltaStore deltas(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new WindowDeltaStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    ReferenceStore references(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new ReferenceStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    SealStore seals(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new SealStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    RecentObservationStore recent(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new RecentObservationStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    ExemplarStore exemplars(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new ExemplarStore(bounded(dataSource));
    }

    /** Calibration samples: a Compare or timeline reads them for the layer statistic's null, within its deadline. */
    @Produces
    @Singleton
    ai.neuraldivergence.storage.CalibrationSampleStore calibrationSamples(
            @Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new ai.neuraldivergence.storage.CalibrationSampleStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    ai.neuraldivergence.storage.LayerNullStore layerNulls(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new ai.neuraldivergence.storage.LayerNullStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    MonitorStore monitors(@Identifier(READS_BOUNDED) javax.sql.DataSource dataSource) {
        return new MonitorStore(bounded(dataSource));
    }
}

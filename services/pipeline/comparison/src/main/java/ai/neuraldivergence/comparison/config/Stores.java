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

    private javax.sql.DataSource bounded;

    private synchronized javax.sql.DataSource bounded(AgroalDataSource dataSource) {
        if (bounded == null) {
            // the call's deadline cancels a statement the server is working on; the read timeout gives up on a
            // server that stopped answering (a cancel reaches no one then), so that no worker waits forever
            bounded = CallDeadline.bounding(ReadTimeout.bounding(dataSource));
        }
        return bounded;
    }

    @Produces
    @Singleton
    CatalogStore catalog(AgroalDataSource dataSource) {
        return new CatalogStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    TapWindowStore windows(AgroalDataSource dataSource) {
        return new TapWindowStore(bounded(dataSource));
    }

    @Produces
    @Singleton
    WindowRollups rollups(AgroalDataSource dataSource, TapWindowStore windows) {
        return new WindowRollups(bounded(dataSource), windows);
    }

    @Produces
    @Singleton
    WindowDeltaStore deltas(AgroalDataSource dataSource) {
        return new WindowDeltaStore(bounded(dataSource));
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
    MonitorStore monitors(AgroalDataSource dataSource) {
        return new MonitorStore(bounded(dataSource));
    }
}

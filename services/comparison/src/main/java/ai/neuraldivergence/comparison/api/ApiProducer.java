package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.config.ComparisonConfig;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Singleton;
import jakarta.enterprise.inject.Produces;

/** One {@link ComparisonApi} for both transports. */
@ApplicationScoped
public class ApiProducer {

    @Produces
    @Singleton
    ComparisonApi api(AgroalDataSource dataSource, ComparisonConfig config) {
        return new ComparisonApi(dataSource, config.sketchK());
    }

    @Produces
    @Singleton
    ai.neuraldivergence.comparison.auth.ApiTokens tokens(ComparisonConfig config) {
        return new ai.neuraldivergence.comparison.auth.ApiTokens(config.auth().tokens());
    }
}

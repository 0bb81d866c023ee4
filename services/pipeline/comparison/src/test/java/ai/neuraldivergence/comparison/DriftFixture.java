package ai.neuraldivergence.comparison;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import com.google.protobuf.Timestamp;
import java.sql.Connection;
import java.time.Instant;
import java.util.Random;
import javax.sql.DataSource;

/**
 * Stored windows whose drift is known by construction: model version v2 with taps conv1 (3 neurons) and dense1
 * (2 neurons), 60 observations a minute of N(0, 1) per neuron. From minute 10 on, dense1's neuron 0 moves up by 2
 * (excited) and neuron 1 down by 2 (inhibited); conv1 does not move. Version v3 has a dense1 of another shape.
 * dense1's windows of the slice all carry the layer statistic's feature sums; conv1's do not (rows stored before).
 */
final class DriftFixture {

    static final Instant T0 = Instant.parse("2026-11-27T10:00:00Z");
    static final int PER_MINUTE = 60;

    private DriftFixture() {
    }

    static void seed(DataSource dataSource, String model) throws Exception {
        CatalogStore catalog = new CatalogStore(dataSource);
        TapWindowStore windows = new TapWindowStore(dataSource);
        TapDescriptor conv = new TapDescriptor(model, "v2", "conv1", 0, new int[] {4, 4, 3}, 3, Reduction.MAX);
        TapDescriptor dense = new TapDescriptor(model, "v2", "dense1", 1, new int[] {2}, 2, Reduction.NONE);
        TapDescriptor denseV3 = new TapDescriptor(model, "v3", "dense1", 1, new int[] {4}, 4, Reduction.NONE);
        Random random = new Random(42);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            catalog.register(c, conv);
            catalog.register(c, dense);
            for (int m = 0; m < 20; m++) {
                Instant start = T0.plusSeconds(60L * m);
                TapDistribution dc = new TapDistribution(3, 200);
                // dense1's windows sum the layer's features, as the aggregator's do; conv1's are rows stored before
                // them
                TapDistribution dd = ai.neuraldivergence.domain.LayerFeatures.start(new TapDistribution(2, 200),
                        model, "dense1", null, 0);
                TapDistribution dd0 = new TapDistribution(2, 200);
                for (int i = 0; i < PER_MINUTE; i++) {
                    dc.add(new float[] {(float) random.nextGaussian(), (float) random.nextGaussian(),
                        (float) random.nextGaussian()}, 0);
                    double shift = m >= 10 ? 2 : 0;
                    float[] d = {(float) (random.nextGaussian() + shift), (float) (random.nextGaussian() - shift)};
                    dd.add(d, 0);
                    if (i % 2 == 0) {
                        dd0.add(d, 0);
                    }
                }
                windows.merge(c, new WindowKey(model, "v2", "conv1", Slice.ALL, Granularity.MINUTE, start), dc);
                windows.merge(c, new WindowKey(model, "v2", "dense1", Slice.ALL, Granularity.MINUTE, start), dd);
                windows.merge(c, new WindowKey(model, "v2", "dense1", Slice.predictedClass(0), Granularity.MINUTE,
                        start), dd0);
            }
            c.commit();
        }
        // v3 comes later, with a wider dense1
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            catalog.register(c, denseV3);
            TapDistribution d = new TapDistribution(4, 200);
            d.add(new float[] {1, 2, 3, 4}, 0);
            windows.merge(c, new WindowKey(model, "v3", "dense1", Slice.ALL, Granularity.MINUTE, T0), d);
            c.commit();
        }
    }

    /**
     * Non-finite activations as data: version v1 with tap dense1 of 3 neurons, A in minute 0 (10 observations), B in
     * minute 1 (15 observations), every sketch exact (fewer values than k):
     * <ul>
     * <li>neuron 0: A is 1..10; B is 1..10 too, then 3 NaN and 2 +Inf. The finite values agree; only the extended
     * order (-Inf < finite < +Inf < NaN) tells the sides apart.
     * <li>neuron 1: A is 0..9; B is NaN only (15), so that W1 and the mean shift are undefined.
     * <li>neuron 2: A is -Inf, then 1..9; B is 1..15.
     * </ul>
     */
    static void seedNonFinite(DataSource dataSource, String model) throws Exception {
        TapDescriptor dense = new TapDescriptor(model, "v1", "dense1", 0, new int[] {3}, 3, Reduction.NONE);
        TapDistribution a = new TapDistribution(3, 200);
        for (int i = 0; i < 10; i++) {
            a.add(new float[] {i + 1, i, i == 0 ? Float.NEGATIVE_INFINITY : i}, 0);
        }
        TapDistribution b = new TapDistribution(3, 200);
        for (int i = 0; i < 15; i++) {
            float first = i < 10 ? i + 1 : i < 13 ? Float.NaN : Float.POSITIVE_INFINITY;
            b.add(new float[] {first, Float.NaN, i + 1}, 0);
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            new CatalogStore(dataSource).register(c, dense);
            TapWindowStore windows = new TapWindowStore(dataSource);
            windows.merge(c, new WindowKey(model, "v1", "dense1", Slice.ALL, Granularity.MINUTE, T0), a);
            windows.merge(c, new WindowKey(model, "v1", "dense1", Slice.ALL, Granularity.MINUTE, T0.plusSeconds(60)),
                    b);
            c.commit();
        }
    }

    static Timestamp ts(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    static Selection minutes(int from, int to) {
        return Selection.newBuilder().setTimeRange(TimeRange.newBuilder().setFrom(ts(T0.plusSeconds(60L * from)))
                .setTo(ts(T0.plusSeconds(60L * to)))).build();
    }

    static Selection reference(String name) {
        return Selection.newBuilder().setReference(name).build();
    }
}

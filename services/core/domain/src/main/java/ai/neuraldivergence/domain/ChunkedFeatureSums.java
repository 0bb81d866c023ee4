package ai.neuraldivergence.domain;

import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The layer feature sums of a batch of rows, into one group (a distribution's rows) or several (a delta's slices), each
 * row projected once whatever the number of groups it is in. A projection is D x N multiply-adds: a large batch is
 * summed in chunks on every core (the common fork-join pool) and merged in chunk order, so that the sums do not depend
 * on which thread took which chunk.
 */
final class ChunkedFeatureSums {

    /** Below this many multiply-adds (rows x neurons x directions) a batch is one chunk: forking costs more. */
    private static final long PARALLEL_WORK = 3_200_000;
    /** What the chunks may hold in sums at once (10 KB a group each): many groups make fewer chunks. */
    private static final long CHUNK_SUMS_BYTES = 8L << 20;

    /** Whether row {@code row} is in group {@code group}. */
    @FunctionalInterface
    interface Membership {
        boolean in(int row, int group);
    }

    private ChunkedFeatureSums() {
    }

    /** Each group's sums through {@code map}, in group order. */
    static FeatureSums[] sum(RandomFeatureMap map, List<float[]> rows, int groups, Membership membership) {
        return sum(map, rows, false, groups, membership);
    }

    /**
     * Each group's sums through {@code map}, in group order, of rows that are the observations' values or, where
     * {@code projected}, their projections on the map's directions ({@link RandomFeatureMap#projection}).
     */
    static FeatureSums[] sum(RandomFeatureMap map, List<float[]> rows, boolean projected, int groups,
            Membership membership) {
        int d = RandomFeatureMap.DIRECTIONS;
        long sumsPerChunk = Math.max(1L, (long) groups * map.bandwidths() * 2 * d * Double.BYTES);
        // a projected row costs its cos and sin alone
        long work = projected ? (long) map.bandwidths() * 2 : map.neurons();
        int chunks = (long) rows.size() * work * d < PARALLEL_WORK ? 1
                : (int) Math.max(1, Math.min(Math.min(rows.size(),
                        4 * java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + 4),
                        CHUNK_SUMS_BYTES / sumsPerChunk));
        int size = (rows.size() + chunks - 1) / chunks;
        IntStream range = IntStream.range(0, chunks);
        FeatureSums[][] parts = (chunks > 1 ? range.parallel() : range)
                .mapToObj(c -> chunk(map, rows, projected, groups, membership, c * size,
                        Math.min(rows.size(), (c + 1) * size)))
                .toArray(FeatureSums[][]::new);
        FeatureSums[] out = parts[0];
        for (int c = 1; c < parts.length; c++) {
            for (int g = 0; g < groups; g++) {
                out[g].merge(parts[c][g]);
            }
        }
        return out;
    }

    private static FeatureSums[] chunk(RandomFeatureMap map, List<float[]> rows, boolean projected, int groups,
            Membership membership, int from, int to) {
        FeatureSums[] out = new FeatureSums[groups];
        for (int g = 0; g < groups; g++) {
            out[g] = new FeatureSums(map.bandwidths());
        }
        double[] scratch = new double[RandomFeatureMap.DIRECTIONS];
        double[] features = new double[map.bandwidths() * 2 * RandomFeatureMap.DIRECTIONS];
        for (int r = from; r < to; r++) {
            boolean finite = projected ? FeatureSums.featuresOfProjection(map, rows.get(r), scratch, features)
                    : FeatureSums.features(map, rows.get(r), scratch, features);
            for (int g = 0; g < groups; g++) {
                if (!membership.in(r, g)) {
                    continue;
                }
                if (finite) {
                    out[g].addFeatures(features);
                } else {
                    out[g].addNonFinite();
                }
            }
        }
        return out;
    }
}

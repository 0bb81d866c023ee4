package ai.neuraldivergence.domain.mmd;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The feature maps in use, rebuilt from their seeds on demand and kept while they are used: a map is 128 directions
 * of N weights (2 MB at 4,096 neurons), and every fold of a tap's rows needs its tap's. Bounded in bytes (least
 * recently used out first), so that a model with many taps costs recomputation, never the heap. Thread-safe.
 */
public final class FeatureMaps {

    /** What the kept maps may hold together. */
    static final long MAX_BYTES = 32L << 20;

    private record Key(long seed, int neurons, float[] scales) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.seed == seed && k.neurons == neurons
                    && java.util.Arrays.equals(k.scales, scales);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(seed) * 31 + neurons * 17 + java.util.Arrays.hashCode(scales);
        }
    }

    private static final Map<Key, RandomFeatureMap> KEPT = new LinkedHashMap<>(16, 0.75f, true);
    private static long keptBytes;

    private FeatureMaps() {
    }

    /**
     * The map of a seed, width and neuron scales.
     *
     * @param scales each neuron's declared scale ({@link ai.neuraldivergence.domain.TapDescriptor#featureScales}),
     *     or null for 1 everywhere
     */
    public static RandomFeatureMap of(long seed, int neurons, float[] scales) {
        // looked up with the caller's array (every fold asks), kept with a copy of it
        Key key = new Key(seed, neurons, scales);
        synchronized (KEPT) {
            RandomFeatureMap kept = KEPT.get(key);
            if (kept != null) {
                return kept;
            }
        }
        // built outside the lock: two threads may build the same map, which is the same map
        RandomFeatureMap built = RandomFeatureMap.of(seed, neurons, widened(scales));
        long bytes = bytes(built);
        synchronized (KEPT) {
            if (KEPT.putIfAbsent(new Key(seed, neurons, scales == null ? null : scales.clone()), built) == null) {
                keptBytes += bytes;
            }
            var it = KEPT.entrySet().iterator();
            while (keptBytes > MAX_BYTES && KEPT.size() > 1 && it.hasNext()) {
                var eldest = it.next();
                if (eldest.getKey().equals(key)) {
                    continue;
                }
                keptBytes -= bytes(eldest.getValue());
                it.remove();
            }
            return KEPT.get(key);
        }
    }

    private static double[] widened(float[] scales) {
        if (scales == null) {
            return null;
        }
        double[] out = new double[scales.length];
        for (int i = 0; i < scales.length; i++) {
            out[i] = scales[i];
        }
        return out;
    }

    private static long bytes(RandomFeatureMap map) {
        return 64L + 4L * RandomFeatureMap.DIRECTIONS * Math.min(map.neurons(), RandomFeatureMap.DENSE_LIMIT * 2L)
                * (map.neurons() > RandomFeatureMap.DENSE_LIMIT ? 2 : 1) + 4L * map.neurons();
    }
}

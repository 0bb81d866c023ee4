package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DistributionCodecTest {

    private static TapDistribution filled(int neurons, int observations, long seed) {
        TapDistribution tap = new TapDistribution(neurons, NeuronDistribution.DEFAULT_K);
        Random random = new Random(seed);
        float[] row = new float[neurons];
        for (int o = 0; o < observations; o++) {
            for (int n = 0; n < neurons; n++) {
                // ReLU-like: a third exact zeros, the rest spread out per neuron
                row[n] = random.nextInt(3) == 0 ? 0f : (float) Math.abs(random.nextGaussian() * (n + 1));
            }
            tap.add(row, 0);
        }
        return tap;
    }

    @Test
    void roundTripKeepsEveryByte() {
        // past k items the sketch compacts: covers both the exact and the estimation mode
        for (int observations : new int[] {1, 150, 5_000}) {
            TapDistribution tap = filled(7, observations, observations);
            byte[] bytes = DistributionCodec.encode(tap);
            TapDistribution back = DistributionCodec.decode(bytes);
            assertArrayEquals(bytes, DistributionCodec.encode(back));
            assertEquals(observations, back.observationCount());
            for (int n = 0; n < 7; n++) {
                assertEquals(tap.neuron(n).count(), back.neuron(n).count());
                assertEquals(tap.neuron(n).zeroCount(), back.neuron(n).zeroCount());
                assertEquals(tap.neuron(n).quantile(0.5), back.neuron(n).quantile(0.5));
            }
        }
    }

    @Test
    void rejectsBytesThatAreNotATapDistribution() {
        byte[] good = DistributionCodec.encode(filled(3, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> DistributionCodec.decode("hello".getBytes()));
        assertThrows(IllegalArgumentException.class,
                () -> DistributionCodec.decode(Arrays.copyOf(good, good.length - 5)));
        byte[] longer = Arrays.copyOf(good, good.length + 1);
        assertThrows(IllegalArgumentException.class, () -> DistributionCodec.decode(longer));
        byte[] otherVersion = good.clone();
        otherVersion[3] = 99;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DistributionCodec.decode(otherVersion));
        assertEquals("unsupported tap distribution format version 99", e.getMessage());
    }
}

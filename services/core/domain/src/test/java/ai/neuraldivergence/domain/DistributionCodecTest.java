package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void nonFiniteCountsAndNeuronsWithoutFiniteValuesRoundTrip() {
        TapDistribution tap = new TapDistribution(3, NeuronDistribution.DEFAULT_K);
        tap.add(new float[] {1f, Float.NaN, Float.POSITIVE_INFINITY}, 0);
        tap.add(new float[] {Float.NEGATIVE_INFINITY, Float.NaN, 0f}, 0);
        byte[] bytes = DistributionCodec.encode(tap);
        TapDistribution back = DistributionCodec.decode(bytes);
        assertArrayEquals(bytes, DistributionCodec.encode(back));
        assertEquals(2, back.observationCount());
        assertEquals(1, back.neuron(0).count());
        assertEquals(1, back.neuron(0).negativeInfinityCount());
        assertEquals(0, back.neuron(1).count());
        assertEquals(2, back.neuron(1).nanCount());
        assertEquals(0, back.neuron(1).sketchCount());
        assertEquals(1, back.neuron(2).positiveInfinityCount());
        assertEquals(1, back.neuron(2).zeroCount());
        // a decoded neuron without a sketch still takes values and merges
        back.merge(tap);
        assertEquals(4, back.neuron(1).nanCount());
        back.neuron(1).update(3f);
        assertEquals(1, back.neuron(1).count());
    }

    @Test
    void aNeuronWithFewValuesTakesItsValuesAndAFlag() {
        TapDistribution sparse = new TapDistribution(1_000, NeuronDistribution.DEFAULT_K);
        float[] row = new float[1_000];
        java.util.Arrays.fill(row, 0.5f);
        sparse.add(row, 0);
        sparse.add(row, 0);
        byte[] bytes = DistributionCodec.encode(sparse);
        // header 18 bytes, then per neuron a flags byte, a count and two floats (before compression, which takes
        // these 1,000 equal neurons to almost nothing)
        assertEquals(18 + 1_000 * (1 + 4 + 8), DistributionCodec.encodeRaw(sparse).length);
        assertTrue(bytes.length < 1_000);
        TapDistribution back = DistributionCodec.decode(bytes);
        assertEquals(2, back.neuron(999).count());
        assertEquals(1.0, back.neuron(999).sum());
        assertEquals(0.5f, back.neuron(999).max());
        assertEquals(0.5, back.neuron(999).quantile(0.5));
    }

    @Test
    void rowsWrittenBeforeNonFiniteCountsDecodeWithZeroCounts() {
        TapDistribution tap = filled(4, 300, 7);
        TapDistribution back = DistributionCodec.decode(versionOne(tap));
        assertEquals(300, back.observationCount());
        for (int n = 0; n < 4; n++) {
            assertEquals(tap.neuron(n).count(), back.neuron(n).count());
            assertEquals(tap.neuron(n).sum(), back.neuron(n).sum());
            assertEquals(0, back.neuron(n).nonFiniteCount());
            assertEquals(tap.neuron(n).quantile(0.3), back.neuron(n).quantile(0.3));
        }
        // and are written back in the current version, which decodes alike
        assertArrayEquals(DistributionCodec.encode(back), DistributionCodec.encode(DistributionCodec.decode(
                DistributionCodec.encode(back))));
    }

    /** The layout of format version 1, written independently of the codec. */
    private static byte[] versionOne(TapDistribution tap) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        header.put(new byte[] {'N', 'D', 'T', 1}).putLong(tap.observationCount()).putInt(tap.neuronCount());
        bytes.writeBytes(header.array());
        for (int i = 0; i < tap.neuronCount(); i++) {
            NeuronDistribution n = tap.neuron(i);
            byte[] sketch = org.apache.datasketches.kll.KllFloatsSketch.heapify(
                    org.apache.datasketches.memory.Memory.wrap(sketchBytes(tap, i))).toByteArray();
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(44).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            b.putLong(n.count()).putDouble(n.sum()).putDouble(n.sumOfSquares()).putFloat(n.min()).putFloat(n.max())
                    .putLong(n.zeroCount()).putInt(sketch.length);
            bytes.writeBytes(b.array());
            bytes.writeBytes(sketch);
        }
        return bytes.toByteArray();
    }

    private static byte[] sketchBytes(TapDistribution tap, int neuron) {
        return tap.neuron(neuron).sketch().toByteArray();
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

    @Test
    void postReluRowsAreStoredCompressedDenseOnesAsTheyAreAndBothDecode() {
        java.util.Random random = new java.util.Random(7);
        TapDistribution relu = new TapDistribution(300, 200);
        TapDistribution dense = new TapDistribution(300, 200);
        float[] r = new float[300];
        float[] d = new float[300];
        for (int o = 0; o < 1000; o++) {
            for (int j = 0; j < 300; j++) {
                double g = random.nextGaussian();
                r[j] = g < 0 ? 0f : (float) (g * (1 + j % 7));
                d[j] = (float) (j + random.nextGaussian());
            }
            relu.add(r, 0);
            dense.add(d, 0);
        }
        byte[] reluBytes = DistributionCodec.encode(relu);
        assertEquals('Z', reluBytes[2], "post-ReLU sketches (runs of zeros) are compressed");
        assertTrue(reluBytes.length < DistributionCodec.encodeRaw(relu).length * 0.8, "by a fifth at least");
        assertArrayEquals(DistributionCodec.encodeRaw(relu), DistributionCodec.encodeRaw(
                DistributionCodec.decode(reluBytes)));
        byte[] denseBytes = DistributionCodec.encode(dense);
        assertEquals('T', denseBytes[2], "dense sketches hardly shrink: stored as they are");
        // rows written before compression decode as before
        assertEquals(1000, DistributionCodec.decode(DistributionCodec.encodeRaw(relu)).observationCount());
        // a damaged compressed row is the store's fault, named as such
        byte[] damaged = reluBytes.clone();
        for (int i = 20; i < damaged.length; i += 7) {
            damaged[i] ^= 0x5a;
        }
        assertThrows(DistributionCodec.CorruptDistributionException.class, () -> DistributionCodec.decode(damaged));
        byte[] truncated = java.util.Arrays.copyOf(reluBytes, reluBytes.length / 2);
        assertThrows(DistributionCodec.CorruptDistributionException.class, () -> DistributionCodec.decode(truncated));
    }
}

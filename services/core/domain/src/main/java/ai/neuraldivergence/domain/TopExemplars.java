package ai.neuraldivergence.domain;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Per neuron, the k observations that excite it most (Summit's "dataset examples"): their activations and
 * instance ids, highest first. Mergeable: the top k of a union is the top k of the parts' top k.
 */
public final class TopExemplars {

    public static final int DEFAULT_K = 8;

    private final int k;
    private final float[][] activations;
    private final String[][] ids;
    private final int[] sizes;

    public TopExemplars(int neurons, int k) {
        this.k = k;
        this.activations = new float[neurons][k];
        this.ids = new String[neurons][k];
        this.sizes = new int[neurons];
    }

    public int neuronCount() {
        return sizes.length;
    }

    /** Considers one observation's activation of a neuron; a non-finite value excites nothing. */
    public void offer(int neuron, float activation, String instanceId) {
        if (!Float.isFinite(activation)) {
            return;
        }
        float[] a = activations[neuron];
        String[] id = ids[neuron];
        int n = sizes[neuron];
        if (n == k && activation <= a[k - 1]) {
            return;
        }
        int at = n == k ? k - 1 : n;
        while (at > 0 && a[at - 1] < activation) {
            a[at] = a[at - 1];
            id[at] = id[at - 1];
            at--;
        }
        a[at] = activation;
        id[at] = instanceId;
        if (n < k) {
            sizes[neuron] = n + 1;
        }
    }

    public void merge(TopExemplars other) {
        if (other.neuronCount() != neuronCount()) {
            throw new IllegalArgumentException("cannot merge exemplars of " + other.neuronCount() + " neurons into "
                    + neuronCount());
        }
        for (int n = 0; n < sizes.length; n++) {
            for (int i = 0; i < other.sizes[n]; i++) {
                offer(n, other.activations[n][i], other.ids[n][i]);
            }
        }
    }

    /**
     * The entries of {@code candidates} that would enter this top k (all of a neuron's while it holds fewer than k):
     * what a writer that knows this much of a minute must still store. Empty neurons cost nothing but their count.
     */
    public TopExemplars entering(TopExemplars candidates) {
        if (candidates.neuronCount() != neuronCount()) {
            throw new IllegalArgumentException("exemplars of " + candidates.neuronCount() + " neurons against "
                    + neuronCount());
        }
        TopExemplars out = new TopExemplars(sizes.length, k);
        for (int n = 0; n < sizes.length; n++) {
            float bar = sizes[n] < k ? Float.NEGATIVE_INFINITY : activations[n][k - 1];
            for (int i = 0; i < candidates.sizes[n]; i++) {
                if (candidates.activations[n][i] > bar) {
                    out.offer(n, candidates.activations[n][i], candidates.ids[n][i]);
                }
            }
        }
        return out;
    }

    /** Whether no neuron holds an exemplar. */
    public boolean isEmpty() {
        for (int size : sizes) {
            if (size > 0) {
                return false;
            }
        }
        return true;
    }

    /** The instance ids of a neuron's exemplars, highest activation first. */
    public String[] ids(int neuron) {
        return Arrays.copyOf(ids[neuron], sizes[neuron]);
    }

    public float[] activations(int neuron) {
        return Arrays.copyOf(activations[neuron], sizes[neuron]);
    }

    /** Little-endian: k, neuron count, then per neuron its size and (activation, id length, id bytes) entries. */
    public byte[] encode() {
        int size = 8;
        byte[][][] encodedIds = new byte[sizes.length][][];
        for (int n = 0; n < sizes.length; n++) {
            size += 4;
            encodedIds[n] = new byte[sizes[n]][];
            for (int i = 0; i < sizes[n]; i++) {
                encodedIds[n][i] = ids[n][i].getBytes(StandardCharsets.UTF_8);
                size += 4 + 2 + encodedIds[n][i].length;
            }
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(k).putInt(sizes.length);
        for (int n = 0; n < sizes.length; n++) {
            out.putInt(sizes[n]);
            for (int i = 0; i < sizes[n]; i++) {
                out.putFloat(activations[n][i]).putShort((short) encodedIds[n][i].length).put(encodedIds[n][i]);
            }
        }
        return out.array();
    }

    public static TopExemplars decode(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        TopExemplars t = new TopExemplars(in.getInt(4), in.getInt(0));
        in.position(8);
        for (int n = 0; n < t.sizes.length; n++) {
            int size = in.getInt();
            for (int i = 0; i < size; i++) {
                float a = in.getFloat();
                byte[] id = new byte[in.getShort()];
                in.get(id);
                t.activations[n][i] = a;
                t.ids[n][i] = new String(id, StandardCharsets.UTF_8);
            }
            t.sizes[n] = size;
        }
        return t;
    }
}

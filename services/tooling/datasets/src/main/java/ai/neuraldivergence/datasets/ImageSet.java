package ai.neuraldivergence.datasets;

import java.util.Arrays;
import java.util.Random;

/** Labelled 28x28 grayscale images with pixels in [0, 1], row-major, one image after another. */
public final class ImageSet {

    public static final int SIDE = 28;
    public static final int PIXELS = SIDE * SIDE;

    private final float[] pixels;
    private final int[] labels;

    public ImageSet(float[] pixels, int[] labels) {
        if (pixels.length != labels.length * PIXELS) {
            throw new IllegalArgumentException(labels.length + " labels need " + labels.length * PIXELS
                    + " pixels, got " + pixels.length);
        }
        this.pixels = pixels;
        this.labels = labels;
    }

    public int size() {
        return labels.length;
    }

    public int label(int i) {
        return labels[i];
    }

    /** A copy of image {@code i}'s 784 pixels. */
    public float[] image(int i) {
        return Arrays.copyOfRange(pixels, i * PIXELS, (i + 1) * PIXELS);
    }

    /** Copies images {@code [from, from + n)} into {@code target} starting at {@code offset}. */
    public void copyImages(int from, int n, float[] target, int offset) {
        System.arraycopy(pixels, from * PIXELS, target, offset, n * PIXELS);
    }

    /** The two parts of a seeded shuffle: the first {@code share} of the images and the rest. */
    public Split split(double share, long seed) {
        Integer[] order = new Integer[size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Collections.shuffle(Arrays.asList(order), new Random(seed));
        int first = (int) Math.round(order.length * share);
        return new Split(select(order, 0, first), select(order, first, order.length));
    }

    private ImageSet select(Integer[] order, int from, int to) {
        float[] p = new float[(to - from) * PIXELS];
        int[] l = new int[to - from];
        for (int i = from; i < to; i++) {
            System.arraycopy(pixels, order[i] * PIXELS, p, (i - from) * PIXELS, PIXELS);
            l[i - from] = labels[order[i]];
        }
        return new ImageSet(p, l);
    }

    /** A train/test pair. */
    public record Split(ImageSet train, ImageSet test) {
    }
}

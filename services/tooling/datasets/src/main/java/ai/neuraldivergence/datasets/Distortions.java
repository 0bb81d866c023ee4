package ai.neuraldivergence.datasets;

import java.util.Random;

/**
 * The distorted digits the platform is shown as out-of-distribution input: the local run's traffic sends them, and
 * the detection benchmark records the model's activations on them. One definition, so that both mean the same.
 */
public final class Distortions {

    /** The noise's standard deviation, in pixel units. */
    public static final double NOISE_SD = 0.3;

    private Distortions() {
    }

    /** The image with Gaussian noise of {@link #NOISE_SD} added to every pixel, clamped to [0, 1]. */
    public static float[] noisy(float[] image, Random random) {
        float[] x = image.clone();
        for (int j = 0; j < x.length; j++) {
            x[j] = clamp(x[j] + (float) (random.nextGaussian() * NOISE_SD));
        }
        return x;
    }

    /** The image rotated by 30 to 60 degrees either way, drawn from {@code random}. */
    public static float[] rotated(float[] image, Random random) {
        return rotate(image, Math.toRadians((30 + random.nextInt(31)) * (random.nextBoolean() ? 1 : -1)));
    }

    /** Rotates a 28 x 28 image about its centre (bilinear, zero outside). */
    public static float[] rotate(float[] image, double radians) {
        float[] out = new float[image.length];
        double cos = Math.cos(radians);
        double sin = Math.sin(radians);
        double c = 13.5;
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                double sx = cos * (x - c) + sin * (y - c) + c;
                double sy = -sin * (x - c) + cos * (y - c) + c;
                int x0 = (int) Math.floor(sx);
                int y0 = (int) Math.floor(sy);
                double fx = sx - x0;
                double fy = sy - y0;
                out[y * 28 + x] = (float) ((1 - fx) * (1 - fy) * at(image, x0, y0) + fx * (1 - fy) * at(image, x0 + 1,
                        y0) + (1 - fx) * fy * at(image, x0, y0 + 1) + fx * fy * at(image, x0 + 1, y0 + 1));
            }
        }
        return out;
    }

    private static float at(float[] image, int x, int y) {
        return x < 0 || y < 0 || x >= 28 || y >= 28 ? 0f : image[y * 28 + x];
    }

    private static float clamp(float v) {
        return Math.max(0f, Math.min(1f, v));
    }
}

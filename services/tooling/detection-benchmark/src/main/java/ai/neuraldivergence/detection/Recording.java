package ai.neuraldivergence.detection;

import ai.neuraldivergence.datasets.AttackedPair;
import ai.neuraldivergence.datasets.AttackedPairs;
import ai.neuraldivergence.datasets.Distortions;
import ai.neuraldivergence.datasets.ImageSet;
import ai.neuraldivergence.datasets.NpmImages;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.TapDescriptor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * The real model's activations on every input the benchmark draws from, recorded once: each tap as the inference
 * service publishes it by default (a conv tap reduced to its channels' spatial max, through the model's own reduced
 * outputs; a dense tap whole).
 *
 * <p>Pools: {@code benign} (the 2,000 held-out digits), {@code training} (the 8,000 training digits), the attacked
 * inputs of the model builder's pairs ({@code fgsm-0.05}, {@code fgsm-0.10}, {@code pgd-0.05}, {@code pgd-0.10}, 300
 * each), {@code fashion} (2,000 Fashion-MNIST clothes, 200 a class), and the held-out digits {@code noise} (Gaussian,
 * sd 0.3) and {@code rotated} (30 to 60 degrees), as the local run's traffic sends them.
 */
public final class Recording {

    /** One pool: per tap, one row of activations per input. */
    public record Pool(String name, List<float[][]> taps) {

        public int size() {
            return taps.get(0).length;
        }
    }

    private final String modelId;
    private final String modelVersion;
    private final List<TapDescriptor> taps;
    private final Map<String, Pool> pools;

    private Recording(String modelId, String modelVersion, List<TapDescriptor> taps, Map<String, Pool> pools) {
        this.modelId = modelId;
        this.modelVersion = modelVersion;
        this.taps = taps;
        this.pools = pools;
    }

    public List<TapDescriptor> taps() {
        return taps;
    }

    public String modelId() {
        return modelId;
    }

    public String modelVersion() {
        return modelVersion;
    }

    public Pool pool(String name) {
        Pool p = pools.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no pool '" + name + "', recorded: " + pools.keySet());
        }
        return p;
    }

    private static float[] scales(String list) {
        String[] parts = list.split(",");
        float[] out = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Float.parseFloat(parts[i].trim());
        }
        return out;
    }

    /** Runs the model in {@code modelDir} (the model builder's output) on every pool. */
    public static Recording of(Path modelDir, long seed) throws IOException {
        String manifest = Files.readString(modelDir.resolve("manifest.json"));
        String modelId = field(manifest, "modelId");
        String version = field(manifest, "modelVersion");
        List<TapDescriptor> taps = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        Matcher tap = Pattern.compile("\\{\"name\": \"([^\"]+)\", \"index\": (\\d+), \"shape\": \\[([0-9, ]+)\\]"
                + "(, \"reduced\": \\{\"max\": \"([^\"]+)\")?").matcher(manifest);
        while (tap.find()) {
            String[] dims = tap.group(3).split(",\\s*");
            int[] shape = new int[dims.length];
            for (int i = 0; i < dims.length; i++) {
                shape[i] = Integer.parseInt(dims[i]);
            }
            boolean reduced = tap.group(5) != null;
            int neurons = shape[shape.length - 1];
            // the neuron scales the manifest declares for the tap as captured, as the inference service sends them
            String line = manifest.substring(tap.start(), manifest.indexOf('\n', tap.start()) < 0 ? manifest.length()
                    : manifest.indexOf('\n', tap.start()));
            Matcher declared = Pattern.compile("\"neuronScales\": \\{[^}]*\"" + (reduced ? "max" : "none")
                    + "\": \\[([^\\]]*)\\]").matcher(line);
            taps.add(new TapDescriptor(modelId, version, tap.group(1), Integer.parseInt(tap.group(2)), shape,
                    neurons, reduced ? Reduction.MAX : Reduction.NONE, Math.max(1, neurons),
                    declared.find() ? scales(declared.group(1)) : null));
            outputs.add(reduced ? tap.group(5) : tap.group(1));
        }
        if (taps.isEmpty()) {
            throw new IOException(modelDir.resolve("manifest.json") + " lists no taps");
        }
        Map<String, float[][]> images = inputs(modelDir, seed);
        Map<String, Pool> pools = new LinkedHashMap<>();
        loadNatives();
        try (SavedModelBundle bundle = SavedModelBundle.load(modelDir.resolve("saved_model").toString(), "serve")) {
            for (Map.Entry<String, float[][]> e : images.entrySet()) {
                pools.put(e.getKey(), new Pool(e.getKey(), run(bundle, e.getValue(), taps, outputs)));
            }
        }
        return new Recording(modelId, version, List.copyOf(taps), pools);
    }

    private static Map<String, float[][]> inputs(Path modelDir, long seed) throws IOException {
        ImageSet.Split digits = NpmImages.mnist().split(0.8, 1234);
        Map<String, float[][]> out = new LinkedHashMap<>();
        out.put("benign", images(digits.test()));
        out.put("training", images(digits.train()));
        List<AttackedPair> pairs = AttackedPairs.read(modelDir.resolve("attacked-pairs.bin.gz"));
        for (String attack : List.of("fgsm", "pgd")) {
            for (float eps : new float[] {0.05f, 0.1f}) {
                List<float[]> attacked = pairs.stream().filter(p -> p.attack().equals(attack)
                        && Math.abs(p.epsilon() - eps) < 1e-6).map(AttackedPair::attacked).toList();
                if (attacked.isEmpty()) {
                    throw new IOException("the attacked-pair dataset holds no " + attack + " pairs at eps " + eps);
                }
                out.put(String.format(Locale.ROOT, "%s-%.2f", attack, eps), attacked.toArray(float[][]::new));
            }
        }
        out.put("fashion", images(NpmImages.fashionMnist(200)));
        Random random = new Random(seed);
        float[][] benign = out.get("benign");
        float[][] noise = new float[benign.length][];
        float[][] rotated = new float[benign.length][];
        for (int i = 0; i < benign.length; i++) {
            noise[i] = Distortions.noisy(benign[i], random);
            rotated[i] = Distortions.rotated(benign[i], random);
        }
        out.put("noise", noise);
        out.put("rotated", rotated);
        return out;
    }

    private static float[][] images(ImageSet set) {
        float[][] out = new float[set.size()][];
        for (int i = 0; i < set.size(); i++) {
            out[i] = set.image(i);
        }
        return out;
    }

    /** Every tap's rows for {@code images}, in batches of 500. */
    private static List<float[][]> run(SavedModelBundle bundle, float[][] images, List<TapDescriptor> taps,
            List<String> outputs) {
        List<float[][]> rows = new ArrayList<>();
        for (TapDescriptor t : taps) {
            rows.add(new float[images.length][]);
        }
        for (int from = 0; from < images.length; from += 500) {
            int n = Math.min(500, images.length - from);
            float[] x = new float[n * ImageSet.PIXELS];
            for (int i = 0; i < n; i++) {
                System.arraycopy(images[from + i], 0, x, i * ImageSet.PIXELS, ImageSet.PIXELS);
            }
            try (TFloat32 input = TFloat32.tensorOf(Shape.of(n, 28, 28, 1), DataBuffers.of(x, true, false));
                    Result out = bundle.function("serving_default").call(Map.of("input", input))) {
                for (int t = 0; t < taps.size(); t++) {
                    int neurons = taps.get(t).neuronCount();
                    float[] values = new float[n * neurons];
                    ((TFloat32) out.get(outputs.get(t)).orElseThrow()).copyTo(DataBuffers.of(values, false, false));
                    for (int i = 0; i < n; i++) {
                        rows.get(t)[from + i] = java.util.Arrays.copyOfRange(values, i * neurons, (i + 1) * neurons);
                    }
                }
            }
        }
        return rows;
    }

    private static String field(String json, String name) throws IOException {
        Matcher m = Pattern.compile("\"" + name + "\": \"([^\"]+)\"").matcher(json);
        if (!m.find()) {
            throw new IOException("the manifest has no " + name);
        }
        return m.group(1);
    }

    /** TensorFlow's natives from the tensorflow-core-native jar (JavaCPP extracts them once): nothing downloaded. */
    private static void loadNatives() {
        try {
            Class.forName("org.tensorflow.internal.c_api.global.tensorflow", true, Recording.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("tensorflow-core-native (linux-x86_64) is not on the class path", e);
        }
    }
}

package ai.neuraldivergence.modelbuilder;

/**
 * Loads TensorFlow's natives from the {@code tensorflow-core-native} jar on the class path (JavaCPP extracts them
 * once into its cache), so nothing is downloaded at run time.
 */
public final class TensorFlowNatives {

    private TensorFlowNatives() {
    }

    public static synchronized void load() {
        try {
            Class.forName("org.tensorflow.internal.c_api.global.tensorflow", true,
                    TensorFlowNatives.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("tensorflow-core-native (linux-x86_64) is not on the class path", e);
        }
    }
}

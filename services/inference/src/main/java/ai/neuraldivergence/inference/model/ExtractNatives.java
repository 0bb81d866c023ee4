package ai.neuraldivergence.inference.model;

/**
 * Extracts TensorFlow's natives into a JavaCPP cache folder and checks that DJL's engine loads from it; run once
 * when a container image is built (deploy/docker/Dockerfile.inference), so that pods only read that folder.
 * Usage: {@code ExtractNatives <cache folder>}.
 */
public final class ExtractNatives {

    private ExtractNatives() {
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: ExtractNatives <javacpp cache folder>");
        }
        String engine = TensorFlowEngine.load(args[0]).getVersion();
        System.out.println("TensorFlow " + engine + " natives in " + System.getProperty("TENSORFLOW_LIBRARY_PATH"));
    }
}

package ai.neuraldivergence.inference.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * Puts TensorFlow's natives into a folder of their own, once, when a container image is built
 * (deploy/docker/Dockerfile.inference): the image then starts the service with
 * {@code -Dorg.bytedeco.javacpp.pathsFirst=true -Djava.library.path=<folder>}, so that JavaCPP loads them from that
 * read-only folder instead of extracting ~600 MB into each pod (JavaCPP only uses a cache folder it can write).
 * Usage: {@code ExtractNatives <folder>}.
 */
public final class ExtractNatives {

    private ExtractNatives() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: ExtractNatives <folder>");
        }
        Path cache = Files.createTempDirectory("javacpp");
        String version = TensorFlowEngine.load(cache.toString()).getVersion();
        Path loadedFrom = Path.of(System.getProperty("TENSORFLOW_LIBRARY_PATH"));
        Path target = Files.createDirectories(Path.of(args[0]));
        try (Stream<Path> files = Files.list(loadedFrom)) {
            for (Path f : files.toList()) {
                Files.copy(f, target.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        // the extraction served its purpose (loaded libraries stay mapped after their files go)
        try (Stream<Path> all = Files.walk(cache)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        System.out.println("TensorFlow " + version + " natives copied to " + target);
    }
}

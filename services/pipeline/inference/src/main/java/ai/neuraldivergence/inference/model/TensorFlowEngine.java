package ai.neuraldivergence.inference.model;

import ai.djl.engine.Engine;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jboss.logging.Logger;

/**
 * Makes DJL's TensorFlow engine usable offline: JavaCPP extracts and loads TensorFlow's natives from the
 * {@code tensorflow-core-native} jar (once, into its cache), then DJL is pointed at that folder so that it never
 * tries to download an engine. Idempotent.
 */
public final class TensorFlowEngine {

    private static final Logger LOG = Logger.getLogger(TensorFlowEngine.class);

    private TensorFlowEngine() {
    }

    public static synchronized Engine load(String javacppCacheDir) {
        // DJL reads these: no telemetry call home, never download an engine or a model
        System.setProperty("OPT_OUT_TRACKING", System.getProperty("OPT_OUT_TRACKING", "true"));
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        if (javacppCacheDir != null && !javacppCacheDir.isBlank()
                && System.getProperty("org.bytedeco.javacpp.cachedir") == null) {
            // read once, when JavaCPP's Loader first initialises
            System.setProperty("org.bytedeco.javacpp.cachedir", javacppCacheDir);
        }
        ClassLoader javacpp = org.bytedeco.javacpp.Loader.class.getClassLoader();
        try {
            Class.forName("org.tensorflow.internal.c_api.global.tensorflow", true, javacpp);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("tensorflow-core-native (linux-x86_64) is not on the class path", e);
        }
        String dir = null;
        for (String path : org.bytedeco.javacpp.Loader.getLoadedLibraries().values()) {
            if (path == null) {
                continue;
            }
            Path p = Path.of(path);
            // a second class loader in one JVM gets a renamed copy (libjnitensorflow0.so); DJL looks for the original
            if (p.getFileName().toString().matches("libjnitensorflow\\d*\\.so")
                    && Files.isRegularFile(p.resolveSibling("libjnitensorflow.so"))) {
                dir = p.getParent().toString();
            }
        }
        if (dir == null) {
            String earlier = System.getProperty("TENSORFLOW_LIBRARY_PATH");
            if (earlier == null || !Files.isRegularFile(Path.of(earlier, "libjnitensorflow.so"))) {
                throw new IllegalStateException("TensorFlow natives not loaded; JavaCPP loaded "
                        + org.bytedeco.javacpp.Loader.getLoadedLibraries());
            }
            dir = earlier;
        }
        System.setProperty("TENSORFLOW_LIBRARY_PATH", dir);
        // DJL finds engines once per JVM through the thread's context class loader: make it one that sees them
        Thread t = Thread.currentThread();
        ClassLoader previous = t.getContextClassLoader();
        t.setContextClassLoader(TensorFlowEngine.class.getClassLoader());
        try {
            Engine engine = Engine.getEngine("TensorFlow");
            LOG.infof("TensorFlow %s loaded from %s", engine.getVersion(), dir);
            return engine;
        } finally {
            t.setContextClassLoader(previous);
        }
    }
}

package ai.neuraldivergence.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Checks for the Debian packages some tests need (the README's prerequisite line). A missing one fails the test at
 * once, naming the package to install: a test that quietly skips would let CI go green without it.
 */
public final class TestPrerequisites {

    /** Debian's interpreter, where {@code apt-get install python3-*} puts its modules. */
    public static final Path DEBIAN_PYTHON = Path.of("/usr/bin/python3");

    private TestPrerequisites() {
    }

    /** Fails unless {@link #DEBIAN_PYTHON} can import {@code module}, which Debian's {@code debianPackage} provides. */
    public static Path requirePythonModule(String module, String debianPackage) {
        String fix = "; install it with: apt-get install -y " + debianPackage;
        if (!Files.isExecutable(DEBIAN_PYTHON)) {
            throw new AssertionError("missing test prerequisite: " + DEBIAN_PYTHON + fix);
        }
        try {
            Process p = new ProcessBuilder(DEBIAN_PYTHON.toString(), "-c", "import " + module)
                    .redirectErrorStream(true).start();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("missing test prerequisite: python module '" + module + "' (package "
                        + debianPackage + ")" + fix);
            }
        } catch (IOException e) {
            throw new AssertionError("missing test prerequisite: cannot run " + DEBIAN_PYTHON + fix, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while checking for " + debianPackage, e);
        }
        return DEBIAN_PYTHON;
    }
}

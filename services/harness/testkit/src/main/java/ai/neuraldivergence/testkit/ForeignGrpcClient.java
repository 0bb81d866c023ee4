package ai.neuraldivergence.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC client that is not ours: Debian's python3-grpcio, speaking server reflection and the standard health
 * service by hand ({@code grpc_probe.py}), as grpcurl, Kubernetes probes and other languages' clients do.
 */
public final class ForeignGrpcClient {

    private ForeignGrpcClient() {
    }

    /**
     * Lists the server's services, the methods of {@code service} (from its file descriptor) and the health
     * service's answer, as one JSON object. Fails the test when python3-grpcio is missing or the call fails.
     */
    public static String probe(int port, String service) throws IOException, InterruptedException {
        Path python = TestPrerequisites.requirePythonModule("grpc", "python3-grpcio");
        Path script = Files.createTempFile("grpc_probe", ".py");
        try (InputStream in = ForeignGrpcClient.class.getResourceAsStream("grpc_probe.py")) {
            Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
        }
        try {
            Process p = new ProcessBuilder(python.toString(), script.toString(), "127.0.0.1:" + port, service)
                    .redirectErrorStream(true).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("grpc_probe.py timed out");
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new AssertionError("grpc_probe.py failed: " + out);
            }
            return out;
        } finally {
            Files.deleteIfExists(script);
        }
    }
}

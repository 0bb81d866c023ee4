package ai.neuraldivergence.launcher;

import java.nio.file.Path;

/** Command-line options of the launcher. */
record LauncherOptions(Path runDir, int kafkaPort, int kafkaControllerPort, int postgresPort) {

    static final String USAGE = "usage: LocalInfrastructure [--run-dir DIR] [--kafka-port 9092] "
            + "[--kafka-controller-port 9093] [--postgres-port 55432]";

    static LauncherOptions parse(String[] args) {
        Path runDir = Path.of(".run");
        int kafkaPort = 9092;
        int controllerPort = 9093;
        int postgresPort = 55432;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--run-dir" -> runDir = Path.of(required(args[i], value));
                case "--kafka-port" -> kafkaPort = port(args[i], value);
                case "--kafka-controller-port" -> controllerPort = port(args[i], value);
                case "--postgres-port" -> postgresPort = port(args[i], value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
            i++;
        }
        return new LauncherOptions(runDir.toAbsolutePath(), kafkaPort, controllerPort, postgresPort);
    }

    private static String required(String option, String value) {
        if (value == null) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return value;
    }

    private static int port(String option, String value) {
        try {
            int port = Integer.parseInt(required(option, value));
            if (port < 1 || port > 65535) {
                throw new NumberFormatException();
            }
            return port;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a port number, got '" + value + "'");
        }
    }
}

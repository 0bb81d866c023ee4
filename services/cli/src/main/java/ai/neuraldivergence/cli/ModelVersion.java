package ai.neuraldivergence.cli;

import picocli.CommandLine.Option;

/** The model a command asks about, and its version (empty: the service takes the newest). */
final class ModelVersion {

    @Option(names = "--model", required = true)
    String model;

    @Option(names = "--version")
    String version = "";
}

package ai.neuraldivergence.modelbuilder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The builder's options; every one that shapes the result is part of the build key. */
record BuildOptions(Path output, long seed, int epochs, int batchSize, double trainShare, long splitSeed,
        List<AttackConfig> attacks, int pairsPerAttack, double minAccuracy, boolean force) {

    static final String USAGE = "usage: ModelBuilder --output DIR [--seed 42] [--epochs 12] [--pairs 300] "
            + "[--attacks fgsm:0.05,fgsm:0.1,fgsm:0.2,pgd:0.05:10,pgd:0.1:10,pgd:0.2:10] [--force]";

    static BuildOptions parse(String[] args) {
        Path output = null;
        long seed = 42;
        int epochs = 12;
        int pairs = 300;
        String attacks = "fgsm:0.05,fgsm:0.1,fgsm:0.2,pgd:0.05:10,pgd:0.1:10,pgd:0.2:10";
        boolean force = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--output" -> output = Path.of(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--epochs" -> epochs = Integer.parseInt(args[++i]);
                case "--pairs" -> pairs = Integer.parseInt(args[++i]);
                case "--attacks" -> attacks = args[++i];
                case "--force" -> force = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "\n" + USAGE);
            }
        }
        if (output == null) {
            throw new IllegalArgumentException("--output is required\n" + USAGE);
        }
        List<AttackConfig> configs = new ArrayList<>();
        for (String spec : attacks.split(",")) {
            configs.add(AttackConfig.parse(spec.trim()));
        }
        // the held-out split (20 %, seed 1234) is fixed: the services' tests and the traffic rely on it
        return new BuildOptions(output.toAbsolutePath(), seed, epochs, 64, 0.8, 1234, List.copyOf(configs), pairs,
                0.97, force);
    }

    /** What goes into the build key. */
    String keyString() {
        return "seed=" + seed + ";epochs=" + epochs + ";batch=" + batchSize + ";share=" + trainShare + ";split="
                + splitSeed + ";attacks=" + attacks + ";pairs=" + pairsPerAttack;
    }
}

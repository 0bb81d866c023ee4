package ai.neuraldivergence.domain;

/** Distributions built from a handful of values, for tests whose expected figures are worked out by hand. */
final class Distributions {

    private Distributions() {
    }

    /** A neuron's distribution of {@code values}, at the default sketch size (exact below that many values). */
    static NeuronDistribution of(float... values) {
        NeuronDistribution d = new NeuronDistribution(NeuronDistribution.DEFAULT_K);
        for (float v : values) {
            d.update(v);
        }
        return d;
    }
}

package ai.neuraldivergence.domain;

/**
 * The distributions of every neuron of one tap, for one slice and window. Stored as one row so that reading a tap
 * for a window is one read, not one per neuron.
 */
public final class TapDistribution {

    private final NeuronDistribution[] neurons;
    private long observationCount;

    public TapDistribution(int neuronCount, int k) {
        if (neuronCount <= 0) {
            throw new IllegalArgumentException("neuron count must be > 0, got " + neuronCount);
        }
        neurons = new NeuronDistribution[neuronCount];
        for (int i = 0; i < neuronCount; i++) {
            neurons[i] = new NeuronDistribution(k);
        }
    }

    TapDistribution(NeuronDistribution[] neurons, long observationCount) {
        this.neurons = neurons;
        this.observationCount = observationCount;
    }

    /**
     * Adds one observation whose activations are {@code activations[offset .. offset + neuronCount)}; non-finite
     * values are counted per neuron (see {@link NeuronDistribution#update}).
     */
    public void add(float[] activations, int offset) {
        if (offset < 0 || offset + neurons.length > activations.length) {
            throw new IllegalArgumentException("observation at offset " + offset + " needs " + neurons.length
                    + " activations, array holds " + activations.length);
        }
        for (int i = 0; i < neurons.length; i++) {
            neurons[i].update(activations[offset + i]);
        }
        observationCount++;
    }

    public void merge(TapDistribution other) {
        if (other.neurons.length != neurons.length) {
            throw new IllegalArgumentException("cannot merge a tap of " + other.neurons.length + " neurons into one of "
                    + neurons.length);
        }
        for (int i = 0; i < neurons.length; i++) {
            neurons[i].merge(other.neurons[i]);
        }
        observationCount += other.observationCount;
    }

    public int neuronCount() {
        return neurons.length;
    }

    public NeuronDistribution neuron(int index) {
        return neurons[index];
    }

    public long observationCount() {
        return observationCount;
    }

    /** The sketch size of the neurons' sketches (k of the first; all share it). */
    public int sketchK() {
        return neurons[0].sketchK();
    }
}

package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PlacementTest {

    @Test
    void typicalObservationsScoreAboutOneAndOutliersMore() {
        Random r = new Random(3);
        NeuronDistribution[] neurons = new NeuronDistribution[64];
        for (int n = 0; n < neurons.length; n++) {
            neurons[n] = new NeuronDistribution(200);
            for (int i = 0; i < 20_000; i++) {
                neurons[n].update((float) r.nextGaussian());
            }
        }
        double typical = 0;
        for (int trial = 0; trial < 200; trial++) {
            double[] p = new double[neurons.length];
            for (int n = 0; n < neurons.length; n++) {
                p[n] = Placement.percentile(neurons[n], (float) r.nextGaussian());
            }
            typical += Placement.anomalyScore(p, 20_000) / 200;
        }
        assertEquals(1.0, typical, 0.05, "the mean of exponential surprises");
        double[] far = new double[neurons.length];
        for (int n = 0; n < neurons.length; n++) {
            far[n] = Placement.percentile(neurons[n], 3f);
        }
        assertTrue(Placement.anomalyScore(far, 20_000) > 5, "three sigma on every neuron");
    }

    @Test
    void tiesCountHalfAndExtremesStayFinite() {
        NeuronDistribution relu = new NeuronDistribution(200);
        for (int i = 0; i < 100; i++) {
            relu.update(i < 40 ? 0f : i);
        }
        assertEquals(0.2, Placement.percentile(relu, 0f), 1e-9, "the middle of the zeros' run");
        assertEquals(Math.log(200), Placement.surprise(1.0, 100), 1e-9);
        assertEquals(0, Placement.surprise(0.5, 100), 1e-12);
    }
}

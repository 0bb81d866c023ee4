package ai.neuraldivergence.detection;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.LayerDrift;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The manifest's neuron scales on the real model's recorded activations: against the training digits as reference, a
 * minute of wholly PGD-attacked traffic (ε 0.1, 1,200 observations) stands further above benign minutes with the
 * declared scales than with scales of 1 on every conv tap (where channels' spreads differ most), and benign minutes
 * stay under the layer statistic's default minimum effect either way.
 */
class NeuronScalesTest {

    private static final int MINUTE = 1_200;

    @Test
    void declaredScalesSeparateAnAttackedMinuteFromBenignOnesAtLeastAsWell() throws Exception {
        Recording recording = Recording.of(Path.of(System.getProperty("nd.model.dir")), 7);
        for (int t = 0; t < recording.taps().size(); t++) {
            TapDescriptor declared = recording.taps().get(t);
            assertTrue(declared.featureScales() != null, declared.tap() + " declares its neurons' scales");
            double[] scaled = separation(recording, t, declared);
            double[] unit = separation(recording, t, declared.withFeatureScales(null));
            String what = String.format("%s: benign at most %.5f, PGD %.5f with the scales; %.5f and %.5f without",
                    declared.tap(), scaled[0], scaled[1], unit[0], unit[1]);
            System.out.println(what);
            assertTrue(scaled[0] < LayerDrift.DEFAULT_MINIMUM_EFFECT, what);
            if (declared.shape().length == 3) {
                assertTrue(scaled[1] / scaled[0] >= unit[1] / unit[0], what);
            }
        }
    }

    /** The largest MMD² of three benign minutes, and one attacked minute's, against the training digits. */
    private static double[] separation(Recording recording, int t, TapDescriptor tap) {
        TapDistribution reference = Traffic.started(tap);
        reference.addAll(Arrays.asList(recording.pool("training").taps().get(t)));
        double benign = 0;
        for (int draw = 0; draw < 3; draw++) {
            benign = Math.max(benign, mmd(tap, reference, minute(recording, "benign", t, tap, draw)));
        }
        return new double[] {benign, mmd(tap, reference, minute(recording, "pgd-0.10", t, tap, 3))};
    }

    private static TapDistribution minute(Recording recording, String pool, int t, TapDescriptor tap, int draw) {
        float[][] rows = recording.pool(pool).taps().get(t);
        Random random = new Random(draw);
        List<float[]> drawn = new ArrayList<>(MINUTE);
        for (int i = 0; i < MINUTE; i++) {
            drawn.add(rows[random.nextInt(rows.length)]);
        }
        TapDistribution d = Traffic.started(tap);
        d.addAll(drawn);
        return d;
    }

    private static double mmd(TapDescriptor tap, TapDistribution a, TapDistribution b) {
        return LayerDrift.of(tap, a, b, 0.01, LayerDrift.DEFAULT_MINIMUM_EFFECT).mmd();
    }
}

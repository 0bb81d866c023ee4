package ai.neuraldivergence.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {

    @Test
    void mnistHasTenThousandLabelledDigitsInTheUnitRange() throws Exception {
        ImageSet mnist = NpmImages.mnist();
        assertEquals(10_000, mnist.size());
        int[] perClass = new int[10];
        float max = 0;
        for (int i = 0; i < mnist.size(); i++) {
            perClass[mnist.label(i)]++;
            for (float v : mnist.image(i)) {
                max = Math.max(max, v);
                assertTrue(v >= 0 && v <= 1);
            }
        }
        assertEquals(1f, max, 0.01f);
        for (int c : perClass) {
            assertTrue(c > 800, "every digit is well represented");
        }
    }

    @Test
    void fashionImagesAreScaledToTheUnitRange() throws Exception {
        ImageSet fashion = NpmImages.fashionMnist(300);
        assertEquals(3_000, fashion.size());
        assertEquals(9, fashion.label(2_999));
        float max = 0;
        for (float v : fashion.image(0)) {
            max = Math.max(max, v);
        }
        assertTrue(max > 0.5f && max <= 1f, "0..255 integers become 0..1, got max " + max);
    }

    @Test
    void splitsAreSeededAndDisjoint() throws Exception {
        ImageSet mnist = NpmImages.mnist();
        ImageSet.Split a = mnist.split(0.8, 1234);
        ImageSet.Split b = mnist.split(0.8, 1234);
        assertEquals(8000, a.train().size());
        assertEquals(2000, a.test().size());
        assertArrayEquals(a.test().image(17), b.test().image(17));
    }

    @Test
    void attackedPairsRoundTrip(@TempDir Path dir) throws Exception {
        float[] benign = new float[ImageSet.PIXELS];
        float[] attacked = new float[ImageSet.PIXELS];
        attacked[3] = 0.3f;
        List<AttackedPair> pairs = List.of(new AttackedPair("p-1", "fgsm", 0.1f, 7, 7, 2, benign, attacked));
        AttackedPairs.write(dir.resolve("pairs.bin.gz"), pairs);
        List<AttackedPair> back = AttackedPairs.read(dir.resolve("pairs.bin.gz"));
        assertEquals(1, back.size());
        assertEquals("fgsm", back.get(0).attack());
        assertTrue(back.get(0).succeeded());
        assertArrayEquals(attacked, back.get(0).attacked());
    }
}

package ai.neuraldivergence.traffic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrafficTest {

    @Test
    void theScheduleLoops() {
        Schedule s = Schedule.parse("benign:10,fgsm:5");
        assertEquals(Scenario.BENIGN, s.at(0).scenario());
        assertEquals(Scenario.FGSM, s.at(12).scenario());
        assertEquals(Scenario.BENIGN, s.at(15).scenario());
        assertThrows(IllegalArgumentException.class, () -> Schedule.parse("drift:10"));
        assertThrows(IllegalArgumentException.class, () -> Schedule.parse("benign:0"));
    }

    @Test
    void aRotationByAFullTurnKeepsTheImage() {
        float[] image = new float[784];
        image[14 * 28 + 20] = 1f;
        float[] turned = ai.neuraldivergence.datasets.Distortions.rotate(image, 2 * Math.PI);
        assertEquals(1f, turned[14 * 28 + 20], 1e-4);
        float[] quarter = ai.neuraldivergence.datasets.Distortions.rotate(image, Math.PI / 2);
        assertTrue(quarter[14 * 28 + 20] < 0.01f, "a quarter turn moves the pixel");
    }

    @Test
    void requestsCarryPairsAndTags() {
        String json = InferenceClient.json(List.of(new Inputs.Input(new float[] {0f, 0.5f}, 3,
                Map.of("attack", "fgsm"), "p-1", "attacked")), Map.of("scenario", "fgsm"));
        assertTrue(json.startsWith("{\"instances\":[{\"pixels\":[0,0.5],\"trueLabel\":3,\"pairId\":\"p-1\","
                + "\"pairRole\":\"attacked\",\"tags\":{"), json);
        assertTrue(json.contains("\"attack\":\"fgsm\"") && json.contains("\"scenario\":\"fgsm\""), json);
    }
}

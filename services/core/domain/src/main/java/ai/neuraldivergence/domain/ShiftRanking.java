package ai.neuraldivergence.domain;

import java.util.ArrayList;
import java.util.List;

/**
 * Which neurons an attack moved most: from a benign and an attacked observation of one tap, the neurons whose
 * activation rose most (excited, largest rise first) and fell most (inhibited, largest fall first). Neurons whose
 * activation did not change are in neither list; neurons marked missing (a block one of the two observations
 * lacks) are left out.
 */
public record ShiftRanking(int[] excited, int[] inhibited) {

    /**
     * @param missing neurons to leave out (null: none)
     * @param topK the most neurons each list holds
     */
    public static ShiftRanking of(float[] benign, float[] attacked, boolean[] missing, int topK) {
        if (benign.length != attacked.length) {
            throw new IllegalArgumentException("benign has " + benign.length + " activations, attacked "
                    + attacked.length);
        }
        List<Integer> order = new ArrayList<>();
        for (int n = 0; n < benign.length; n++) {
            if (missing == null || !missing[n]) {
                order.add(n);
            }
        }
        // largest rise first; equal rises keep neuron order (a stable sort), so the answer is repeatable
        order.sort((x, y) -> Float.compare(attacked[y] - benign[y], attacked[x] - benign[x]));
        List<Integer> excited = new ArrayList<>();
        for (int i = 0; i < order.size() && excited.size() < topK; i++) {
            int n = order.get(i);
            if (attacked[n] > benign[n]) {
                excited.add(n);
            }
        }
        List<Integer> inhibited = new ArrayList<>();
        for (int i = order.size() - 1; i >= 0 && inhibited.size() < topK; i--) {
            int n = order.get(i);
            if (attacked[n] < benign[n]) {
                inhibited.add(n);
            }
        }
        return new ShiftRanking(excited.stream().mapToInt(Integer::intValue).toArray(),
                inhibited.stream().mapToInt(Integer::intValue).toArray());
    }
}

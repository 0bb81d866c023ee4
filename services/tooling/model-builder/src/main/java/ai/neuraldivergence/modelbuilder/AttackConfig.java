package ai.neuraldivergence.modelbuilder;

import java.util.Locale;

/**
 * One adversarial attack setting.
 *
 * @param method {@code fgsm} (one signed-gradient step of size epsilon) or {@code pgd} (projected gradient descent:
 *     {@code steps} steps of epsilon/4, projected back into the epsilon ball)
 * @param epsilon the L-infinity budget, in pixel units
 */
record AttackConfig(String method, float epsilon, int steps) {

    static AttackConfig parse(String spec) {
        String[] parts = spec.split(":");
        try {
            String method = parts[0];
            float eps = Float.parseFloat(parts[1]);
            if (method.equals("fgsm") && parts.length == 2) {
                return new AttackConfig("fgsm", eps, 1);
            }
            if (method.equals("pgd") && parts.length == 3) {
                return new AttackConfig("pgd", eps, Integer.parseInt(parts[2]));
            }
        } catch (RuntimeException e) {
            // fall through
        }
        throw new IllegalArgumentException("attack must be fgsm:<eps> or pgd:<eps>:<steps>, got '" + spec + "'");
    }

    String label() {
        return String.format(Locale.ROOT, "%s eps=%.2f%s", method, epsilon, method.equals("pgd") ? " steps=" + steps
                : "");
    }
}

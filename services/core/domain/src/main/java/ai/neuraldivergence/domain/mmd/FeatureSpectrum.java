package ai.neuraldivergence.domain.mmd;

import java.util.Arrays;
import java.util.List;

/**
 * The eigenvalues of a layer's feature covariance, estimated from a calibration sample, and the tail of MMD² under the
 * null that they give at any false-alarm rate. Between two samples of one distribution the unbiased MMD² is, by the
 * central limit theorem, {@code (1/n + 1/m) sum λ_i (Z_i² - 1)}; Chernoff's bound on a weighted sum of chi-squares,
 * {@code P(sum λ_i Z_i² ≥ y) ≤ exp(-s y) prod (1 - 2 s λ_i)^-1/2} for {@code 0 < s < 1 / (2 λ_max)}, set equal to α
 * and minimised over s, gives the quantile at rates no resampling reaches (a monitor's one in tens of thousands). With
 * every λ_i known it is several times tighter than the bound that knows only their sum ({@link MmdNull}).
 */
public final class FeatureSpectrum {

    private final double[] eigenvalues;
    private final double trace;

    private FeatureSpectrum(double[] eigenvalues) {
        this.eigenvalues = eigenvalues;
        this.trace = Arrays.stream(eigenvalues).sum();
    }

    /**
     * The spectrum of the covariance of {@code φ(x) = D^-1/2 (cos, sin)} at grid point g over a calibration sample's
     * projections ({@link RandomFeatureMap#projection}).
     */
    public static FeatureSpectrum of(RandomFeatureMap map, int g, List<float[]> sample) {
        int dims = 2 * RandomFeatureMap.DIRECTIONS;
        double[] f = new double[dims];
        double[] mean = new double[dims];
        double[][] second = new double[dims][dims];
        int rows = 0;
        for (float[] projection : sample) {
            if (projection.length != RandomFeatureMap.DIRECTIONS) {
                continue;
            }
            map.featuresOfProjection(projection, g, f);
            rows++;
            for (int a = 0; a < dims; a++) {
                mean[a] += f[a];
                double fa = f[a];
                double[] s = second[a];
                for (int b = a; b < dims; b++) {
                    s[b] += fa * f[b];
                }
            }
        }
        if (rows < 2) {
            throw new IllegalArgumentException("a spectrum needs 2 observations, got " + rows);
        }
        double[][] cov = new double[dims][dims];
        for (int a = 0; a < dims; a++) {
            for (int b = a; b < dims; b++) {
                double c = (second[a][b] - mean[a] * mean[b] / rows) / (rows - 1) / RandomFeatureMap.DIRECTIONS;
                cov[a][b] = c;
                cov[b][a] = c;
            }
        }
        return new FeatureSpectrum(eigenvalues(cov));
    }

    /** A spectrum given as it is: one stored ({@link #eigenvalues}), or a test's. */
    public static FeatureSpectrum ofEigenvalues(double... eigenvalues) {
        return new FeatureSpectrum(eigenvalues.clone());
    }

    /** The eigenvalues, a copy: what a stored null keeps of the spectrum. */
    public double[] eigenvalues() {
        return eigenvalues.clone();
    }

    /** The sum of the eigenvalues: the features' total variance. */
    public double trace() {
        return trace;
    }

    /**
     * The (1 - α) quantile bound of the unbiased MMD² between sides of n and m observations drawn from the sample's
     * distribution: {@code (1/n + 1/m) (y_α - sum λ_i)} for Chernoff's {@code y_α}.
     */
    public double quantile(double alpha, long n, long m) {
        if (!(alpha > 0 && alpha < 1) || n < 1 || m < 1) {
            throw new IllegalArgumentException("alpha in (0, 1) and positive counts, got " + alpha + ", " + n + ", "
                    + m);
        }
        double largest = Arrays.stream(eigenvalues).max().orElse(0);
        if (!(largest > 0)) {
            return 0;
        }
        double logInverse = Math.log(1 / alpha);
        // y(s) is convex in s on (0, 1 / (2 λ_max)): a golden-section search on the share u of that interval
        double lo = 1e-9;
        double hi = 1 - 1e-9;
        double phi = (Math.sqrt(5) - 1) / 2;
        double x1 = hi - phi * (hi - lo);
        double x2 = lo + phi * (hi - lo);
        double f1 = chernoff(x1 / (2 * largest), logInverse);
        double f2 = chernoff(x2 / (2 * largest), logInverse);
        for (int i = 0; i < 200 && hi - lo > 1e-12; i++) {
            if (f1 < f2) {
                hi = x2;
                x2 = x1;
                f2 = f1;
                x1 = hi - phi * (hi - lo);
                f1 = chernoff(x1 / (2 * largest), logInverse);
            } else {
                lo = x1;
                x1 = x2;
                f1 = f2;
                x2 = lo + phi * (hi - lo);
                f2 = chernoff(x2 / (2 * largest), logInverse);
            }
        }
        double y = Math.min(f1, f2);
        return Math.max(0, y - trace) * (1.0 / n + 1.0 / m);
    }

    /** The y with Chernoff's bound at s equal to α: {@code (ln(1/α) - ½ sum ln(1 - 2 s λ_i)) / s}. */
    private double chernoff(double s, double logInverse) {
        double sum = 0;
        for (double l : eigenvalues) {
            if (l > 0) {
                sum += Math.log1p(-2 * s * l);
            }
        }
        return (logInverse - 0.5 * sum) / s;
    }

    /** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (negative ones, rounding, clamped to 0). */
    static double[] eigenvalues(double[][] matrix) {
        int n = matrix.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            a[i] = matrix[i].clone();
        }
        for (int sweep = 0; sweep < 50; sweep++) {
            double off = 0;
            double diagonal = 0;
            for (int p = 0; p < n; p++) {
                diagonal += a[p][p] * a[p][p];
                for (int q = p + 1; q < n; q++) {
                    off += a[p][q] * a[p][q];
                }
            }
            if (off <= 1e-22 * Math.max(diagonal, 1e-300)) {
                break;
            }
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double apq = a[p][q];
                    if (Math.abs(apq) < 1e-300) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * apq);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) {
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                }
            }
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = Math.max(0, a[i][i]);
        }
        return out;
    }
}

"""The unbiased MMD^2 with a Gaussian kernel, exact, by SciPy on the raw samples: what the random-feature estimate
from mergeable sums is checked against (MmdAgreementTest).

Usage: scipy_mmd.py A.bin B.bin NEURONS SIGMA...
A.bin and B.bin hold float32 little-endian rows of NEURONS values. For each bandwidth SIGMA, with
k(x, y) = exp(-|x - y|^2 / (2 SIGMA^2)), prints one line: the U-statistic
sum_{i != i'} k(a_i, a_i') / (n(n-1)) + sum_{j != j'} k(b_j, b_j') / (m(m-1)) - 2 sum k(a_i, b_j) / (nm).
"""
import sys

import numpy as np
from scipy.spatial.distance import cdist


def u_statistic(a, b, sigma):
    n, m = len(a), len(b)
    kaa = np.exp(-cdist(a, a, "sqeuclidean") / (2 * sigma**2))
    kbb = np.exp(-cdist(b, b, "sqeuclidean") / (2 * sigma**2))
    kab = np.exp(-cdist(a, b, "sqeuclidean") / (2 * sigma**2))
    return ((kaa.sum() - np.trace(kaa)) / (n * (n - 1)) + (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
            - 2 * kab.sum() / (n * m))


def main():
    neurons = int(sys.argv[3])
    a = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, neurons).astype(np.float64)
    b = np.fromfile(sys.argv[2], dtype="<f4").reshape(-1, neurons).astype(np.float64)
    for sigma in sys.argv[4:]:
        print(repr(float(u_statistic(a, b, float(sigma)))))


if __name__ == "__main__":
    main()

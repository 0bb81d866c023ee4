"""Benchmark (c) of deploy/benchmark-comparison.sh: SciPy computing KS, Wasserstein-1, JS and PSI (on pooled decile
bins) from raw samples, per neuron. Usage: scipy_bench.py SAMPLES_PER_SIDE NEURONS; prints the seconds spent on the
metrics (sample generation excluded) as its last line."""
import sys
import time

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance


def main():
    n, neurons = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(1)
    spent = 0.0
    for _ in range(neurons):
        a = rng.standard_normal(n, dtype=np.float32)
        b = rng.standard_normal(n, dtype=np.float32) + np.float32(0.2)
        t = time.perf_counter()
        ks_2samp(a, b)
        wasserstein_distance(a, b)
        edges = np.unique(np.quantile(np.concatenate([a, b]), np.linspace(0, 1, 11)))
        p = np.histogram(a, edges)[0] / n
        q = np.histogram(b, edges)[0] / n
        jensenshannon(p, q, base=2) ** 2
        pf, qf = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
        np.sum((qf - pf) * np.log(qf / pf))
        spent += time.perf_counter() - t
    print(f"{spent:.3f}")


if __name__ == "__main__":
    main()

"""The comparison metrics computed by SciPy on the raw samples: the independent implementation the comparison
service is checked against (ComparisonCorrectnessTest).

Usage: scipy_metrics.py A.bin B.bin NEURONS EDGES.json
A.bin and B.bin hold float32 little-endian rows of NEURONS values; EDGES.json maps each neuron to the bin edges the
service used for JS and PSI. Prints one JSON object per neuron: ks, wasserstein, jensen_shannon, psi.
"""
import json
import sys

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

PSI_FLOOR = 1e-4


def shares(x, edges):
    # the service's bins: the first is [e0, e1], the others (e_i, e_i+1]
    index = np.maximum(np.searchsorted(edges, x, side="left") - 1, 0)
    counts = np.bincount(index, minlength=len(edges) - 1)[: len(edges) - 1]
    return counts / len(x)


def main():
    neurons = int(sys.argv[3])
    a = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, neurons).astype(np.float64)
    b = np.fromfile(sys.argv[2], dtype="<f4").reshape(-1, neurons).astype(np.float64)
    with open(sys.argv[4]) as f:
        edges = json.load(f)
    out = []
    for n in range(neurons):
        x, y = a[:, n], b[:, n]
        e = np.asarray(edges[str(n)], dtype=np.float64)
        p, q = shares(x, e), shares(y, e)
        pf, qf = np.maximum(p, PSI_FLOOR), np.maximum(q, PSI_FLOOR)
        out.append({
            "ks": float(ks_2samp(x, y).statistic),
            "wasserstein": float(wasserstein_distance(x, y)),
            "jensen_shannon": float(jensenshannon(p, q, base=2) ** 2),
            "psi": float(np.sum((qf - pf) * np.log(qf / pf))),
        })
    print(json.dumps(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""din from Python against Flower's own functions from Python, same process, same data.

Workloads as benches/peers/flwr_secagg.py and benches/peers/fedavg.py:
  - client masking, D in {1e5, 1e6}, k in {10, 50} (n = k+1 fully connected clients):
    Flower's real `_collect_masked_vectors` (secaggplus_mod) vs `din.SecAggClient.mask`
    (both: quantize, self mask, k pairwise masks, serialize);
  - FedAvg of n = 100 float32 vectors of D = 1e6: `din.fedavg` vs numpy+BLAS
    (`w @ stack`, sgemv) and Flower's `aggregate`.

Needs flwr and numpy next to din (the peers venv: benches/peers/run.sh makes one).
Usage: python bench_vs_flower.py [--reps 5] [--quick] [--json out.json]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import din

PEERS = Path(__file__).resolve().parents[2] / "benches" / "peers"
sys.path.insert(0, str(PEERS))
import flwr_secagg as flower  # noqa: E402  (Flower's functions, driven as the peers do)
from fedavg import release_free_memory  # noqa: E402
from flwr.common import ndarrays_to_parameters  # noqa: E402
from flwr.server.strategy.aggregate import aggregate  # noqa: E402


def timeit(fn, reps, setup=None):
    ts = []
    for i in range(reps + 1):
        arg = setup() if setup else None
        t0 = time.perf_counter()
        fn(arg) if setup else fn()
        if i:  # first run is warm-up
            ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def masking(D, k, reps, rows):
    n = k + 1
    threshold = flower.threshold_for(n)
    rng = np.random.default_rng(0)
    update = rng.standard_normal(D, dtype=np.float32) * 0.1
    weight = 100

    cohort = flower.FlowerCohort(n, threshold)
    c = cohort.nids[0]
    params = ndarrays_to_parameters([update])
    t_flwr = timeit(lambda: cohort.mask(c, weight, params), reps)

    p = din.SecAggParams(n, k, threshold, D, graph_seed=b"\x01" * 32)

    def fresh():
        clients = [din.SecAggClient(p, i) for i in range(n)]
        adverts = [x.advertise() for x in clients]
        shares = [x.share_keys(adverts) for x in clients]
        return clients[0], shares

    t_din = timeit(lambda a: a[0].mask(update, weight, a[1]), reps, setup=fresh)
    rows.append({"bench": "client_mask", "D": D, "k": k, "flower_s": t_flwr, "din_s": t_din,
                 "speedup": t_flwr / t_din})


def fedavg(reps, rows, n=100, D=1_000_000):
    rng = np.random.default_rng(n)
    stack = rng.standard_normal((n, D), dtype=np.float32)
    counts = rng.integers(50, 500, n)
    w = (counts / counts.sum()).astype(np.float32)
    results = [([stack[i].copy()], int(c)) for i, c in enumerate(counts)]
    ref = (counts.astype(np.float64) @ stack.astype(np.float64)) / counts.sum()
    out = din.fedavg(stack, counts.astype(np.float64))
    assert np.abs(out - ref).max() < 1e-5, "din.fedavg disagrees with the float64 reference"
    # din first: OpenBLAS's threads keep spinning for a while after each call and would
    # steal a core from din's threads if it ran right after them.
    weights = counts.astype(np.float64)
    time.sleep(1)
    t_din = timeit(lambda: din.fedavg(stack, weights), reps)
    t_blas = timeit(lambda: w @ stack, reps)
    # from a trimmed heap each call, as benches/peers/fedavg.py times it (see there)
    t_flwr = timeit(lambda _: aggregate(results), max(1, reps // 2), setup=release_free_memory)
    rows.append({"bench": "fedavg", "n": n, "D": D, "numpy_blas_s": t_blas, "flower_s": t_flwr,
                 "din_s": t_din, "vs_blas": t_blas / t_din, "vs_flower": t_flwr / t_din})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="D=1e5 only, k=10")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    rows = []
    cases = [(100_000, 10)] if a.quick else [(100_000, 10), (100_000, 50), (1_000_000, 10), (1_000_000, 50)]
    for D, k in cases:
        masking(D, k, a.reps, rows)
        print(json.dumps(rows[-1]), flush=True)
    fedavg(a.reps, rows, D=100_000 if a.quick else 1_000_000)
    print(json.dumps(rows[-1]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

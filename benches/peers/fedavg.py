#!/usr/bin/env python3
"""Peer baseline for din's FedAvg: the weighted mean of n client updates in numpy/Flower.

Workload (the one `examples/fl_bench.rs` runs on din): n float32 vectors of D entries
(n in {10, 100}, D = 1,000,000), each weighted by its client's example count (drawn in
[50, 500)), averaged four ways:

  flwr_aggregate  Flower's own FedAvg helper, `flwr.server.strategy.aggregate.aggregate`,
                  fed a list of ([ndarray], num_examples) pairs as Flower's strategies do
  np_average      `np.average(stack, axis=0, weights=w)` on one (n, D) array
  manual_axpy     acc = w_0 x_0, then acc += w_i x_i through one preallocated buffer
  blas_gemv       `w @ stack`: a float32 BLAS sgemv over the (n, D) array (may use
                  every core, as OpenBLAS decides)

Each variant is checked against a float64 reference. Throughput counts the n*D*4 bytes
of input read once. Each timed call of `flwr_aggregate` starts from a trimmed C heap
(see `bench_round`), so that it pays for the memory it allocates in every run.

Usage: python fedavg.py [--reps 7] [--D 1000000] [--n 10,100] [--quick] [--json OUT]
The JSON file is a list of rows {"name", "n", "D", "median_s", "min_s", "reps",
"input_GB_per_s", "Melem_per_s", "max_abs_err"} (read by benches/compare_fl.sh).
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import statistics
import time
from typing import Callable

import numpy as np
from flwr.server.strategy.aggregate import aggregate


def _free_memory_releaser() -> Callable[[], None]:
    """glibc's `malloc_trim(0)`: hands the C heap's free pages back to the kernel, so
    that the next call pays for faulting in the memory it allocates. A no-op elsewhere."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return lambda: None

    def release() -> None:
        trim(0)
    return release


release_free_memory = _free_memory_releaser()


def measure(fn: Callable[[], object], reps: int,
            before: Callable[[], None] = lambda: None) -> tuple[float, float]:
    """Median and minimum wall time of `reps` calls, after one untimed warm-up call;
    `before` runs, untimed, ahead of each timed call."""
    fn()
    times = []
    for _ in range(reps):
        before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


class Round:
    """One aggregation round's inputs, in the layouts the variants want."""

    def __init__(self, n: int, dim: int, seed: int):
        rng = np.random.default_rng(seed)
        # one (n, D) matrix for numpy/BLAS, and separately allocated rows as client
        # updates arrive in a server (what Flower's aggregate is handed)
        self.matrix = rng.standard_normal((n, dim), dtype=np.float32)
        self.updates = [np.array(row) for row in self.matrix]
        self.examples = rng.integers(50, 500, size=n)
        self.weights = (self.examples / self.examples.sum()).astype(np.float32)
        self.expected = (self.examples.astype(np.float64) @ self.matrix.astype(np.float64)
                         ) / self.examples.sum()
        self.flower_results = [([u], int(c)) for u, c in zip(self.updates, self.examples)]


def variants(r: Round) -> dict[str, Callable[[], np.ndarray]]:
    scratch = np.empty_like(r.updates[0])

    def flwr_aggregate() -> np.ndarray:
        return aggregate(r.flower_results)[0]

    def np_average() -> np.ndarray:
        return np.average(r.matrix, axis=0, weights=r.weights)

    def manual_axpy() -> np.ndarray:
        acc = r.updates[0] * r.weights[0]
        for x, w in zip(r.updates[1:], r.weights[1:]):
            np.multiply(x, w, out=scratch)
            acc += scratch
        return acc

    def blas_gemv() -> np.ndarray:
        return r.weights @ r.matrix

    return {f.__name__: f for f in (flwr_aggregate, np_average, manual_axpy, blas_gemv)}


def bench_round(n: int, dim: int, reps: int) -> list[dict]:
    r = Round(n, dim, seed=n)
    rows = []
    for name, fn in variants(r).items():
        # Flower's aggregate allocates n weighted copies (n*D*4 bytes) per call. Whether
        # glibc hands it the pages the previous call freed, or had returned them to the
        # kernel, depends on the heap's history: 5x apart at n = 100 on the project
        # machine. Each of its calls starts from a trimmed heap, i.e. pays the page
        # faults of a server aggregating freshly received updates (the regime in which
        # benches/README.md's figures were measured); the other variants allocate one
        # or two D-vectors and are left alone.
        before = release_free_memory if name == "flwr_aggregate" else (lambda: None)
        med, best = measure(fn, reps, before)
        err = float(np.max(np.abs(np.asarray(fn(), dtype=np.float64) - r.expected)))
        gbps = n * dim * 4 / med / 1e9
        rows.append({"name": name, "n": n, "D": dim, "median_s": med, "min_s": best,
                     "reps": reps, "input_GB_per_s": gbps,
                     "Melem_per_s": n * dim / med / 1e6, "max_abs_err": err})
        print(f"fedavg {name:<15} n={n:<4} D={dim:<9,} median {med * 1e3:9.2f} ms "
              f"(min {best * 1e3:8.2f})  {gbps:6.2f} GB/s  max err {err:.1e}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--D", type=int, default=1_000_000, help="entries per update")
    ap.add_argument("--n", default="10,100", help="client counts, comma separated")
    ap.add_argument("--quick", action="store_true", help="smoke run: D=10,000, 2 reps")
    ap.add_argument("--json", default=None, help="write the rows to this file")
    args = ap.parse_args()
    dim, reps = (10_000, 2) if args.quick else (args.D, args.reps)

    rows = []
    for n in (int(x) for x in args.n.split(",")):
        rows += bench_round(n, dim, reps)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()

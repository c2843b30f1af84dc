#!/usr/bin/env python3
"""Peer baseline for din's secure aggregation: Flower's SecAgg+, driven piece by piece.

Nothing here reimplements Flower's cryptography. The clients are Flower's own SecAgg+
client stages (`flwr.client.mod.secure_aggregation.secaggplus_mod`: `_setup`,
`_share_keys`, `_collect_masked_vectors`, `_unmask`) called directly on Flower's
`SecAggPlusState`, without the message transport; the server side is the arithmetic of
Flower's `SecAggPlusWorkflow.collect_masked_vectors_stage` and `unmask_stage`, written
out with the same Flower functions in the same order (those stages cannot be called
without a running Grid).

Workloads (the ones `examples/secagg_bench.rs` runs on din), for D in {1e5, 1e6} and
k in {10, 50}, with n = k + 1 fully connected clients, threshold t = round(n / 2) and
Flower's default quantization (clip 8, 2^22 levels, 2^32 modulus, max weight 1000):

  client_mask       one client's `_collect_masked_vectors`: decrypt k share messages,
                    scale, stochastic quantization, self mask, k pairwise masks (ECDH
                    P-384 + HKDF, numpy MT19937 generator), mod, `ndarray_to_bytes`
  unmask            the server's sum of n masked vectors + mod, then unmasking: t
                    Shamir shares combined per client, n self masks regenerated and
                    removed, dequantization
  unmask_1_dropout  the same after one client dropped once the keys were shared: n - 1
                    masked vectors summed, its k pairwise masks rebuilt from its
                    reconstructed key (half the reps: at k = 50 a call takes seconds)
  setup_share_keys, quantize, prg_mask, key_agreement, server_sum:
                    parts of the above, for where the time goes
  shamir_split / shamir_combine   Flower's `create_shares` / `combine_shares` of a
                    32-byte secret, n = 50, t = 26 (and of a P-384 key's PEM bytes,
                    the other secret SecAgg+ shares)

The server combines exactly t shares per secret, the fewest it needs (Flower's
workflow combines every share it received, which costs more).

Usage: python flwr_secagg.py [--reps 5] [--quick] [--D 100000,1000000] [--k 10,50]
                             [--json OUT]
The JSON file is {"versions": {...}, "results": [row, ...]}; each row has "bench",
"median_s", "min_s", "reps", and the parameters "D", "k", "n", "t" (SecAgg+ rows) or
"secret_bytes", "n", "t" (Shamir rows). benches/compare_secagg.sh reads it; the
class `FlowerCohort` is imported by bindings-python/bench/bench_vs_flower.py.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
from typing import Callable

import numpy as np

import flwr
from flwr.app import ConfigRecord
from flwr.common import bytes_to_ndarray, ndarrays_to_parameters
from flwr.common.secure_aggregation.crypto.shamir import combine_shares, create_shares
from flwr.common.secure_aggregation.crypto.symmetric_encryption import generate_shared_key
from flwr.common.secure_aggregation.ndarrays_arithmetic import (
    factor_combine,
    factor_extract,
    get_parameters_shape,
    parameters_addition,
    parameters_mod,
    parameters_multiply,
    parameters_subtraction,
)
from flwr.common.secure_aggregation.quantization import dequantize, quantize
from flwr.common.secure_aggregation.secaggplus_constants import Key
from flwr.common.secure_aggregation.secaggplus_utils import pseudo_rand_gen
from flwr.supercore.primitives.asymmetric import (
    bytes_to_private_key,
    bytes_to_public_key,
    generate_key_pairs,
    private_key_to_bytes,
)

# `flwr.client.mod` re-exports a function named `secaggplus_mod`, which hides the
# module of the same name from a plain `import ... as`; fetch the module itself.
client_stages = importlib.import_module("flwr.client.mod.secure_aggregation.secaggplus_mod")

# SecAggPlusWorkflow's defaults
CLIPPING_RANGE = 8.0
QUANTIZATION_RANGE = 1 << 22
MODULUS_RANGE = 1 << 32
MAX_WEIGHT = 1000.0


def threshold_for(n: int) -> int:
    """Reconstruction threshold: half the shares (Python rounds halves to even)."""
    return max(2, round(n / 2))


class FlowerCohort:
    """n fully connected SecAgg+ clients after Flower's setup and key-sharing stages.

    Node ids are 1..n. `inbox[nid]` holds the (sources, ciphertexts) the server forwards
    to `nid` in stage 2; `setup_s` is the wall time of stages 0 and 1 for all clients.
    """

    def __init__(self, n: int, threshold: int):
        self.n, self.threshold = n, threshold
        self.nids = list(range(1, n + 1))
        start = time.perf_counter()
        self.states: dict[int, client_stages.SecAggPlusState] = {}
        for nid in self.nids:  # stage 0: parameters in, two key pairs out
            state = client_stages.SecAggPlusState()
            state.nid = nid
            client_stages._setup(state, ConfigRecord({
                Key.SAMPLE_NUMBER: n, Key.SHARE_NUMBER: n, Key.THRESHOLD: threshold,
                Key.CLIPPING_RANGE: CLIPPING_RANGE, Key.TARGET_RANGE: QUANTIZATION_RANGE,
                Key.MOD_RANGE: MODULUS_RANGE, Key.MAX_WEIGHT: MAX_WEIGHT,
            }))
            self.states[nid] = state
        # stage 1: everyone gets everyone's public keys and sends one encrypted pair of
        # shares (mask seed, sk1) to each other client, routed by the server
        public_keys = {str(nid): [s.pk1, s.pk2] for nid, s in self.states.items()}
        self.inbox: dict[int, tuple[list[int], list[bytes]]] = {nid: ([], []) for nid in self.nids}
        for nid, state in self.states.items():
            sent = client_stages._share_keys(state, ConfigRecord(dict(public_keys)))
            for dst, ciphertext in zip(sent[Key.DESTINATION_LIST], sent[Key.CIPHERTEXT_LIST]):
                self.inbox[dst][0].append(nid)
                self.inbox[dst][1].append(ciphertext)
        self.setup_s = time.perf_counter() - start

    def mask(self, nid: int, num_examples: int, parameters) -> list[bytes]:
        """Stage 2 on client `nid`: its masked, serialized update (Flower `Parameters` in)."""
        sources, ciphertexts = self.inbox[nid]
        reply = client_stages._collect_masked_vectors(
            self.states[nid],
            ConfigRecord({Key.CIPHERTEXT_LIST: list(ciphertexts), Key.SOURCE_LIST: list(sources)}),
            num_examples, parameters)
        return reply[Key.MASKED_PARAMETERS]

    def key_shares(self, active: list[int], dropped: list[int]) -> dict[int, list[bytes]]:
        """Stage 3 replies of the active clients, keeping the first t shares per owner."""
        shares: dict[int, list[bytes]] = {nid: [] for nid in active + dropped}
        request = {Key.ACTIVE_NODE_ID_LIST: active, Key.DEAD_NODE_ID_LIST: dropped}
        for holder in active:
            reply = client_stages._unmask(self.states[holder], ConfigRecord(dict(request)))
            for owner, share in zip(reply[Key.NODE_ID_LIST], reply[Key.SHARE_LIST]):
                if len(shares[owner]) < self.threshold:
                    shares[owner].append(share)
        return shares


def server_sum(masked_updates: list[list[bytes]]):
    """`collect_masked_vectors_stage`: deserialize, add up, reduce mod 2^32."""
    total = None
    for update in masked_updates:
        arrays = [bytes_to_ndarray(b) for b in update]
        total = arrays if total is None else parameters_addition(total, arrays)
    return parameters_mod(total, MODULUS_RANGE)


def server_unmask(total, shares: dict[int, list[bytes]], active: set[int],
                  cohort: FlowerCohort):
    """`unmask_stage`: remove self masks of active clients and pairwise masks of
    dropped ones, then dequantize into the weighted average."""
    shapes = get_parameters_shape(total)
    for nid, owner_shares in shares.items():
        secret = combine_shares(owner_shares)
        if nid in active:  # the secret is nid's self-mask seed
            total = parameters_subtraction(total, pseudo_rand_gen(secret, MODULUS_RANGE, shapes))
            continue
        # the secret is the dropped client's sk1: rebuild its pairwise masks
        for other in cohort.nids:
            if other == nid:
                continue
            key = generate_shared_key(bytes_to_private_key(secret),
                                      bytes_to_public_key(cohort.states[other].pk1))
            pairwise = pseudo_rand_gen(key, MODULUS_RANGE, shapes)
            total = (parameters_addition(total, pairwise) if nid > other
                     else parameters_subtraction(total, pairwise))
    total = parameters_mod(total, MODULUS_RANGE)
    q_weight_sum, total = factor_extract(total)
    average = dequantize(total, CLIPPING_RANGE, QUANTIZATION_RANGE)
    for arr in average:
        arr += -(len(active) - 1) * CLIPPING_RANGE
        arr *= QUANTIZATION_RANGE / q_weight_sum
    return average


def measure(fn: Callable[[], object], reps: int) -> tuple[float, float, object]:
    """Median and minimum wall time of `reps` calls, after one untimed warm-up call,
    and what the last call returned."""
    result = fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


class Results:
    def __init__(self):
        self.rows: list[dict] = []

    def add(self, bench: str, params: dict, med: float, best: float | None, reps: int,
            **extra) -> dict:
        row = {"bench": bench, **params, "median_s": med, "min_s": best, "reps": reps, **extra}
        self.rows.append(row)
        shown = " ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}"
                         for k, v in params.items())
        err = f"  max err {extra['max_abs_err']:.1e}" if "max_abs_err" in extra else ""
        print(f"{bench:<18} {shown:<34} median {med * 1e3:10.3f} ms{err}", flush=True)
        return row


def bench_secagg(dim: int, k: int, reps: int, out: Results) -> None:
    n = k + 1
    t = threshold_for(n)
    cohort = FlowerCohort(n, t)
    p = {"D": dim, "k": k, "n": n, "t": t}
    out.add("setup_share_keys", p, cohort.setup_s / n, None, 1, per="client (mean)")

    rng = np.random.default_rng(dim + k)
    updates = {nid: rng.standard_normal(dim, dtype=np.float32) * 0.1 for nid in cohort.nids}
    examples = {nid: int(rng.integers(50, 500)) for nid in cohort.nids}
    params = {nid: ndarrays_to_parameters([updates[nid]]) for nid in cohort.nids}

    # client side, on node 1 (whose k neighbours are all the others)
    me = cohort.nids[0]
    med, best, _ = measure(lambda: cohort.mask(me, examples[me], params[me]), reps)
    out.add("client_mask", p, med, best, reps, masks_per_s=(k + 1) / med)
    state = cohort.states[me]
    scale = round(examples[me] / MAX_WEIGHT * QUANTIZATION_RANGE)
    med, best, _ = measure(lambda: factor_combine(scale, quantize(
        parameters_multiply([updates[me]], scale / QUANTIZATION_RANGE),
        CLIPPING_RANGE, QUANTIZATION_RANGE)), reps)
    out.add("quantize", p, med, best, reps)
    shapes = [(1,), (dim,)]  # the weight factor, then the update
    med, best, _ = measure(lambda: pseudo_rand_gen(state.rd_seed, MODULUS_RANGE, shapes), reps)
    out.add("prg_mask", p, med, best, reps)
    peer_pk = cohort.states[cohort.nids[1]].pk1
    med, best, _ = measure(lambda: generate_shared_key(bytes_to_private_key(state.sk1),
                                                       bytes_to_public_key(peer_pk)), 4 * reps)
    out.add("key_agreement", p, med, best, 4 * reps)

    # server side: every client's masked update, then sum and unmask
    masked = {nid: cohort.mask(nid, examples[nid], params[nid]) for nid in cohort.nids}
    everyone = list(cohort.nids)
    shares = cohort.key_shares(everyone, [])
    med_sum, best_sum, _ = measure(lambda: server_sum([masked[x] for x in everyone]), reps)
    out.add("server_sum", p, med_sum, best_sum, reps)
    med, best, got = measure(lambda: server_unmask(server_sum([masked[x] for x in everyone]),
                                                   shares, set(everyone), cohort), reps)
    out.add("unmask", p, med, best, reps,
            max_abs_err=_error(got[0], updates, examples, everyone))

    # one client (the last) drops after sharing keys; the survivors' masks include it
    gone = cohort.nids[-1]
    survivors = [x for x in cohort.nids if x != gone]
    shares = cohort.key_shares(survivors, [gone])
    slow_reps = max(1, reps // 2)
    med, best, got = measure(lambda: server_unmask(server_sum([masked[x] for x in survivors]),
                                                   shares, set(survivors), cohort), slow_reps)
    out.add("unmask_1_dropout", p, med, best, slow_reps,
            max_abs_err=_error(got[0], updates, examples, survivors))


def _error(got, updates, examples, nids) -> float:
    """Largest deviation of an unmasked average from the plain weighted average."""
    want = sum(updates[x].astype(np.float64) * examples[x] for x in nids)
    want /= sum(examples[x] for x in nids)
    return float(np.max(np.abs(got - want)))


def bench_shamir(reps: int, out: Results) -> None:
    n, t = 50, 26
    secrets = {"seed": os.urandom(32),
               "sk1_pem": private_key_to_bytes(generate_key_pairs()[0])}
    for label, secret in secrets.items():
        p = {"secret_bytes": len(secret), "n": n, "t": t}
        med, best, _ = measure(lambda: create_shares(secret, t, n), reps)
        out.add("shamir_split", p, med, best, reps, secret=label)
        some = create_shares(secret, t, n)[:t]
        assert combine_shares(some) == secret
        med, best, _ = measure(lambda: combine_shares(some), reps)
        out.add("shamir_combine", p, med, best, reps, secret=label)
    med, best, _ = measure(generate_key_pairs, 4 * reps)
    out.add("keygen_p384", {}, med, best, 4 * reps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--D", default="100000,1000000", help="update lengths, comma separated")
    ap.add_argument("--k", default="10,50", help="neighbour counts, comma separated")
    ap.add_argument("--quick", action="store_true", help="D = 100,000 only")
    ap.add_argument("--json", default=None, help="write the results to this file")
    args = ap.parse_args()
    dims = [100_000] if args.quick else [int(x) for x in args.D.split(",")]
    ks = [int(x) for x in args.k.split(",")]
    print(f"flwr {flwr.__version__}, numpy {np.__version__}, python "
          f"{platform.python_version()}, {os.cpu_count()} cpus", flush=True)

    out = Results()
    bench_shamir(max(args.reps, 10), out)
    for dim in dims:
        for k in ks:
            bench_secagg(dim, k, args.reps, out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": {"flwr": flwr.__version__, "numpy": np.__version__,
                                    "python": sys.version},
                       "results": out.rows}, f, indent=1)


if __name__ == "__main__":
    main()

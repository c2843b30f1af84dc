#!/usr/bin/env python3
"""Peer baseline for din's secure round: one whole Flower SecAgg+ round, timed per stage.

Flower's public APIs only, in its simulation engine (needs `flwr[simulation]`, i.e. Ray):
a `ServerApp` running `DefaultWorkflow` with a `SecAggPlusWorkflow` as its fit workflow
over a FedAvg strategy, and a `ClientApp` with `secaggplus_mod`. Each client's update
is a random float32 vector of M entries (no training: what is timed is the protocol and
the framework). The first round(DROP_FRACTION * N) clients raise in `fit`, i.e. they drop
out after the two key-sharing stages, as in din's `examples/secure_round_bench.rs`.

Usage: python flwr_secaggplus_e2e.py N M NUM_SHARES THRESHOLD DROP_FRACTION
  NUM_SHARES and THRESHOLD are passed to SecAggPlusWorkflow as given: an integer is a
  count, a number with a decimal point a fraction (Flower's convention).
  e.g. `python flwr_secaggplus_e2e.py 50 100000 11 6 0.2` (k = 10 neighbours, t = 6).
  Keep NUM_SHARES odd: with flwr 1.42 an even count (4 here; 12 in benches/README.md)
  made Flower's own client raise IndexError in `_share_keys`, and the round halts.
Prints one line `RESULT {json}` with n, m, num_shares, threshold, dropped, stage_s
(setup, share_keys, collect_masked, unmask, workflow_total; seconds) and
wall_incl_sim_startup_s (the whole run_simulation call, Ray start-up included).
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.common import Context, ndarrays_to_parameters
from flwr.server import Grid, LegacyContext, ServerApp, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.simulation import run_simulation

# Wall time of each server-side stage, filled in while the ServerApp runs (it runs in
# this process; the clients run in Ray workers).
STAGE_SECONDS: dict[str, float] = {}


def _timed_stage(method: str, key: str):
    def stage(self, grid, context, state):
        start = time.perf_counter()
        try:
            return getattr(SecAggPlusWorkflow, method)(self, grid, context, state)
        finally:
            STAGE_SECONDS[key] = time.perf_counter() - start
    return stage


class StageTimedSecAggPlus(SecAggPlusWorkflow):
    """Flower's SecAgg+ workflow, unchanged except that its stages are timed."""

    setup_stage = _timed_stage("setup_stage", "setup")
    share_keys_stage = _timed_stage("share_keys_stage", "share_keys")
    collect_masked_vectors_stage = _timed_stage("collect_masked_vectors_stage", "collect_masked")
    unmask_stage = _timed_stage("unmask_stage", "unmask")


class RandomUpdateClient(NumPyClient):
    def __init__(self, partition: int, m: int, drops: bool):
        self.partition, self.m, self.drops = partition, m, drops

    def fit(self, parameters, config):
        if self.drops:
            raise RuntimeError("simulated dropout after key sharing")
        rng = np.random.default_rng(self.partition)
        return [(rng.standard_normal(self.m) * 0.1).astype(np.float32)], 10, {}

    def evaluate(self, parameters, config):
        return 0.0, 1, {}


def count_or_fraction(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def build_apps(n: int, m: int, num_shares, threshold, dropped: int):
    def client_fn(context: Context):
        partition = int(context.node_config["partition-id"])
        return RandomUpdateClient(partition, m, partition < dropped).to_client()

    client_app = ClientApp(client_fn=client_fn, mods=[secaggplus_mod])
    server_app = ServerApp()

    @server_app.main()
    def _(grid: Grid, context: Context) -> None:
        strategy = FedAvg(
            fraction_fit=1.0, fraction_evaluate=0.0,
            min_fit_clients=n, min_available_clients=n,
            initial_parameters=ndarrays_to_parameters([np.zeros(m, dtype=np.float32)]),
        )
        legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=1),
                               strategy=strategy)
        workflow = DefaultWorkflow(fit_workflow=StageTimedSecAggPlus(
            num_shares=num_shares, reconstruction_threshold=threshold, max_weight=100.0))
        start = time.perf_counter()
        workflow(grid, legacy)
        STAGE_SECONDS["workflow_total"] = time.perf_counter() - start

    return server_app, client_app


def main(argv: list[str]) -> None:
    if len(argv) != 5:
        sys.exit(__doc__)
    n, m = int(argv[0]), int(argv[1])
    num_shares, threshold = count_or_fraction(argv[2]), count_or_fraction(argv[3])
    dropped = int(round(float(argv[4]) * n))
    server_app, client_app = build_apps(n, m, num_shares, threshold, dropped)
    start = time.perf_counter()
    run_simulation(server_app=server_app, client_app=client_app, num_supernodes=n,
                   backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}})
    wall = time.perf_counter() - start
    print("RESULT " + json.dumps({
        "n": n, "m": m, "num_shares": num_shares, "threshold": threshold,
        "dropped": dropped,
        "stage_s": {k: round(v, 3) for k, v in STAGE_SECONDS.items()},
        "wall_incl_sim_startup_s": round(wall, 2),
    }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

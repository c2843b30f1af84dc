#!/usr/bin/env python3
"""Peer baseline for din-fl's local training: one epoch of an MLP in PyTorch on the CPU.

Workload (the one `examples/fl_bench.rs` runs on din): MLP 784-128-10 with ReLU,
cross-entropy, plain SGD (lr 0.01), batch 64, one epoch over 60,000 random float32
samples of 784 features with labels in 0..9 (random data: only speed is measured).
Each thread count gets a fresh model, a short warm-up (100 batches), then `--epochs`
timed epochs; the median is reported. Threads default to 1 (the figure compared with
din) and torch's default count (all cores), when that differs.

Usage: python torch_mlp.py [--epochs 3] [--threads 1,2] [--samples 60000] [--quick]
                           [--json OUT]
The JSON file is a list of rows {"threads", "torch", "epochs", "samples", "batch",
"median_epoch_s", "min_epoch_s", "samples_per_s", "steps_per_s", "params"}
(read by benches/compare_fl.sh).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch
from torch import nn

BATCH = 64


def one_epoch(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
              y: torch.Tensor) -> float:
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(x.shape[0])
    loss = torch.zeros(())
    for start in range(0, x.shape[0], BATCH):
        batch = order[start:start + BATCH]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[batch]), y[batch])
        loss.backward()
        opt.step()
    return loss.detach().item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", default=None,
                    help="comma-separated torch thread counts (default: 1 and all)")
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--quick", action="store_true", help="smoke run: 2,048 samples, 1 epoch")
    ap.add_argument("--json", default=None, help="write the rows to this file")
    args = ap.parse_args()
    samples, epochs = (2_048, 1) if args.quick else (args.samples, args.epochs)
    if args.threads:
        thread_counts = [int(t) for t in args.threads.split(",")]
    else:
        thread_counts = sorted({1, torch.get_num_threads()})

    torch.manual_seed(0)
    x = torch.randn(samples, 784)
    y = torch.randint(0, 10, (samples,))
    warm = min(samples, 100 * BATCH)
    steps = math.ceil(samples / BATCH)

    rows = []
    for threads in thread_counts:
        torch.set_num_threads(threads)
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        one_epoch(model, opt, x[:warm], y[:warm])
        times = []
        for _ in range(epochs):
            start = time.perf_counter()
            one_epoch(model, opt, x, y)
            times.append(time.perf_counter() - start)
        med = statistics.median(times)
        params = sum(p.numel() for p in model.parameters())
        rows.append({"threads": threads, "torch": torch.__version__, "epochs": epochs,
                     "samples": samples, "batch": BATCH, "median_epoch_s": med,
                     "min_epoch_s": min(times), "samples_per_s": samples / med,
                     "steps_per_s": steps / med, "params": params})
        print(f"torch {torch.__version__} MLP 784-128-10, {threads} thread(s): epoch of "
              f"{samples:,} median {med:.3f} s (min {min(times):.3f}), "
              f"{samples / med:,.0f} samples/s, {params} parameters", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()

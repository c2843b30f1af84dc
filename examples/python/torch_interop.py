"""Masking and aggregating a PyTorch model's parameters with din, then loading them back.

torch is optional for din; this example needs it (`pip install torch`). Each of five
"participants" perturbs a copy of a small torch MLP (standing in for local training);
their flattened parameters go through din's SecAgg+ protocol with real client objects
(keys, shares, masked inputs, unmasking shares: the bytes a deployment would store by
CID), an evaluator recovers the weighted mean, and it is loaded back into torch.

Run: python examples/python/torch_interop.py
"""

import sys

import numpy as np

import din

try:
    import torch
except ImportError:
    print("this example needs PyTorch: pip install torch", file=sys.stderr)
    sys.exit(0)


def flatten(model: "torch.nn.Module") -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy().astype(np.float32)


def load(model: "torch.nn.Module", vector: np.ndarray) -> None:
    offset = 0
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            p.copy_(torch.from_numpy(vector[offset:offset + n]).reshape(p.shape))
            offset += n
    assert offset == len(vector)


torch.manual_seed(0)
global_model = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
start = flatten(global_model)

n, weights = 5, [10, 20, 30, 40, 50]
updates = []
for i in range(n):
    local = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    load(local, start)
    with torch.no_grad():  # stand-in for local training
        for p in local.parameters():
            p.add_(0.01 * (i + 1))
    updates.append(flatten(local))

params = din.SecAggParams(n, 4, 3, len(start), graph_seed=b"\x2a" * 32)
clients = [din.SecAggClient(params, i) for i in range(n)]
adverts = [c.advertise() for c in clients]
shares = [c.share_keys(adverts) for c in clients]
masked = [c.mask(u, w, shares) for c, u, w in zip(clients, updates, weights)]
reveals = [c.unmask(list(range(n))) for c in clients]
mean, total_weight, digest = din.secagg_unmask(params, adverts, shares, masked, reveals)

load(global_model, mean)
expected = np.average(np.stack(updates), axis=0, weights=weights)
error = float(np.abs(flatten(global_model) - expected).max())
print(f"{len(start)} parameters, total weight {total_weight}, aggregate digest {digest.hex()[:16]}...")
print(f"max |secure mean - plain mean| = {error:.2e}")
assert error < 2.0 ** -10

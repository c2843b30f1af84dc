# %% [markdown]
# # din quickstart: federated MNIST with secure aggregation, from numpy
#
# Ten participants each hold a slice of MNIST (the 10,000-image split that ships inside
# the package: `din.load_mnist()`). Every round each trains the global model locally
# with din's Rust trainer, the ten updates are combined by the SecAgg+ protocol
# (masked, two participants drop out after sharing keys, the mean is recovered
# exactly), and the global model
# moves to that mean. Finally the participants' contributions are scored with
# BlockFlow's median scoring.
#
# Run: `python examples/python/quickstart.py` from the repository root, after
# `pip install ./bindings-python`.

# %%
import numpy as np

import din

x, y = din.load_mnist()
rng = np.random.default_rng(0)
order = rng.permutation(len(y))
train, test = order[:8000], order[8000:]
participants = np.array_split(train, 10)  # IID slices of 800 samples
print(f"{len(train)} training samples over {len(participants)} participants, {len(test)} test samples")

# %% [markdown]
# ## Federated rounds with secure aggregation

# %%
ROUNDS, DROPPED = 5, [3, 8]
global_model = din.Model.mlp(784, 10, [128], seed=0)
history = []
for r in range(1, ROUNDS + 1):
    start = global_model.get_parameters()
    updates, weights = [], []
    for i, idx in enumerate(participants):
        local = din.Model.mlp(784, 10, [128], seed=0)
        local.set_parameters(start)
        local.fit(x[idx], y[idx], epochs=1, batch_size=32, lr=0.1, seed=r * 100 + i)
        updates.append(local.get_parameters())
        weights.append(len(idx))
    mean = din.simulate_secure_aggregation(
        np.stack(updates), weights, neighbours=6, threshold=4, dropouts=DROPPED, seed=r
    )
    global_model.set_parameters(mean)
    metrics = global_model.evaluate(x[test], y[test])
    history.append(metrics["accuracy"])
    print(f"round {r}: accuracy {metrics['accuracy']:.4f}  loss {metrics['loss']:.4f}  f1 {metrics['f1']:.4f}")

# %% [markdown]
# Secure aggregation returns the same mean as plain FedAvg of the survivors, up to the
# 2^-12 fixed-point quantization:

# %%
survivors = [i for i in range(len(participants)) if i not in DROPPED]
plain = din.fedavg(np.stack([updates[i] for i in survivors]), [weights[i] for i in survivors])
print("max |secure - plain| =", float(np.abs(mean - plain).max()))
assert np.abs(mean - plain).max() < 2.0 ** -10

# %% [markdown]
# ## Scoring contributions (BlockFlow median scoring)
#
# Three evaluators score every participant's last local model on the test split;
# one of them lies. Median scoring keeps the participants' scores and marks the liar.

# %%
scores = np.zeros((3, len(participants)))
for k, u in enumerate(updates):
    m = din.Model.mlp(784, 10, [128])
    m.set_parameters(u)
    acc = m.evaluate(x[test], y[test])["accuracy"]
    scores[0, k] = acc
    scores[1, k] = min(1.0, acc + 0.01)
    scores[2, k] = 1.0 - acc  # the liar
participant_scores, evaluator_quality = din.median_scores(scores)
print("participant scores:", np.round(participant_scores, 3))
print("evaluator quality:", np.round(evaluator_quality, 3))
assert evaluator_quality[2] == 0.0

# %%
print(f"final accuracy {history[-1]:.4f} after {ROUNDS} rounds")
assert history[-1] > 0.85

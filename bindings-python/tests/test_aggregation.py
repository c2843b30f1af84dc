"""FedAvg, secure aggregation and median scoring from numpy."""

import csv

import numpy as np
import pytest

import din


def test_fedavg_matches_numpy():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(20, 1001)).astype(np.float32)
    w = rng.integers(1, 100, size=20).astype(np.float64)
    ref = (u.astype(np.float64) * w[:, None]).sum(0) / w.sum()
    out = din.fedavg(u, w)
    assert out.dtype == np.float32 and out.shape == (1001,)
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
    # A list of 1-D arrays gives the same bytes; so does a second call (deterministic).
    assert din.fedavg(list(u), list(w)).tobytes() == out.tobytes()
    assert din.fedavg(u, w).tobytes() == out.tobytes()
    # Non-contiguous input (a strided view) works too.
    np.testing.assert_allclose(din.fedavg(u[:, ::2], w), ref[::2], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "updates, weights, match",
    [
        (np.ones((3, 4)), [1, 2, 3], "float32"),  # float64 updates
        (np.ones((3, 4), dtype=np.float32), [1, 2], "3 updates"),
        ([np.ones(4, dtype=np.float32), np.ones(5, dtype=np.float32)], [1, 1], "length|values|5"),
        (np.array([[np.nan, 1]], dtype=np.float32), [1], "NaN|finite"),
        (np.ones((2, 3), dtype=np.float32), [1, -1], "weight"),
        (np.ones((0, 3), dtype=np.float32), [], "empty|no update|nothing"),
        ("not an array", [1], "float32"),
    ],
)
def test_fedavg_rejects_bad_input(updates, weights, match):
    with pytest.raises(din.InvalidInputError, match=f"(?i){match}"):
        din.fedavg(updates, weights)


def test_secure_aggregation_equals_plain_mean_of_survivors():
    rng = np.random.default_rng(1)
    u = rng.normal(size=(12, 5000)).astype(np.float32)
    w = rng.integers(1, 50, size=12)
    out = din.simulate_secure_aggregation(u, w, neighbours=6, threshold=4, dropouts=[3, 7], seed=5)
    keep = [i for i in range(12) if i not in (3, 7)]
    ref = (u[keep].astype(np.float64) * w[keep, None]).sum(0) / w[keep].sum()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, atol=2.0 ** -11)
    no_drop = din.simulate_secure_aggregation(u, w, neighbours=6, threshold=4)
    np.testing.assert_allclose(no_drop, (u * w[:, None]).sum(0) / w.sum(), atol=2.0 ** -11)


def test_secure_aggregation_fails_loudly():
    u = np.ones((5, 10), dtype=np.float32)
    with pytest.raises(din.SecAggError):  # too many dropouts for the threshold
        din.simulate_secure_aggregation(u, [1] * 5, neighbours=4, threshold=3, dropouts=[0, 1, 2, 3])
    with pytest.raises(din.InvalidInputError, match="weight"):
        din.simulate_secure_aggregation(u, [1.5] * 5, neighbours=4, threshold=3)
    with pytest.raises(din.InvalidInputError, match="NaN"):
        bad = u.copy()
        bad[2, 3] = np.inf
        din.simulate_secure_aggregation(bad, [1] * 5, neighbours=4, threshold=3)
    with pytest.raises(din.SecAggError):
        din.simulate_secure_aggregation(u, [1] * 5, neighbours=4, threshold=9)


def read(path):
    rows = [[float(x) for x in line if x.strip()] for line in csv.reader(open(path)) if line]
    return np.array(rows, dtype=np.float64)


def test_median_scores_reproduce_blockflow(data_dir):
    checked = 0
    for run in sorted((data_dir / "blockflow").glob("*/*")):
        for r in (1, 2, 3):
            matrix = run / f"score_matrix_dp_round_{r}.csv"
            if not matrix.exists():
                continue
            s = read(matrix)
            m_raw = read(run / f"model_scores_dp_round_{r}.csv")[0]
            d_raw = read(run / f"auditor_scores_dp_round_{r}.csv")[:, 0]
            overall = read(run / f"overall_scores_dp_round_{r}.csv")[0]
            m, d = din.median_scores(s)
            np.testing.assert_allclose(m, m_raw / m_raw.max(), atol=1e-12)
            np.testing.assert_allclose(d, d_raw / d_raw.max(), atol=1e-12)
            np.testing.assert_allclose(np.minimum(m, d), overall, atol=1e-12)
            checked += 1
    assert checked >= 9


def test_median_scores_reject_bad_matrices():
    with pytest.raises(din.InvalidInputError):
        din.median_scores(np.array([[1.5, 0.2]]))
    with pytest.raises(din.InvalidInputError):
        din.median_scores(np.array([[np.nan]]))
    with pytest.raises(din.InvalidInputError):
        din.median_scores(np.zeros((0, 3)))
    with pytest.raises(din.InvalidInputError):
        din.median_scores(np.zeros(3))


def run_protocol(n, d, k, t, dropped=(), seed=b"\x07" * 32):
    rng = np.random.default_rng(2)
    updates = rng.normal(size=(n, d)).astype(np.float32)
    weights = rng.integers(1, 20, size=n)
    params = din.SecAggParams(n, k, t, d, graph_seed=seed)
    clients = [din.SecAggClient(params, i) for i in range(n)]
    adverts = [c.advertise() for c in clients]
    shares = [c.share_keys(adverts) for c in clients]
    masked = [c.mask(updates[c.index], int(weights[c.index]), shares) for c in clients if c.index not in dropped]
    survivors = [c.index for c in clients if c.index not in dropped]
    reveals = [clients[i].unmask(survivors) for i in survivors]
    return params, updates, weights, survivors, adverts, shares, masked, reveals


def test_secagg_clients_and_evaluators_exchange_bytes():
    params, u, w, survivors, adverts, shares, masked, reveals = run_protocol(8, 300, 4, 3, dropped=(5,))
    mean, total, digest = din.secagg_unmask(params, adverts, shares, masked, reveals)
    ref = (u[survivors].astype(np.float64) * w[survivors, None]).sum(0) / w[survivors].sum()
    np.testing.assert_allclose(mean, ref, atol=2.0 ** -11)
    assert total == int(w[survivors].sum())
    # A second evaluator, same public messages: identical bytes.
    again = din.secagg_unmask(params, adverts, shares, masked, reveals)
    assert again[2] == digest and again[0].tobytes() == mean.tobytes()
    assert all(isinstance(m, bytes) for m in masked)


def test_secagg_rejects_tampering_and_bad_input():
    params, u, w, survivors, adverts, shares, masked, reveals = run_protocol(6, 50, 4, 3)
    # Masked inputs carry no MAC (integrity comes from their CIDs and the evaluators'
    # majority): a flipped bit changes the exact sum, so the digest no longer agrees.
    honest = din.secagg_unmask(params, adverts, shares, masked, reveals)[2]
    bad = bytearray(masked[0])
    bad[len(bad) // 2] ^= 1
    assert din.secagg_unmask(params, adverts, shares, [bytes(bad)] + masked[1:], reveals)[2] != honest
    with pytest.raises(din.InvalidInputError):
        din.secagg_unmask(params, adverts, shares, [masked[0][:-3]] + masked[1:], reveals)
    with pytest.raises(din.SecAggError):
        din.secagg_unmask(params, adverts, shares, masked, reveals[:2])
    with pytest.raises(din.InvalidInputError, match="32 bytes"):
        din.SecAggParams(4, 2, 2, 10, graph_seed=b"short")
    with pytest.raises(din.DinError):
        din.SecAggParams(4, 3, 9, 10)
    c = din.SecAggClient(params, 0)
    with pytest.raises(din.DinError):
        c.mask(np.zeros(50, dtype=np.float32), 1, shares)  # keys were never shared

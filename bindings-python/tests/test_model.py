"""din.Model: training, evaluation and parameter exchange from numpy."""

import gzip

import numpy as np
import pytest

import din


def mnist(data_dir, n):
    with gzip.open(data_dir / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)[:n]
    with gzip.open(data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:n]
    return (x / 255.0).astype(np.float32), y.astype(np.int64)


def test_load_mnist_is_the_committed_split(data_dir):
    x, y = din.load_mnist()
    assert x.shape == (10_000, 784) and x.dtype == np.float32
    assert y.shape == (10_000,) and y.dtype == np.int64
    fx, fy = mnist(data_dir, 10_000)
    assert np.array_equal(x, fx) and np.array_equal(y, fy)


def test_mlp_learns_mnist(data_dir):
    x, y = mnist(data_dir, 3000)
    model = din.Model.mlp(784, 10, [64], seed=0)
    before = model.evaluate(x[2000:], y[2000:])["accuracy"]
    loss = model.fit(x[:2000], y[:2000], epochs=3, batch_size=32, lr=0.1, seed=0)
    after = model.evaluate(x[2000:], y[2000:])
    assert np.isfinite(loss)
    assert after["accuracy"] > 0.85 > before
    assert set(after) >= {"loss", "accuracy", "precision", "recall", "f1", "confusion"}


def test_training_is_deterministic_for_a_seed(data_dir):
    x, y = mnist(data_dir, 500)
    a = din.Model.logistic_regression(784, 10, seed=3)
    b = din.Model.logistic_regression(784, 10, seed=3)
    a.fit(x, y, epochs=1, seed=9)
    b.fit(x, y, epochs=1, seed=9)
    assert a.get_parameters().tobytes() == b.get_parameters().tobytes()


def test_parameters_round_trip_and_federate():
    m1 = din.Model.mlp(6, 3, [5], seed=1)
    m2 = din.Model.mlp(6, 3, [5], seed=2)
    v1, v2 = m1.get_parameters(), m2.get_parameters()
    assert v1.dtype == np.float32 and v1.shape == (m1.num_parameters,) == (6 * 5 + 5 + 5 * 3 + 3,)
    mean = din.fedavg([v1, v2], [1, 3])
    m1.set_parameters(mean)
    assert m1.get_parameters().tobytes() == mean.tobytes()


def test_cnn_trains_on_images(data_dir):
    x, y = mnist(data_dir, 256)
    model = din.Model.cnn(28, 10, seed=0)
    assert np.isfinite(model.fit(x, y, epochs=1, batch_size=32, lr=0.05))


def test_model_rejects_bad_input():
    m = din.Model.mlp(4, 2, [3])
    x = np.zeros((5, 4), dtype=np.float32)
    y = np.zeros(5, dtype=np.int64)
    with pytest.raises(din.InvalidInputError, match="features"):
        m.fit(np.zeros((5, 3), dtype=np.float32), y)
    with pytest.raises(din.InvalidInputError, match="float32"):
        m.fit(x.astype(np.float64), y)
    with pytest.raises(din.InvalidInputError, match="label"):
        m.fit(x, np.full(5, 7, dtype=np.int64))
    with pytest.raises(din.InvalidInputError, match="labels"):
        m.fit(x, np.zeros(4, dtype=np.int64))
    with pytest.raises(din.InvalidInputError, match="NaN"):
        m.fit(np.full((5, 4), np.nan, dtype=np.float32), y)
    with pytest.raises(din.InvalidInputError, match="optimizer"):
        m.fit(x, y, optimizer="rmsprop")
    with pytest.raises(din.InvalidInputError):
        m.set_parameters(np.zeros(3, dtype=np.float32))
    with pytest.raises(din.InvalidInputError, match="NaN"):
        m.set_parameters(np.full(m.num_parameters, np.nan, dtype=np.float32))
    with pytest.raises(din.InvalidInputError):
        din.Model.cnn(5, 10)
    with pytest.raises(din.InvalidInputError):
        din.Model.mlp(0, 2)

"""The three role clients from Python against a real node (anvil running the compiled
contracts) and a real content-addressed store: a whole task, end to end."""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

import din
from conftest import ROOT

# The example's helpers (start anvil, demo keys), so test and example agree.
_spec = importlib.util.spec_from_file_location("roles_example", ROOT / "examples/python/roles.py")
assert _spec is not None and _spec.loader is not None
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)
key = example.key

ANVIL = Path(
    os.environ.get(
        "DIN_ANVIL",
        ROOT / "din-chain/contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
    )
)
DIN = 10**18


@pytest.fixture(scope="module")
def anvil_url():
    if not ANVIL.exists():
        if os.environ.get("CI"):
            pytest.fail(f"anvil is not installed at {ANVIL} (scripts/test-all.sh installs it)")
        pytest.skip("anvil not installed (npm ci in din-chain/contracts)")
    proc, url = example.start_anvil()
    yield url
    proc.kill()
    proc.wait()


def test_chain_errors_are_typed(anvil_url):
    with pytest.raises(din.ChainError):
        din.Chain("http://127.0.0.1:1")
    with pytest.raises(din.ChainError):
        din.Chain("not a url")
    chain = din.Chain(anvil_url)
    with pytest.raises(din.InvalidInputError, match="private key"):
        chain.add_signer("0x1234")
    with pytest.raises(din.InvalidInputError, match="address"):
        chain.balance("0xnot-an-address")
    with pytest.raises(din.InvalidInputError, match="deployment"):
        chain.token_balance("0x" + "11" * 20)
    with pytest.raises(din.InvalidInputError, match="deployment"):
        chain.use_deployment({"token": "0x" + "11" * 20})
    assert chain.deployment is None
    assert chain.chain_id() == 31337


def test_a_whole_task_through_the_python_role_clients(anvil_url, tmp_path):
    x, y = din.load_mnist()
    train_x, train_y, test_x, test_y = x[:2000], y[:2000], x[9000:], y[9000:]

    chain = din.Chain(anvil_url)
    owner_addr = chain.add_signer(key("owner", 0))
    chain.set_balance(owner_addr, 10**20)
    deployment = chain.deploy(owner_addr)
    assert set(deployment) == {"token", "registry", "manager", "block"}
    assert chain.token_balance(owner_addr) == 10**9 * DIN

    n_participants, n_evaluators, rounds = 4, 3, 2
    p_addrs = [chain.add_signer(key("participant", i)) for i in range(n_participants)]
    e_addrs = [chain.add_signer(key("evaluator", e)) for e in range(n_evaluators)]
    for a in p_addrs + e_addrs:
        chain.set_balance(a, 10**20)
    for a in e_addrs:
        chain.transfer(owner_addr, a, 100 * DIN)
        assert chain.token_balance(a) == 100 * DIN

    # One store every role of this machine shares (a real content-addressed folder).
    store = din.LocalStore(tmp_path / "store")
    hidden = [32]
    deposit = 1000 * DIN
    owner = din.Owner(
        chain, store, owner_addr, tmp_path / "owner",
        genesis=din.Model.mlp(784, 10, hidden, seed=0),
        test_x=test_x, test_y=test_y,
        participants=n_participants, evaluators=n_evaluators, rounds=rounds,
        deposit=deposit, subgroup_size=n_participants, evaluators_per_subgroup=3,
        stage_period=600,
    )
    assert owner.task is None
    first = owner.step()
    assert first["status"] == "acted", first
    task = owner.task
    assert task is not None

    shards = np.array_split(np.arange(len(train_x)), n_participants)
    participants = []
    for i, idx in enumerate(shards[:-1]):
        trainer = din.Trainer(din.Model.mlp(784, 10, hidden), train_x[idx], train_y[idx],
                              epochs=2, lr=0.1, seed=i)
        participants.append(
            din.Participant(chain, store, p_addrs[i], task, tmp_path / f"p{i}", trainer)
        )

    # The last Participant trains in Python (any callable), and fails once: the failed
    # step raises, changes nothing, and the next step retries.
    last = shards[-1]
    calls = []

    def python_trainer(round_, global_params):
        calls.append(round_)
        if len(calls) == 1:
            raise RuntimeError("a transient failure")
        model = din.Model.mlp(784, 10, hidden)
        model.set_parameters(global_params)
        model.fit(train_x[last], train_y[last], epochs=2, lr=0.1, seed=round_)
        return model.get_parameters(), len(last)

    participants.append(
        din.Participant(chain, store, p_addrs[-1], task, tmp_path / "p-last", python_trainer)
    )

    # Two Evaluators score with the built-in accuracy scorer (a din.Model of the task's
    # architecture), one with a Python callable computing the same score: honest
    # Evaluators must agree exactly.
    def accuracy(params, xs, ys):
        m = din.Model.mlp(784, 10, hidden)
        m.set_parameters(params)
        return m.evaluate(xs, ys)["accuracy"]

    def python_scorer(xs, ys, global_params, params):
        assert xs.dtype == np.float32 and xs.shape == (len(ys), 784)
        chance = 1.0 / 10
        gain = max(accuracy(global_params, xs, ys) - chance, 1e-9)
        s = min(max((accuracy(params, xs, ys) - chance) / gain, 0.0), 1.0)
        return 0.0 if s < 0.5 else s

    evaluators = [
        din.Evaluator(chain, store, e_addrs[e], task, tmp_path / f"e{e}",
                      scorer=din.Model.mlp(784, 10, hidden) if e < 2 else python_scorer)
        for e in range(n_evaluators)
    ]

    failures = []
    acted = []
    roles = [owner, *participants, *evaluators]
    while True:
        try:
            din.drive(roles, chain=chain, progress=lambda i, s: acted.append((i, s["what"])))
            break
        except din.ProtocolError as e:
            failures.append(str(e))
            assert len(failures) == 1, failures
    assert "transient failure" in failures[0]
    assert calls[0] == 1 and sorted(set(calls)) == [1, 2]

    # Every action happened once; the money adds up to the wei.
    assert any("published" in what or "model" in what for _, what in acted)
    paid_p = [p.claimed for p in participants]
    paid_e = [e.claimed for e in evaluators]
    assert all(c is not None and c > 0 for c in paid_p), paid_p
    assert all(c is not None and c > 0 for c in paid_e), paid_e
    refund = owner.refunded or 0
    assert sum(paid_p) + sum(paid_e) + refund == deposit
    for p, a in zip(participants, p_addrs):
        assert chain.token_balance(a) == p.claimed
    for e, a in zip(evaluators, e_addrs):  # the reward; the stake stays in the registry
        assert chain.token_balance(a) == e.claimed
    assert all(op for op, gas in owner.gas) and sum(g for _, g in owner.gas) > 21_000
    assert any(op == "submit_update" for op, _ in participants[0].gas)

    # The final global model, fetched by its CID from the store, learned.
    cid = chain.model_cid(task, rounds)
    assert cid is not None and store.has(cid)
    final = din.Model.mlp(784, 10, hidden)
    final.load_bytes(store.get(cid))
    assert final.evaluate(test_x, test_y)["accuracy"] > 0.8
    with pytest.raises(din.DinError):
        final.load_bytes(store.get(cid)[:-3])
    with pytest.raises(din.DinError):
        din.Model.mlp(784, 10, [16]).load_bytes(store.get(cid))


def test_role_constructors_reject_bad_arguments(anvil_url, tmp_path):
    chain = din.Chain(anvil_url)
    store = din.LocalStore(tmp_path / "store")
    addr = chain.add_signer(key("bad", 0))
    with pytest.raises(din.InvalidInputError, match="deployment"):
        din.Participant(chain, store, addr, 0, tmp_path / "p", lambda r, g: (g, 1))
    chain.set_balance(addr, 10**20)
    chain.deploy(addr)
    with pytest.raises(din.InvalidInputError, match="trainer"):
        din.Participant(chain, store, addr, 0, tmp_path / "p", 42)
    with pytest.raises(din.InvalidInputError, match="store"):
        din.Participant(chain, "not a store", addr, 0, tmp_path / "p", lambda r, g: (g, 1))
    with pytest.raises(din.InvalidInputError, match="scorer"):
        din.Evaluator(chain, store, addr, 0, tmp_path / "e", scorer="accuracy")
    with pytest.raises(din.InvalidInputError, match="address"):
        din.Evaluator(chain, store, "0x12", 0, tmp_path / "e", scorer=lambda *a: 1.0)
    model = din.Model.mlp(784, 10, [8])
    x = np.zeros((4, 784), np.float32)
    y = np.zeros(4, np.int64)
    trainer = din.Trainer(model, x, y)
    din.Participant(chain, store, addr, 0, tmp_path / "p1", trainer)
    with pytest.raises(din.InvalidInputError, match="already belongs"):
        din.Participant(chain, store, addr, 0, tmp_path / "p2", trainer)
    with pytest.raises(din.InvalidInputError):
        din.Trainer(model, x[:, :10], y)
    with pytest.raises(din.InvalidInputError):
        din.Trainer(model, x, y, epochs=0)
    with pytest.raises(din.InvalidInputError):
        din.Owner(chain, store, addr, tmp_path / "o", genesis=model, test_x=x, test_y=y[:2],
                  participants=2, evaluators=1, rounds=1, deposit=DIN, subgroup_size=2)
    # A task that does not exist: the first step says so with a typed error.
    p = din.Participant(chain, store, addr, 999, tmp_path / "p3", lambda r, g: (g, 1))
    with pytest.raises(din.DinError):
        p.step()

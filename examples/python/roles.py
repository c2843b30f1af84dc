"""The three DIN roles from Python against a real node: a Model Owner, Participants and
Evaluators, each a `din` role client stepping through a task on an EVM chain.

    python examples/python/roles.py                      # starts its own anvil
    python examples/python/roles.py --rpc http://127.0.0.1:8545 --ipfs http://127.0.0.1:5001

Without --rpc it starts anvil (from `npm ci` in din-chain/contracts, or $DIN_ANVIL) and
moves the chain's clock to each deadline when every role waits; with --rpc it waits in
real time. Without --ipfs every role shares one local content-addressed folder. In a
real deployment each role runs in its own process (or machine) with its own state
directory; here they share one process to show the whole task.
"""

import argparse
import hashlib
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import din

ROOT = Path(__file__).resolve().parents[2]
DIN = 10**18


def start_anvil():
    path = Path(os.environ.get(
        "DIN_ANVIL", ROOT / "din-chain/contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"))
    if not path.exists():
        raise SystemExit(f"anvil not found at {path}: run `npm ci` in din-chain/contracts or pass --rpc")
    proc = subprocess.Popen(
        [str(path), "--host", "127.0.0.1", "--port", "0", "--hardfork", "prague", "--chain-id",
         "31337", "--block-base-fee-per-gas", "0", "--gas-price", "0", "--gas-limit", "30000000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Listening on 127.0.0.1:"):
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, f"http://127.0.0.1:{int(line.rsplit(':', 1)[1])}"
    raise SystemExit("anvil did not start")


def key(role: str, i: int) -> str:
    """Demo keys derived from names: never use such keys with real funds."""
    return "0x" + hashlib.sha256(f"din python roles example {role} {i}".encode()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rpc", help="JSON-RPC URL of a dev node (default: start anvil)")
    ap.add_argument("--ipfs", help="IPFS RPC API URL (default: a local store folder)")
    ap.add_argument("--participants", type=int, default=8)
    ap.add_argument("--evaluators", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--stage-period", type=int, default=600)
    a = ap.parse_args()

    anvil = None
    if a.rpc is None:
        anvil, a.rpc = start_anvil()
    work = Path(tempfile.mkdtemp(prefix="din-roles-"))
    try:
        x, y = din.load_mnist()
        # 800 training samples per Participant (an update's weight, its sample count,
        # is at most 1000 with the default fixed-point encoding), 2,000 test samples.
        n_train = 800 * min(a.participants, 10)
        train_x, train_y, test_x, test_y = x[:n_train], y[:n_train], x[8000:], y[8000:]

        chain = din.Chain(a.rpc)
        owner_addr = chain.add_signer(key("owner", 0))
        chain.set_balance(owner_addr, 10**20)
        chain.deploy(owner_addr)
        p_addrs = [chain.add_signer(key("participant", i)) for i in range(a.participants)]
        e_addrs = [chain.add_signer(key("evaluator", e)) for e in range(a.evaluators)]
        for addr in p_addrs + e_addrs:
            chain.set_balance(addr, 10**20)
        for addr in e_addrs:
            chain.transfer(owner_addr, addr, 100 * DIN)  # each Evaluator stakes 100 DIN
        store = din.IpfsStore(a.ipfs) if a.ipfs else din.LocalStore(work / "store")

        deposit = 1000 * DIN
        owner = din.Owner(
            chain, store, owner_addr, work / "owner",
            genesis=din.Model.mlp(784, 10, [128], seed=0), test_x=test_x, test_y=test_y,
            participants=a.participants, evaluators=a.evaluators, rounds=a.rounds,
            deposit=deposit, subgroup_size=a.participants,
            evaluators_per_subgroup=a.evaluators, stage_period=a.stage_period,
        )
        owner.step()  # creates the task
        task = owner.task
        assert task is not None
        print(f"task {task} created on {a.rpc}: {a.participants} participants, "
              f"{a.evaluators} evaluators, {a.rounds} rounds")

        shards = np.array_split(np.arange(len(train_x)), a.participants)
        participants = [
            din.Participant(chain, store, p_addrs[i], task, work / f"participant-{i}",
                            din.Trainer(din.Model.mlp(784, 10, [128]), train_x[idx], train_y[idx],
                                        epochs=2, lr=0.1, seed=i))
            for i, idx in enumerate(shards)
        ]
        evaluators = [
            din.Evaluator(chain, store, e_addrs[e], task, work / f"evaluator-{e}",
                          scorer=din.Model.mlp(784, 10, [128]))
            for e in range(a.evaluators)
        ]
        roles = [owner, *participants, *evaluators]
        names = ["owner"] + [f"participant {i}" for i in range(a.participants)] + [
            f"evaluator {e}" for e in range(a.evaluators)]
        started = time.monotonic()
        actions = din.drive(
            roles, chain=chain if anvil is not None else None,
            progress=lambda i, s: print(f"  {names[i]}: {s['what']}", flush=True))

        final = din.Model.mlp(784, 10, [128])
        final_cid = chain.model_cid(task, a.rounds)
        assert final_cid is not None
        final.load_bytes(store.get(final_cid))
        accuracy = final.evaluate(test_x, test_y)["accuracy"]
        paid_p = sum(p.claimed or 0 for p in participants)
        paid_e = sum(e.claimed or 0 for e in evaluators)
        refund = owner.refunded or 0
        print(f"done: {actions} actions in {time.monotonic() - started:.1f} s; "
              f"final model {final_cid}: accuracy {accuracy:.4f}")
        print(f"deposit {deposit} = participants {paid_p} + evaluators {paid_e} + refund {refund}: "
              f"{'exact' if paid_p + paid_e + refund == deposit else 'MISMATCH'}")
        gas = sum(g for r in roles for _, g in r.gas)
        print(f"gas: {gas:,} in all, submit_update "
              f"{[g for op, g in participants[0].gas if op == 'submit_update'][:1]}")
    finally:
        if anvil is not None:
            anvil.kill()
            anvil.wait()


if __name__ == "__main__":
    main()

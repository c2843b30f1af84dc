"""din: the Decentralized Intelligence Network SDK, from Python.

Rust does the heavy work (training, masking, aggregation, hashing) with the GIL
released; numpy arrays go in and come out.

>>> import numpy as np, din
>>> din.cid(b"hello din\\n")
'bafkreianmtrqcluipj3k7kf727xeqbhyosd4vw4facgiakbrlq24i527wy'
>>> din.fedavg(np.ones((3, 4), dtype=np.float32), [1, 2, 3]).tolist()
[1.0, 1.0, 1.0, 1.0]

Errors are ``din.DinError`` subclasses carrying the Rust message:
``InvalidInputError`` (bad shapes, dtypes, lengths, NaN), ``CidError``,
``EncodingError``, ``StoreError``, ``SecAggError``, ``ScoringError``, ``TrainingError``,
``ChainError`` (a contract's named error, an unreachable node) and ``ProtocolError``.

A whole task (the quickstart) in one call: ``din.run_task(rounds=5)`` returns its
summary as a dict.

The three roles against a real chain and store: ``din.Chain(url)`` (JSON-RPC, with
signing keys and the DIN contracts), ``din.IpfsStore(api)`` or ``din.LocalStore(path)``,
then ``din.Owner``, ``din.Participant`` (training with a ``din.Trainer`` or any
callable) and ``din.Evaluator``; each ``step()`` does the next thing due, and
``din.drive(roles)`` steps them all until the task is over.
"""

import json as _json
import os as _os
import time as _time
from typing import (
    Any as _Any,
    Callable as _Callable,
    Dict as _Dict,
    List as _List,
    Optional as _Optional,
    Sequence as _Sequence,
    Union as _Union,
)

from din._din import (
    Chain,
    ChainError,
    CidError,
    DinError,
    EncodingError,
    Evaluator,
    InvalidInputError,
    IpfsStore,
    LocalStore,
    Model,
    Owner,
    Participant,
    ProtocolError,
    ScoringError,
    SecAggClient,
    SecAggError,
    SecAggParams,
    StoreError,
    Trainer,
    TrainingError,
    __version__,
    cid,
    decode_json,
    encode_json,
    fedavg,
    load_mnist,
    median_scores,
    run_task_json,
    secagg_unmask,
    simulate_secure_aggregation,
)

__all__ = [
    "Chain",
    "ChainError",
    "CidError",
    "DinError",
    "EncodingError",
    "Evaluator",
    "InvalidInputError",
    "IpfsStore",
    "LocalStore",
    "Model",
    "Owner",
    "Participant",
    "ProtocolError",
    "ScoringError",
    "SecAggClient",
    "SecAggError",
    "SecAggParams",
    "StoreError",
    "Trainer",
    "TrainingError",
    "__version__",
    "cid",
    "decode",
    "drive",
    "encode",
    "fedavg",
    "load_mnist",
    "median_scores",
    "run_task",
    "secagg_unmask",
    "simulate_secure_aggregation",
]


def encode(kind: str, value: _Union[str, _Dict[str, _Any]]) -> bytes:
    """din-core's canonical bytes of a ``kind`` value given as a dict (or JSON text).

    ``kind`` is one of ``task_config``, ``model_ref``, ``update_record``,
    ``subgroup_assignment``, ``score_commitment``, ``score_reveal``.
    """
    text = value if isinstance(value, str) else _json.dumps(value)
    return encode_json(kind, text)


def decode(kind: str, data: bytes) -> _Dict[str, _Any]:
    """The value (as a dict) of canonical bytes of a ``kind`` value; strict."""
    result: _Dict[str, _Any] = _json.loads(decode_json(kind, data))
    return result


def run_task(
    *,
    participants: int = 30,
    subgroup_size: int = 10,
    evaluators_per_subgroup: int = 3,
    rounds: int = 5,
    model: str = "mlp",
    local_epochs: int = 5,
    seed: int = 0,
    drop: int = 0,
    lying_evaluators: int = 0,
    garbage_updates: int = 0,
    data_dir: _Optional[str] = None,
    progress: _Optional[_Callable[[_Dict[str, _Any]], None]] = None,
) -> _Dict[str, _Any]:
    """Runs a whole DIN task on the embedded defaults and returns its summary.

    The quickstart's task (``cargo run --release --example quickstart``): a Model
    Owner, ``participants`` Participants training ``model`` on MNIST partitions in
    subgroups of ``subgroup_size`` with SecAgg+ masking, ``evaluators_per_subgroup``
    staked Evaluators per subgroup, ``rounds`` rounds through the contracts on an
    in-process EVM, scoring on the sealed test set and settlement. Faults: ``drop``
    Participants vanish after masking, ``lying_evaluators`` lie about aggregates or
    scores, ``garbage_updates`` Participants upload noise or inverted-label models.

    ``data_dir`` holds ``mnist/`` with MNIST's ``t10k`` files (default: ``$DIN_DATA`` if
    set, else the copy of MNIST's 10k split compiled into the package).
    ``progress`` is called with a dict (``round``, ``rounds``, ``trained_steps``,
    ``total_steps``, ``last``) after every action. Runs with the GIL released.

    The summary has ``final_accuracy``, ``accuracy_per_round``, ``rounds``,
    ``participants``, ``evaluators``, ``deposit_wei``, ``paid_participants_wei``,
    ``paid_evaluators_wei``, ``refundable_wei`` (decimal strings), ``accounting_exact``,
    ``slashed_evaluators``, ``zero_reward_participants``, ``gas`` (operation: mean gas),
    ``gas_by_role``, ``participant_outcomes``, ``evaluator_outcomes``,
    ``verified_rounds`` and ``wall_seconds``.
    """
    directory = data_dir if data_dir is not None else _os.environ.get("DIN_DATA")
    summary: _Dict[str, _Any] = _json.loads(
        run_task_json(
            data_dir=directory,
            participants=participants,
            subgroup_size=subgroup_size,
            evaluators_per_subgroup=evaluators_per_subgroup,
            rounds=rounds,
            model=model,
            local_epochs=local_epochs,
            seed=seed,
            drop=drop,
            lying_evaluators=lying_evaluators,
            garbage_updates=garbage_updates,
            progress=progress,
        )
    )
    return summary


_Role = _Union[Owner, Participant, Evaluator]


def drive(
    roles: _Sequence[_Role],
    *,
    chain: _Optional[Chain] = None,
    poll: float = 1.0,
    timeout: _Optional[float] = None,
    progress: _Optional[_Callable[[int, _Dict[str, _Any]], None]] = None,
) -> int:
    """Steps every role in turn until all are done; returns the number of actions.

    When every role waits: with ``chain`` given (a development node such as anvil),
    the chain's clock jumps to the earliest deadline any role waits for (or one block
    is mined when none has a deadline); without it, ``drive`` sleeps ``poll`` seconds
    and lets real time pass (a public chain, or a node mining on a timer).
    ``progress(index, step)`` is called for every action. ``timeout`` (seconds of wall
    time) raises ``ProtocolError`` when the roles are not done by then, as do twenty
    rounds in a row in which no role can act and the clock has no deadline to move to.
    """
    started = _time.monotonic()
    done: _List[bool] = [False] * len(roles)
    actions = 0
    stalls = 0
    while not all(done):
        acted = False
        until: _Optional[int] = None
        waits: _List[str] = []
        for i, role in enumerate(roles):
            if done[i]:
                continue
            step = role.step()
            if step["status"] == "acted":
                acted = True
                actions += 1
                if progress is not None:
                    progress(i, step)
            elif step["status"] == "done":
                done[i] = True
            else:
                waits.append(f"role {i}: {step['reason']}")
                t = step.get("until")
                if t is not None:
                    until = t if until is None else min(until, t)
        if timeout is not None and _time.monotonic() - started > timeout:
            raise ProtocolError(f"the roles are not done after {timeout} s: " + "; ".join(waits))
        if acted or all(done):
            stalls = 0
            continue
        if chain is None:
            _time.sleep(poll)
            continue
        now = chain.now()
        if until is not None and until > now:
            stalls = 0
            chain.advance_time(until - now)
        else:
            stalls += 1
            if stalls > 20:
                raise ProtocolError("no role can go on: " + "; ".join(waits))
            chain.mine(1)
    return actions

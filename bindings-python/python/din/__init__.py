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
``EncodingError``, ``StoreError``, ``SecAggError``, ``ScoringError``, ``TrainingError``.
"""

import json as _json
from typing import Any as _Any, Dict as _Dict, Union as _Union

from din._din import (
    CidError,
    DinError,
    EncodingError,
    InvalidInputError,
    LocalStore,
    Model,
    ScoringError,
    SecAggClient,
    SecAggError,
    SecAggParams,
    StoreError,
    TrainingError,
    __version__,
    cid,
    decode_json,
    encode_json,
    fedavg,
    median_scores,
    secagg_unmask,
    simulate_secure_aggregation,
)

__all__ = [
    "CidError",
    "DinError",
    "EncodingError",
    "InvalidInputError",
    "LocalStore",
    "Model",
    "ScoringError",
    "SecAggClient",
    "SecAggError",
    "SecAggParams",
    "StoreError",
    "TrainingError",
    "__version__",
    "cid",
    "decode",
    "encode",
    "fedavg",
    "median_scores",
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

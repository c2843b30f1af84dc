"""Type stubs of din's native module (checked against it by mypy's stubtest)."""

from os import PathLike
from typing import Any, Callable, Dict, Optional, Sequence, Union, final

import numpy as np
import numpy.typing as npt

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
    "decode_json",
    "encode_json",
    "fedavg",
    "load_mnist",
    "median_scores",
    "run_task_json",
    "secagg_unmask",
    "simulate_secure_aggregation",
]
__version__: str

class DinError(Exception): ...
class InvalidInputError(DinError): ...
class CidError(DinError): ...
class EncodingError(DinError): ...
class StoreError(DinError): ...
class SecAggError(DinError): ...
class ScoringError(DinError): ...
class TrainingError(DinError): ...
class ChainError(DinError): ...
class ProtocolError(DinError): ...

_Updates = Union[npt.NDArray[np.float32], Sequence[npt.NDArray[np.float32]]]
_Weights = Union[npt.NDArray[np.float64], Sequence[float]]

def load_mnist() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """MNIST's 10,000-image test split compiled into the package: ``(x, y)``, ``x``
    float32 of shape (10000, 784) in [0, 1], ``y`` int64 labels."""

def cid(data: bytes) -> str:
    """The CIDv1 of ``data`` as ``ipfs add --cid-version=1`` computes it."""

def fedavg(updates: _Updates, weights: _Weights) -> npt.NDArray[np.float32]:
    """Sample-weighted FedAvg of float32 updates (rows) with ``weights``."""

def simulate_secure_aggregation(
    updates: _Updates,
    weights: _Weights,
    *,
    neighbours: int,
    threshold: int,
    dropouts: Sequence[int] = ...,
    seed: int = 0,
) -> npt.NDArray[np.float32]:
    """SecAgg+ among simulated clients; the dequantized weighted mean of survivors."""

def encode_json(kind: str, value_json: str) -> bytes:
    """Canonical bytes of a value given as JSON."""

def decode_json(kind: str, data: bytes) -> str:
    """JSON of a value given as canonical bytes."""

def median_scores(
    scores: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """BlockFlow median scoring: (participant scores m', evaluator quality d')."""

@final
class LocalStore:
    """A local content-addressed store in a folder."""

    def __new__(cls, path: Union[str, PathLike[str]]) -> LocalStore: ...
    def put(self, data: bytes) -> str: ...
    def get(self, cid: str) -> bytes: ...
    def has(self, cid: str) -> bool: ...

@final
class Model:
    """A din-fl classifier on the CPU."""

    @staticmethod
    def logistic_regression(n_features: int, n_classes: int, *, seed: int = 0) -> Model: ...
    @staticmethod
    def mlp(
        n_features: int, n_classes: int, hidden: Sequence[int] = ..., *, seed: int = 0
    ) -> Model: ...
    @staticmethod
    def cnn(side: int, n_classes: int, *, seed: int = 0) -> Model: ...
    def fit(
        self,
        x: npt.NDArray[np.float32],
        y: npt.NDArray[np.int64],
        *,
        epochs: int = 1,
        batch_size: int = 32,
        lr: float = 0.1,
        seed: int = 0,
        optimizer: str = "sgd",
    ) -> float: ...
    def evaluate(self, x: npt.NDArray[np.float32], y: npt.NDArray[np.int64]) -> dict[str, Any]: ...
    def get_parameters(self) -> npt.NDArray[np.float32]: ...
    def set_parameters(self, v: npt.NDArray[np.float32]) -> None: ...
    def to_bytes(self) -> bytes: ...
    def load_bytes(self, data: bytes) -> None: ...
    @property
    def num_parameters(self) -> int: ...

@final
class SecAggParams:
    """Parameters of one subgroup's secure aggregation."""

    def __new__(
        cls,
        clients: int,
        neighbours: int,
        threshold: int,
        vector_len: int,
        *,
        graph_seed: Union[bytes, None] = None,
        task: int = 0,
        round: int = 0,
        subgroup: int = 0,
        clip: float = 8.0,
        scale_bits: int = 12,
        max_weight: int = 1000,
    ) -> SecAggParams: ...
    def graph(self) -> list[list[int]]: ...

@final
class SecAggClient:
    """One participant's side of secure aggregation; its secrets stay inside."""

    def __new__(cls, params: SecAggParams, index: int) -> SecAggClient: ...
    def advertise(self) -> bytes: ...
    def share_keys(self, adverts: Sequence[bytes]) -> bytes: ...
    def mask(self, update: npt.NDArray[np.float32], weight: int, shares: Sequence[bytes]) -> bytes: ...
    def unmask(self, survivors: Sequence[int]) -> bytes: ...
    @property
    def index(self) -> int: ...

def secagg_unmask(
    params: SecAggParams,
    adverts: Sequence[bytes],
    shares: Sequence[bytes],
    masked: Sequence[bytes],
    reveals: Sequence[bytes],
) -> tuple[npt.NDArray[np.float32], int, bytes]:
    """Evaluator side: (weighted mean, total weight, digest of the exact sum)."""

def run_task_json(
    *,
    data_dir: Optional[str] = None,
    participants: int,
    subgroup_size: int,
    evaluators_per_subgroup: int,
    rounds: int,
    model: str,
    local_epochs: int,
    seed: int,
    drop: int,
    lying_evaluators: int,
    garbage_updates: int,
    progress: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> str: ...

_Step = Dict[str, Any]
_Store = Union[LocalStore, "IpfsStore"]

@final
class Chain:
    """A JSON-RPC connection to an EVM node, with signers and the DIN contracts."""

    def __new__(cls, url: str, *, deployment: Optional[Dict[str, Any]] = None) -> Chain: ...
    def add_signer(self, key: str) -> str: ...
    def now(self) -> int: ...
    def chain_id(self) -> int: ...
    def balance(self, account: str) -> int: ...
    def set_balance(self, account: str, wei: int) -> None: ...
    def advance_time(self, seconds: int) -> None: ...
    def mine(self, blocks: int = 1) -> None: ...
    def deploy(
        self, deployer: str, *, treasury: str = "0x7777777777777777777777777777777777777777"
    ) -> Dict[str, Any]: ...
    def use_deployment(self, deployment: Dict[str, Any]) -> None: ...
    @property
    def deployment(self) -> Optional[Dict[str, Any]]: ...
    def transfer(self, sender: str, to: str, amount: int) -> None: ...
    def token_balance(self, account: str) -> int: ...
    def model_cid(self, task: int, round: int) -> Optional[str]: ...

@final
class IpfsStore:
    """An IPFS node's RPC API as a content-addressed store."""

    def __new__(cls, api: str) -> IpfsStore: ...
    def put(self, data: bytes) -> str: ...
    def get(self, cid: str) -> bytes: ...
    def has(self, cid: str) -> bool: ...

@final
class Trainer:
    """A Participant's local training in Rust (a din.Model's architecture on x, y)."""

    def __new__(
        cls,
        model: Model,
        x: npt.NDArray[np.float32],
        y: npt.NDArray[np.int64],
        *,
        epochs: int = 1,
        batch_size: int = 32,
        lr: float = 0.1,
        momentum: float = 0.9,
        seed: int = 0,
    ) -> Trainer: ...

@final
class Owner:
    """The Model Owner of one task."""

    def __new__(
        cls,
        chain: Chain,
        store: _Store,
        account: str,
        state_dir: Union[str, PathLike[str]],
        *,
        genesis: Model,
        test_x: npt.NDArray[np.float32],
        test_y: npt.NDArray[np.int64],
        participants: int,
        evaluators: int,
        rounds: int,
        deposit: int,
        subgroup_size: int,
        evaluators_per_subgroup: int = 3,
        neighbours: Optional[int] = None,
        threshold: Optional[int] = None,
        evaluator_fee_bps: int = 1000,
        stage_period: int = 3600,
        registration_period: Optional[int] = None,
    ) -> Owner: ...
    def step(self) -> _Step: ...
    @property
    def address(self) -> str: ...
    @property
    def gas(self) -> list[tuple[str, int]]: ...
    @property
    def task(self) -> Optional[int]: ...
    @property
    def refunded(self) -> Optional[int]: ...

@final
class Participant:
    """A Participant of one task."""

    def __new__(
        cls,
        chain: Chain,
        store: _Store,
        account: str,
        task: int,
        state_dir: Union[str, PathLike[str]],
        trainer: Union[
            Trainer,
            Callable[[int, npt.NDArray[np.float32]], tuple[npt.NDArray[np.float32], int]],
        ],
    ) -> Participant: ...
    def step(self) -> _Step: ...
    @property
    def address(self) -> str: ...
    @property
    def gas(self) -> list[tuple[str, int]]: ...
    @property
    def claimed(self) -> Optional[int]: ...

@final
class Evaluator:
    """An Evaluator of one task."""

    def __new__(
        cls,
        chain: Chain,
        store: _Store,
        account: str,
        task: int,
        state_dir: Union[str, PathLike[str]],
        *,
        scorer: Union[
            Model,
            Callable[
                [
                    npt.NDArray[np.float32],
                    npt.NDArray[np.int64],
                    npt.NDArray[np.float32],
                    npt.NDArray[np.float32],
                ],
                float,
            ],
        ],
        stake: int = ...,
    ) -> Evaluator: ...
    def step(self) -> _Step: ...
    @property
    def address(self) -> str: ...
    @property
    def gas(self) -> list[tuple[str, int]]: ...
    @property
    def claimed(self) -> Optional[int]: ...

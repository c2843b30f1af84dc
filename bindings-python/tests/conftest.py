import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def vectors():
    return lambda name: json.loads((VECTORS / name).read_text())


@pytest.fixture(scope="session")
def data_dir():
    return DATA

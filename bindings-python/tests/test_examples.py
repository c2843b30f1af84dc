"""The Python examples: the quickstart script, its notebook (in sync, and executed),
and the PyTorch interop example when torch is installed."""

import importlib.util
import os
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"


def test_notebook_matches_the_script():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_notebook
    finally:
        sys.path.pop(0)
    expected = make_notebook.notebook((EXAMPLES / "quickstart.py").read_text())
    assert (EXAMPLES / "quickstart.ipynb").read_text() == expected, (
        "quickstart.ipynb is stale: run python examples/python/make_notebook.py"
    )


def test_notebook_executes_cleanly():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "final accuracy" in printed


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
def test_torch_interop_example():
    runpy.run_path(str(EXAMPLES / "torch_interop.py"), run_name="__main__")


def test_roles_example_runs_a_task_against_anvil(capsys, monkeypatch):
    anvil = Path(os.environ.get("DIN_ANVIL", EXAMPLES.parents[1] / "din-chain/contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"))
    if not anvil.exists():
        if os.environ.get("CI"):
            pytest.fail(f"anvil is not installed at {anvil} (scripts/test-all.sh installs it)")
        pytest.skip("anvil not installed (npm ci in din-chain/contracts)")
    monkeypatch.setattr(sys, "argv", ["roles.py", "--participants", "4", "--rounds", "1"])
    runpy.run_path(str(EXAMPLES / "roles.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "exact" in out and "MISMATCH" not in out
    assert "accuracy" in out

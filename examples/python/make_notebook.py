"""Writes quickstart.ipynb from quickstart.py (cells split at `# %%` markers, `# %%
[markdown]` cells become markdown). The pytest suite checks the two never drift.

Run: python examples/python/make_notebook.py
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cells_of(source: str):
    cells = []
    kind, lines = None, []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind is not None and text:
            if kind == "markdown":
                text = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in text.split("\n"))
                cells.append({"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)})
            else:
                cells.append({"cell_type": "code", "execution_count": None, "metadata": {},
                              "outputs": [], "source": text.splitlines(keepends=True)})

    for line in source.split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    return cells


def notebook(source: str) -> str:
    nb = {
        "cells": cells_of(source),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i}"
    return json.dumps(nb, indent=1) + "\n"


if __name__ == "__main__":
    out = HERE / "quickstart.ipynb"
    out.write_text(notebook((HERE / "quickstart.py").read_text()))
    print(f"wrote {out}")

"""Every notebook in notebooks/ runs top to bottom in a fresh kernel, and is committed with its outputs (so that it
renders on GitHub). New notebooks are picked up by the glob; nothing here names them, except the two that must exist."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import with_traces

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RUNNABLE = with_traces(NOTEBOOKS)


def test_the_tutorial_notebooks_exist():
    assert {"01-quickstart.ipynb", "02-sizing-subnets.ipynb"} <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_notebook_runs_in_a_fresh_kernel(path: Path):
    nb = nbformat.read(path, as_version=4)
    # The kernel starts in notebooks/, as when a person opens the file; a failing cell raises CellExecutionError
    # with that cell's source and traceback.
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_with_outputs_and_prose(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    prose = [c for c in nb.cells if c.cell_type == "markdown"]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "starts with a title"
    assert len(prose) >= 3, "a story: prose between the cells"
    assert code and all(c.execution_count is not None for c in code), "run every cell before committing"
    counts = [c.execution_count for c in code]
    assert counts == sorted(counts), "run top to bottom (Restart & Run All) before committing"
    assert any(c.outputs for c in code), "committed with outputs"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"], "committed with an error output"

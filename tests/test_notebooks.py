"""The notebooks in ``notebooks/`` run top to bottom and are stored with their outputs stripped.

Each notebook is executed by nbclient in a fresh kernel of this interpreter, with a temporary
working directory (the notebooks write under ``outputs/`` there), so a notebook that breaks
against the package fails the suite with the failing cell's source and traceback.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client import KernelManager  # noqa: E402  (a dependency of nbclient)
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: Seconds one cell may run before the notebook fails (each notebook takes well under a minute).
CELL_TIMEOUT_S = 120
#: Terminal colour codes in IPython tracebacks, removed from failure messages.
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


def _kernel_manager() -> KernelManager:
    """A kernel of this very interpreter (the venv), whatever kernelspecs the user installed."""
    specs = KernelSpecManager(kernel_dirs=[])  # only ipykernel's native spec: sys.executable
    km = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    assert km.kernel_spec.argv[0] == sys.executable
    return km


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel inherits it; keeps the 2 cores shared
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    km = _kernel_manager()
    client = nbclient.NotebookClient(
        notebook,
        km=km,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{path.name} failed in a cell:\n{ANSI_CODES.sub('', str(err))}", pytrace=False)
    finally:
        if km.has_kernel:  # nbclient shuts down only the kernels it created itself
            km.shutdown_kernel(now=True)
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_stripped(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells and notebook.cells[0].cell_type == "markdown", (
        f"{path.name} must start with a markdown cell saying what it shows"
    )
    dirty = [
        k
        for k, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs or execution counts; strip them"

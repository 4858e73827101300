"""The notebooks in notebooks/ run top to bottom with small settings, as CI runs them.

Each notebook reads ``NNPDE_SMALL=1`` and shrinks its grids and step counts; any cell that
raises fails its test. After the last cell a check runs in the same kernel: every figure the
notebook drew has a title and axis labels on each plot, and a labelled colorbar on each image.
The notebooks are stored without outputs, which is checked too.

The kernel is ``python3`` from the interpreter running pytest (ipykernel's own spec), so
``.venv/bin/python -m pytest`` executes the notebooks in that venv. The ``notebooks`` extra
(nbclient, nbformat, ipykernel, matplotlib) is needed; without it these tests skip, except
under CI (``CI`` set), where a missing package is an error.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# Seconds one cell may run: the small settings take a few seconds per cell on the project's
# 2-core CPU (compilation included), so this only catches a hang.
CELL_TIMEOUT = 300

# Runs in the notebook's kernel after its last cell.
FIGURE_CHECK = """
import matplotlib.pyplot as _plt

def _check_figures():
    problems = []
    numbers = _plt.get_fignums()
    if not numbers:
        problems.append("the notebook draws no figure")
    for number in numbers:
        fig = _plt.figure(number)
        bars = {}
        for ax in fig.axes:
            for m in [*ax.images, *ax.collections]:
                if getattr(m, "colorbar", None) is not None:
                    bars[id(m.colorbar.ax)] = m.colorbar
            for im in ax.images:
                if im.colorbar is None:
                    problems.append(f"figure {number}: an image without a colorbar")
        for ax in fig.axes:
            if id(ax) in bars:
                if not (ax.get_ylabel() or ax.get_xlabel()):
                    problems.append(f"figure {number}: a colorbar without a label")
            elif not (ax.get_title() and ax.get_xlabel() and ax.get_ylabel()):
                problems.append(
                    f"figure {number}: plot {ax.get_title()!r} lacks a title or an axis label"
                )
    if problems:
        raise AssertionError("; ".join(problems))

_check_figures()
"""


def _require(module: str):
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(
        module, reason="needs the notebooks extra: pip install -e '.[notebooks]'"
    )


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean_and_reads_small_settings(path):
    nbformat = _require("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not dirty, f"{path.name}: code cells {dirty} hold outputs; clear them before committing"
    assert any("NNPDE_SMALL" in c.source for c in code), f"{path.name} ignores NNPDE_SMALL"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


# The default suite runs these (~20 s together on the 2-core CPU); `pytest -m slow` runs the
# others (~60 s more), as before a release.
FAST = [p for p in NOTEBOOKS if p.stem in ("01_quickstart", "02_kernels_tour")]
MORE = [p for p in NOTEBOOKS if p not in FAST]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    return _execute(FAST, tmp_path_factory)


@pytest.fixture(scope="module")
def executed_more(tmp_path_factory):
    return _execute(MORE, tmp_path_factory)


def _execute(paths, tmp_path_factory):
    """Executes the notebooks at once, each in its own kernel: {path: None or the error}.

    Concurrently, because most of a notebook's time is single-threaded XLA compilation and
    the project's machines have 2 cores.
    """
    nbformat = _require("nbformat")
    nbclient = _require("nbclient")
    _require("ipykernel")
    _require("matplotlib")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNPDE_SMALL", "1")
        mp.setenv("MPLBACKEND", "Agg")
        mp.setenv("JUPYTER_PLATFORM_DIRS", "1")  # silences jupyter_core's path warning
        # The kernels import nnpde from this checkout even where it is not installed.
        mp.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        )

        async def run(path):
            nb = nbformat.read(path, as_version=4)
            nb.cells.append(nbformat.v4.new_code_cell(FIGURE_CHECK))
            client = nbclient.NotebookClient(
                nb,
                kernel_name="python3",
                timeout=CELL_TIMEOUT,
                # the kernel's working directory
                resources={"metadata": {"path": str(tmp_path_factory.mktemp(path.stem))}},
            )
            try:
                await client.async_execute()  # raises CellExecutionError naming the cell
            except Exception as err:  # reported by the notebook's own test
                return err
            return None

        async def run_all():
            return await asyncio.gather(*(run(path) for path in paths))

        return dict(zip(paths, asyncio.run(run_all())))


@pytest.mark.parametrize("path", FAST, ids=lambda p: p.stem)
def test_notebook_runs(path, executed):
    _report(path, executed[path])


@pytest.mark.slow
@pytest.mark.parametrize("path", MORE, ids=lambda p: p.stem)
def test_more_notebooks_run(path, executed_more):
    _report(path, executed_more[path])


def _report(path, err):
    if err is not None:
        pytest.fail(f"{path.name} failed:\n{err}", pytrace=False)

"""The documentation builds without warnings (``python docs/build.py``, pdoc).

Skips without the ``docs`` extra, except under CI (``CI`` set), where it is an error.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_docs_build_without_warnings(tmp_path):
    if not os.environ.get("CI"):
        pytest.importorskip("pdoc", reason="needs the docs extra: pip install -e '.[docs]'")
    out = tmp_path / "html"
    run = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build.py"), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # the build must not depend on the working directory
    )
    assert run.returncode == 0, f"docs build failed:\n{run.stdout}\n{run.stderr}"
    assert "warning" not in run.stderr.lower(), run.stderr

    pages = {p.relative_to(out).as_posix() for p in out.rglob("*.html")}
    expected = {"index.html", "guide.html", "guide/kernels.html", "guide/choosing.html",
                "guide/conditions.html", "guide/geometry.html", "guide/robustness.html",
                "guide/changes.html", "nnpde.html", "nnpde/kernels.html",
                "nnpde/autodiff.html"}  # fmt: skip
    assert expected <= pages, sorted(pages)
    assert (out / "guide" / "geometry.png").is_file()  # the geometry page's figure

    kernels_page = (out / "guide" / "kernels.html").read_text(encoding="utf-8")
    assert "Correction to eq. 5e" in kernels_page
    assert "Correction to eq. 6b" in kernels_page
    assert "mathjax" in kernels_page.lower()  # math is on
    # Backticked API names in the guide become links into the reference.
    assert 'href="../nnpde/kernels.html#operator_rows"' in kernels_page

    api = (out / "nnpde" / "kernels.html").read_text(encoding="utf-8")
    assert "laplacian_x_vjp" in api

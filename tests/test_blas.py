"""One BLAS thread while a solver runs (``nnpde._blas``): the LAPACK Cholesky's spinning
workers must not take the cores from XLA's products (Kovasznay's LM step 107 → 69 ms on the
2-core CPU). Checked on real runs: the thread counts inside a run's callback and after it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg.cython_lapack  # noqa: F401  (jaxlib's LAPACK loaded, as in a run)
from problems_for_tests import lagaris_pde1
from threadpoolctl import threadpool_info, threadpool_limits

import nnpde
from nnpde import _blas


def _counts():
    return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


# One problem object for every run: solves of the same problem object share their compiled
# programs (the thread counts only matter when a program runs), so only the first run compiles.
PROBLEM = lagaris_pde1()


def _run_seeing_counts(**kw):
    seen = []
    problem = PROBLEM
    sol = nnpde.solve(
        problem,
        nnpde.TwoLayerNet(2, (4, 4)),
        problem.domain.grid(5),
        steps=6,
        steps_per_call=3,
        callback=lambda *a: seen.append(_counts()),
        **kw,
    )
    return sol, seen


def test_a_run_uses_one_blas_thread_and_restores_the_count():
    with threadpool_limits(limits=2, user_api="blas"):  # as on a 2-core machine
        before = _counts()
        sol, seen = _run_seeing_counts()
        after = _counts()
    assert len(before) >= 2 and max(before) == 2  # numpy's and scipy's OpenBLAS
    assert seen and all(c == [1] * len(c) for c in seen), seen  # scipy's LAPACK included
    assert after == before
    assert sol.info["steps"] > 0 and np.all(np.isfinite(np.asarray(sol.theta)))


def test_threads_none_leaves_the_counts_alone(monkeypatch):
    monkeypatch.setattr(_blas, "THREADS", None)
    with threadpool_limits(limits=2, user_api="blas"):
        _, seen = _run_seeing_counts()
    assert seen and all(max(c) == 2 for c in seen), seen


@pytest.mark.parametrize("threads", [1, 2])
def test_the_result_does_not_depend_on_the_blas_threads(monkeypatch, threads):
    """The same θ whatever the limit (the Cholesky of a small system is one block)."""
    monkeypatch.setattr(_blas, "THREADS", threads)
    sol, _ = _run_seeing_counts()
    monkeypatch.setattr(_blas, "THREADS", None)
    ref, _ = _run_seeing_counts()
    np.testing.assert_allclose(np.asarray(sol.theta), np.asarray(ref.theta), rtol=1e-12, atol=0)

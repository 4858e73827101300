"""One BLAS thread while a solver runs: the host LAPACK's worker threads must not spin beside
XLA's.

XLA:CPU runs its matrix products on its own thread pool, but the Cholesky factorisation of
:class:`nnpde.LM`'s step is a LAPACK call (``jax.scipy.linalg.cho_factor`` → jaxlib's LAPACK
kernels → SciPy's OpenBLAS). OpenBLAS's worker threads busy-wait after each call, and on a
small machine they take the cores from the XLA work that follows: the Gram JᵀJ of the next
step. Measured (2-core x86_64 CPU, jax 0.10.2, float64, Kovasznay: K = 3 nets 2×16, NT' = 1008,
3072 rows, one jitted LM step): 107 ms with OpenBLAS's default 2 threads, 69 ms with one —
the Gram and the step's other parts (44 + 24 ms) then cost what they cost alone; a whole
default solve 98.5 s → 70.4 s. One thread costs the Cholesky itself 8.8 → 10.2 ms.

:func:`limited` caps every loaded BLAS at :data:`THREADS` threads for the duration of a run
(``threadpoolctl``, which finds OpenBLAS, MKL or BLIS by their symbols and restores the
previous counts on exit). Set ``nnpde._blas.THREADS = None`` to leave them alone (e.g. a
dense LM step with NT ≈ 8000 on a machine with many cores, where the Cholesky's share grows).
"""

from __future__ import annotations

import contextlib

THREADS: int | None = 1


@contextlib.contextmanager
def limited():
    """Context: every loaded BLAS library at :data:`THREADS` threads (None: unchanged)."""
    if THREADS is None:
        yield
        return
    import scipy.linalg.cython_lapack  # noqa: F401  (jaxlib's LAPACK: loaded before limiting)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=THREADS, user_api="blas"):
        yield

"""Shared configuration for the nnpde test suite.

Imported by pytest before any test module, so the JAX flags below are set before anything is
traced: every test runs with 64-bit types enabled (float32 is still used where a test asks for
it explicitly).
"""

from __future__ import annotations

import contextlib
import os

# XLA's CPU compile time dominates this suite (hundreds of tiny programs, ~0.2 s each), and
# about half of it is LLVM optimising the generated machine code, which only affects run
# speed: LLVM without fast-math keeps IEEE semantics at any optimisation level, and XLA's own
# HLO passes (fusion, simplification) still run. So the tests compile with LLVM -O0, which
# roughly halves the suite's run time. Set the flag yourself in XLA_FLAGS to override. This
# must happen before JAX creates its CPU client (at the first computation, after this import).
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
    ).strip()

import jax
import jax.numpy as jnp
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

# Implicit rank promotion ((P, M) + (M,)-style broadcasting) raises, in the tests and in the
# library alike, so that an accidental broadcast cannot silently produce a wrong-shaped result.
# Override with NNPDE_RANK_PROMOTION=allow to triage a failure; test_kernels.py also checks
# every public function under "raise" explicitly, whatever this is set to.
RANK_PROMOTION = os.environ.get("NNPDE_RANK_PROMOTION", "raise")
jax.config.update("jax_numpy_rank_promotion", RANK_PROMOTION)

from nnpde import _mappings  # noqa: E402 (after the configuration above)
from nnpde.compile_cache import use_compilation_cache  # noqa: E402

# JAX's persistent compilation cache, shared by the run's workers: the suite compiles many
# programs that are the same HLO under different Python objects (each test's own Problem, net
# or jitted lambda; and the programs of a module compile again after its caches are dropped,
# below), and a program compiled once is then read back instead of compiled again. Keyed by
# the HLO and the compile options, so a hit is the same executable. The process that starts
# the run (pytest's controller, before it starts the xdist workers, which inherit the
# variable) makes a temporary directory and removes it at the end; set
# JAX_COMPILATION_CACHE_DIR yourself to choose (and keep) the directory.
_OWN_CACHE = None
if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    import tempfile

    _OWN_CACHE = os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(
        prefix="nnpde-tests-xla-")
use_compilation_cache(os.environ["JAX_COMPILATION_CACHE_DIR"])

# Relative tolerance (max|a - b| / max|b|) for hand-written kernels vs their autodiff twins in
# float64. 1e-10 is the requirement of the issue; observed errors are ~1e-15 to 1e-14, so this
# leaves ample room for reassociation (chunking, different matmul orders) while still catching
# any wrong term, which shows up at O(1e-3) or worse.
F64_RTOL = 1e-10

# The same in float32. Machine epsilon is ~1.2e-7; each output is a sum over M1*M2 (and up to
# D^2) products of activation derivatives up to f''', both sides round differently, and
# autodiff of f (e.g. softplus through log1p/exp) loses a few more bits than the closed forms.
# Observed worst cases are ~6e-7 (tanh, sigmoid, sin) and ~1e-5 (softplus, whose autodiff
# f''/f''' are ~5e-7 off in absolute terms while outputs like the Laplacian partially cancel),
# so 1e-4 gives ~10x headroom on the worst activation and still flags a wrong term.
F32_RTOL = 1e-4


def rel_err(a, b) -> float:
    """max|a - b| / max|b| in float64; shapes must match.

    When ``b`` is identically zero the denominator is the smallest normal float64, so an
    exactly-zero ``a`` gives 0 and anything else gives a huge error. NaN anywhere gives NaN,
    which fails every ``<=`` comparison.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape mismatch: {a.shape} vs {b.shape}"
    if a.size == 0:
        return 0.0
    denom = max(float(np.max(np.abs(b))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b))) / denom


def load_benchmark(name: str):
    """The module ``benchmarks/<name>.py``, loaded from its file (benchmarks/ is not a
    package; it goes on sys.path so that the module's own imports of its neighbours work)."""
    import importlib.util
    import pathlib
    import sys

    folder = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def compilations():
    """The durations (s) of the XLA compilations that happen inside the ``with`` block, as a
    list that fills while it runs."""
    got = []

    def listen(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            got.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield got
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


def condition_points(domain, bc, sample):
    """(x, n): the points of a boundary ``sample`` where condition ``bc`` applies and their
    outward normals. An Initial condition's are those of the initial face (t_min, or an
    interval's left end); otherwise the library's semantics of ``bc.where``: None is every
    spatial face, a face name or a tuple of them those faces, a callable a predicate."""
    from nnpde import Interval
    from nnpde.problem import Initial

    if isinstance(bc, Initial):
        face = "left" if isinstance(domain, Interval) else "t_min"
        mask = sample.face == domain.canonical_face(face)
    elif bc.where is None:
        mask = np.isin(sample.face, domain.spatial_faces)
    elif isinstance(bc.where, (str, tuple)):
        faces = (bc.where,) if isinstance(bc.where, str) else bc.where
        mask = np.isin(sample.face, [domain.canonical_face(f) for f in faces])
    else:
        mask = np.array([bool(bc.where(p)) for p in sample.x])
    assert mask.any(), bc
    return jnp.asarray(sample.x[mask]), jnp.asarray(sample.normal[mask])


def condition_errors(bc, exact, x, n):
    """How far ``exact`` (one point (D,) -> scalar) is from meeting condition ``bc`` at points
    x with outward normals n, from one compiled program (op by op, the autodiff of the
    conditions, order-4 jets of an OperatorBC among them, compiled hundreds of small
    programs)."""
    from nnpde.problem import Dirichlet, Initial, Neumann, OperatorBC, Robin, jet_of

    grad = jax.grad(exact)
    if isinstance(bc, Initial):
        def err(p, m):
            e = exact(p) - bc.value(p)
            return e if bc.derivative is None else jnp.stack([e, grad(p)[-1] - bc.derivative(p)])
    elif isinstance(bc, Dirichlet):
        def err(p, m):
            return exact(p) - bc.value(p)
    elif isinstance(bc, OperatorBC):
        def err(p, m):
            return bc.residual(p, jet_of(exact, p, 4))
    elif isinstance(bc, Neumann):
        def err(p, m):
            return grad(p) @ m - bc.flux(p)
    else:
        assert isinstance(bc, Robin), bc

        def err(p, m):
            return bc.alpha * exact(p) + bc.beta * grad(p) @ m - bc.value(p)

    return jax.jit(jax.vmap(err))(x, n)


# A test whose solve has few points (or steps) on purpose: its nnpde.UnderResolvedWarning is
# expected; any other solve that warns fails the suite (pyproject's filterwarnings = error).
few_points = pytest.mark.filterwarnings("ignore::nnpde.UnderResolvedWarning")


def slow_except(values, fast):
    """``values`` as pytest parameters, every one not in ``fast`` marked ``slow``.

    The default suite keeps the cases in ``fast`` as representatives of a parametrised check
    (CI's budget is ~10 minutes on 2 cores); ``pytest -m slow`` runs the others.
    """
    return [v if v in fast else pytest.param(v, marks=pytest.mark.slow) for v in values]


@pytest.fixture
def key():
    """A fixed PRNG key so that every run sees the same numbers."""
    return jax.random.key(1234)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drops JAX's compiled programs after each test module.

    Every XLA:CPU executable keeps its machine code in memory mappings of its own, and the jit
    caches keep every executable alive. One pytest-xdist worker compiles thousands of programs;
    with all of them alive it passed Linux's limit of 65530 mappings per process
    (``vm.max_map_count``), the next compilation's mmap failed, and XLA crashed with a
    segmentation fault (after which pytest-xdist hung until CI's time limit). Clearing the
    caches between modules keeps a worker at the size of one module.
    """
    yield
    _mappings.release()


def pytest_sessionfinish(session, exitstatus):
    """Removes the run's compilation cache (above) in the process that made it."""
    if _OWN_CACHE is not None:
        import shutil

        shutil.rmtree(_OWN_CACHE, ignore_errors=True)

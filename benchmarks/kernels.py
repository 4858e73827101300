"""Wall-time benchmark of nnpde's hand-written kernels against their autodiff twins and folx.

For every configuration (D, M1 = M2 = M, P, dtype) and every kernel it measures the median
steady-state wall time of ``nnpde.kernels.<name>`` and of its twin ``nnpde.autodiff.<name>``
(``jax.grad`` / ``jax.hessian``), and, for ``laplacian_x`` and ``laplacian_x_vjp``, of folx's
forward Laplacian (unchunked, and with points in blocks). Compile time (trace + lower + XLA
compile, timed with ``jax.jit(f).lower(...).compile()``) is reported apart; timings use the
compiled executables after one warm-up call and ``block_until_ready``.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/kernels.py              # full sweep
    PYTHONPATH=. .venv/bin/python benchmarks/kernels.py --quick      # smoke run (~1 min)
    PYTHONPATH=. .venv/bin/python benchmarks/kernels.py --headline   # headline targets only
    PYTHONPATH=. .venv/bin/python benchmarks/kernels.py --fourth     # 4th-order partials
    PYTHONPATH=. .venv/bin/python benchmarks/kernels.py --dims 2 10 --widths 32 \\
        --points 16384 --dtypes float64 --kernels laplacian_x laplacian_x_vjp

Results go to ``benchmarks/results/kernels-<device>.md`` and a ``.json`` beside it (``--quick``
and ``--headline`` add ``-quick`` / ``-headline`` to the name unless ``--out`` is given). The
markdown starts with the headline targets (PASS/MISS), then the machine, then the table;
stdout gets the same report, progress goes to stderr.

Skips: a kernel whose output has more than ``--max-output-elements`` elements is not run at
all ("skipped (output N GB)"); an implementation whose compiled executable needs more memory
than ``--mem-budget-gb`` (from XLA's ``memory_analysis``) or, on CPU, whose estimated time per
call (XLA's ``cost_analysis``, rough) exceeds ``--max-est-s`` is compiled but not run
("skipped (needs N GB)", "skipped (est. N s/call)"). Each implementation stops repeating once
its repeats took ``--time-budget`` seconds (at least ``--min-repeats`` repeats).

Fairness: the implementations of one row are timed in interleaved rounds, so background load
hits them alike; ``--wait-idle S`` also waits (up to S seconds per configuration) for other
processes to leave the CPUs alone. The hand-written kernels run with the XLA options nnpde
ships; the baselines with XLA's defaults unless ``--baseline-xla nnpde``. Each output is checked
against the hand-written one (max relative difference in the JSON; large ones are listed).

Runtime on 2 Xeon cores: ``--quick`` ~40 s, ``--headline`` ~1.5 min, the full sweep (576
rows) roughly half an hour, about a third of it compilation.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

POINTWISE = [
    "value",
    "grad_theta",
    "grad_x",
    "hessian_x",
    "laplacian_x",
    "grad_x_theta",
    "hessian_x_theta",
    "laplacian_x_theta",
]
VJPS = ["value_vjp", "grad_x_vjp", "hessian_x_vjp", "laplacian_x_vjp"]
OPERATORS = ["operator_vjp", "operator_rows", "operator_gram", "operator_jvp"]
DEFAULT_KERNELS = POINTWISE + VJPS + OPERATORS
ALL_KERNELS = DEFAULT_KERNELS + OPERATORS
FOLX_KERNELS = ("laplacian_x", "laplacian_x_vjp")

DIMS = (1, 2, 3, 10)
WIDTHS = (16, 32, 128)
POINTS = (1024, 16384)
DTYPES = ("float32", "float64")

IMPLS = ("hand", "userjit", "jax", "autodiff", "folx", "folx_chunked")

#: kernels that nnpde.native computes in C++ (tanh, float64, CPU); "jax" = their pure-JAX twin.
NATIVE_KERNELS = (
    "laplacian_x_vjp", "value_vjp", "operator_vjp", "grad_x_vjp", "hessian_x_vjp", "grad_theta",
    "value", "grad_x", "laplacian_x", "hessian_x", "operator_rows", "laplacian_x_theta",
    "operator_gram",
)  # fmt: skip

# Headline targets: (id, kernel, dim, width, points, dtype, baseline impl, target ratio, text,
# hand-written impl: "hand" = the kernel's own jit, "userjit" = inside a caller's jax.jit).
# Issue 17: the θ-gradient of Σ r ΔN inside a caller's jit with XLA's default options.
HEADLINE_17 = [
    (f"{kernel}-{how}-vs-{base}", kernel, 2, 32, 16384, "float64", base, target, text, how)
    for kernel, base, target, text in (
        ("laplacian_x_vjp", "autodiff", 10.0, "laplacian_x_vjp vs jax.grad through jax.hessian"),
        ("laplacian_x_vjp", "folx_chunked", 1.5, "laplacian_x_vjp vs folx in blocks of 1024"),
        ("operator_rows", "autodiff", 4.0, "operator_rows vs its autodiff twin"),
        ("operator_gram", "autodiff", 4.0, "operator_gram vs its autodiff twin"),
    )
    for how in ("userjit", "hand")
]
HEADLINE = [
    (
        "vjp-vs-hessian",
        "laplacian_x_vjp",
        2,
        32,
        16384,
        "float64",
        "autodiff",
        10.0,
        "laplacian_x_vjp vs jax.grad through jax.hessian",
    ),
    (
        "vjp-vs-folx",
        "laplacian_x_vjp",
        2,
        32,
        16384,
        "float64",
        "folx",
        2.0,
        "laplacian_x_vjp vs jax.grad through folx (unchunked)",
    ),
    (
        "vjp-vs-folx-chunked",
        "laplacian_x_vjp",
        2,
        32,
        16384,
        "float64",
        "folx_chunked",
        2.0,
        "laplacian_x_vjp vs jax.grad through folx (blocks of points)",
    ),
    (
        "lap-theta-D2",
        "laplacian_x_theta",
        2,
        32,
        16384,
        "float64",
        "autodiff",
        4.0,
        "laplacian_x_theta vs jax.grad of trace(jax.hessian)",
    ),
    (
        "lap-theta-D3",
        "laplacian_x_theta",
        3,
        32,
        16384,
        "float64",
        "autodiff",
        4.0,
        "laplacian_x_theta vs jax.grad of trace(jax.hessian)",
    ),
    (
        "lap-theta-D10",
        "laplacian_x_theta",
        10,
        32,
        16384,
        "float64",
        "autodiff",
        4.0,
        "laplacian_x_theta vs jax.grad of trace(jax.hessian)",
    ),
    (
        "lap-D10",
        "laplacian_x",
        10,
        32,
        16384,
        "float64",
        "autodiff",
        5.0,
        "laplacian_x vs trace(jax.hessian)",
    ),
]
HEADLINE = HEADLINE_17 + [h + ("hand",) for h in HEADLINE]
HEADLINE_KERNELS = (
    "laplacian_x_vjp",
    "value_vjp",
    "operator_vjp",
    "grad_theta",
    "operator_rows",
    "operator_gram",
    "operator_jvp",
)


# ---- command line -----------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run from the repository root with PYTHONPATH=. so that `import nnpde` works.",
    )
    p.add_argument("--dims", type=int, nargs="+", help=f"input dimensions D (default {DIMS})")
    p.add_argument("--widths", type=int, nargs="+", help=f"M1 = M2 (default {WIDTHS})")
    p.add_argument("--points", type=int, nargs="+", help=f"points P (default {POINTS})")
    p.add_argument("--dtypes", nargs="+", choices=DTYPES, help=f"default {DTYPES}")
    p.add_argument(
        "--kernels",
        nargs="+",
        choices=ALL_KERNELS,
        metavar="KERNEL",
        help=f"default: {' '.join(DEFAULT_KERNELS)}; also available: {' '.join(OPERATORS)}",
    )
    p.add_argument(
        "--repeats", type=int, help="timed repeats per entry, at most (default 15; 5 with --quick)"
    )
    p.add_argument("--min-repeats", type=int, default=3, help="timed repeats per entry (min)")
    p.add_argument(
        "--time-budget",
        type=float,
        default=1.0,
        help="stop repeating an implementation once its timed repeats took this many seconds "
        "(default 1); a first call slower than half this counts as a repeat",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: D=2, M=16, P=1024, both dtypes")
    p.add_argument(
        "--headline",
        action="store_true",
        help="only the headline configs: D=2, M=32, P=16384, float64, "
        + ", ".join(HEADLINE_KERNELS),
    )
    p.add_argument("--device", choices=("cpu", "gpu"), help="default: jax's default backend")
    p.add_argument(
        "--out",
        type=Path,
        help="results markdown path (JSON beside it); default "
        "benchmarks/results/kernels-<device>[-quick|-headline].md",
    )
    p.add_argument(
        "--chunk-size", type=int, help="chunk_size for the hand-written kernels (default: theirs)"
    )
    p.add_argument("--folx-chunk", type=int, default=1024, help="points per block for chunked folx")
    p.add_argument(
        "--folx-sparsity",
        type=float,
        default=0,
        help="folx forward_laplacian sparsity_threshold (0 = dense, folx's default)",
    )
    p.add_argument("--no-folx", action="store_true", help="skip the folx comparisons")
    p.add_argument(
        "--baseline-xla",
        choices=("default", "nnpde"),
        default="default",
        help="XLA compiler options for the baselines (autodiff twins and folx): XLA's defaults, "
        "as a user's own jax.hessian gets (default), or the options nnpde compiles its kernels "
        "with (nnpde.compiler_options); the hand-written kernels always use nnpde's",
    )
    p.add_argument(
        "--no-check",
        action="store_true",
        help="do not compare each output with the hand-written one (max relative difference)",
    )
    p.add_argument(
        "--max-output-elements",
        type=float,
        default=3e8,
        help="skip a kernel whose output has more elements than this (default 3e8: keeps "
        "(P, NT) at P=16384, M=128; drops (P, D, NT) and (P, D, D, NT) there)",
    )
    p.add_argument(
        "--mem-budget-gb",
        type=float,
        help="skip an implementation whose executable needs more memory than this "
        "(default: 60%% of available memory)",
    )
    p.add_argument(
        "--max-est-s",
        type=float,
        default=10.0,
        help="on CPU, skip an implementation whose estimated time per call (from XLA's cost "
        "analysis, rough) exceeds this many seconds; 0 disables",
    )
    p.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each (D, M, P, dtype) configuration, wait up to this long for a 1 s window "
        "in which other processes use < 10%% of the CPUs (default 0: don't wait)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fourth",
        action="store_true",
        help="only the fourth-order partials (d4u/dx4 in 1-D, the biharmonic in 2-D; M = 32, "
        "float64, P = 1024 and 16384 unless --points): hand-written vs autodiff twin, direct "
        "and in a user's jax.jit -> benchmarks/results/kernels-<device>-fourth.md",
    )
    args = p.parse_args(argv)
    args.points_given = args.points is not None
    if args.quick and args.headline:
        p.error("--quick and --headline are exclusive")
    if args.quick:
        defaults = {
            "dims": [2],
            "widths": [16],
            "points": [1024],
            "dtypes": list(DTYPES),
            "repeats": 5,
        }
    elif args.headline:
        defaults = {
            "dims": [2],
            "widths": [32],
            "points": [16384],
            "dtypes": ["float64"],
            "kernels": list(HEADLINE_KERNELS),
        }
    else:
        defaults = {}
    fallback = {
        "dims": list(DIMS),
        "widths": list(WIDTHS),
        "points": list(POINTS),
        "dtypes": list(DTYPES),
        "kernels": list(DEFAULT_KERNELS),
    }
    for name, default in fallback.items():
        if getattr(args, name) is None:
            setattr(args, name, defaults.get(name, default))
    if args.repeats is None:
        args.repeats = defaults.get("repeats", 15)
    if args.repeats < 1 or args.min_repeats < 1:
        p.error("--repeats and --min-repeats must be >= 1")
    args.min_repeats = min(args.min_repeats, args.repeats)
    return args


# ---- machine description ----------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def available_memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def wait_idle(max_wait_s: float, log, threshold: float = 0.1, window_s: float = 1.0) -> bool:
    """Waits until the machine is idle (< ``threshold`` CPU busy over ``window_s``) while this
    process sleeps, i.e. until other processes leave the CPUs alone; gives up after
    ``max_wait_s``. Returns whether it found the machine idle."""
    deadline = time.monotonic() + max_wait_s
    said = False
    while True:
        a = _cpu_ticks()
        time.sleep(window_s)
        b = _cpu_ticks()
        if a is None or b is None:
            return True
        busy = (b[0] - a[0]) / max(1, b[1] - a[1])
        if busy < threshold:
            return True
        if time.monotonic() > deadline:
            log(f"    machine still busy ({busy:.0%} CPU) after {max_wait_s:g} s; going on")
            return False
        if not said:
            log(f"    waiting for other processes to go idle ({busy:.0%} CPU busy)")
            said = True


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "nnpde"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "no commits") + (" (nnpde/ has uncommitted changes)" if dirty else "")


def command_line() -> str:
    exe = sys.executable
    try:
        exe = os.path.relpath(exe)
    except ValueError:
        pass
    env = "PYTHONPATH=. " if os.environ.get("PYTHONPATH") else ""
    return env + shlex.join([exe, *sys.argv])


def nnpde_native_info() -> dict | None:
    try:
        from nnpde import native
    except ImportError:  # an nnpde without the native kernel
        return None
    return native.info()


def machine_info(device) -> dict:
    import jaxlib

    try:
        import folx

        folx_version = folx.__version__
    except ImportError:
        folx_version = None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "memory_available_gb": round((available_memory_bytes() or 0) / 2**30, 1),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "folx": folx_version,
        "nnpde_native": nnpde_native_info(),
        "backend": device.platform,
        "device": f"{device} ({getattr(device, 'device_kind', '?')})",
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "load_average_start": load_average(),
        "git": git_state(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command_line(),
    }


# ---- the functions under test -----------------------------------------------------------------
def weight_shapes(kernel: str, n: int, d: int, nt: int = 0) -> dict:
    """Shapes of the per-point weights (and r, tangent) a kernel takes besides (theta, x)."""
    full = {"value": (n,), "grad": (n, d), "hessian": (n, d, d), "laplacian": (n,)}
    return {
        "value_vjp": {"w": (n,)},
        "grad_x_vjp": {"w": (n, d)},
        "hessian_x_vjp": {"w": (n, d, d)},
        "laplacian_x_vjp": {"w": (n,)},
        "operator_vjp": {"value": (n,), "grad": (n, d), "hessian": (n, d, d), "laplacian": (n,)},
        "operator_rows": {"value": (n,), "grad": (n, d), "hessian": (n, d, d), "laplacian": (n,)},
        "operator_gram": {"r": (n,), **full},
        "operator_jvp": {"tangent": (nt,), **full},
    }.get(kernel, {})


def output_elements(kernel: str, net, n: int) -> int:
    d, nt = net.dim, net.num_params
    return {
        "value": n,
        "grad_theta": n * nt,
        "grad_x": n * d,
        "hessian_x": n * d * d,
        "laplacian_x": n,
        "grad_x_theta": n * d * nt,
        "hessian_x_theta": n * d * d * nt,
        "laplacian_x_theta": n * nt,
        "operator_rows": n * nt,
        "operator_gram": nt * nt,
        "operator_jvp": n,
    }.get(kernel, nt)


class Impl:
    """One implementation under test: ``lower(theta, x, ws)`` -> ``jax.stages.Lowered`` and
    ``call(compiled, theta, x, ws)`` -> output, so that timings use the compiled executable."""

    def __init__(self, lower, call):
        self.lower, self.call = lower, call


def _dynamic_args(kernel: str, theta, x, ws):
    """(positional, keyword) dynamic arguments of ``nnpde.<module>.<kernel>`` after ``net``."""
    if kernel in POINTWISE:
        return (theta, x), {}
    if kernel in VJPS:
        return (theta, x, ws["w"]), {}
    extra = {"operator_gram": "r", "operator_jvp": "tangent"}.get(kernel)
    if extra:
        return (theta, x, ws[extra]), {k: v for k, v in ws.items() if k != extra}
    return (theta, x), dict(ws)


def nnpde_impl(module, kernel: str, net, chunk_size, platform: str, xla: str) -> Impl:
    """``module.<kernel>`` lowered with ``net`` static.

    xla="nnpde": through nnpde's own jit, with the XLA options it ships (they may include
    ``compiler_options``, which jax allows only on a top-level jit, so the function is lowered
    directly, not wrapped in another ``jax.jit``). xla="default": the same Python function
    under a plain ``jax.jit`` with XLA's default options.
    """
    fn = getattr(module, kernel)
    kw = {} if chunk_size is None else {"chunk_size": chunk_size}
    if xla == "default":
        jitted = jax.jit(getattr(fn, "__wrapped__", fn), static_argnames=("net", "chunk_size"))
    elif hasattr(fn, "jitted"):  # nnpde._jit.kernel_jit: one jax.jit per backend
        jitted = fn.jitted(platform)
    elif hasattr(fn, "lower"):  # a plain jax.jit
        jitted = fn
    else:
        jitted = None

    def lower(theta, x, ws):
        a, k = _dynamic_args(kernel, theta, x, ws)
        if jitted is not None:
            return jitted.lower(net, *a, **k, **kw)
        return jax.jit(lambda *a, **k: fn(net, *a, **k, **kw)).lower(*a, **k)

    def call(compiled, theta, x, ws):
        a, k = _dynamic_args(kernel, theta, x, ws)
        return compiled(*a, **k)

    return Impl(lower, call)


def userjit_impl(module, kernel: str, net, chunk_size) -> Impl:
    """``module.<kernel>`` called inside a caller's own ``jax.jit`` with XLA's default options:
    ``jax.jit(lambda theta, x, ws: K.<kernel>(net, theta, x, ...))``, the kernel inlined."""
    fn = getattr(module, kernel)
    kw = {} if chunk_size is None else {"chunk_size": chunk_size}

    def user(theta, x, ws):
        a, k = _dynamic_args(kernel, theta, x, ws)
        return fn(net, *a, **k, **kw)

    return jit_impl(user, {})


def pure_jax_impl(nnpde, impl: Impl) -> Impl:
    """``impl`` traced with nnpde's native kernel switched off (``nnpde.native.disabled``):
    the pure-JAX kernel, XLA's fusions, where the native one would serve."""

    def lower(*args):
        with nnpde.native.disabled():
            return impl.lower(*args)

    return Impl(lower, impl.call)


def jit_impl(fn, compiler_options: dict) -> Impl:
    """``fn(theta, x, ws)`` under one top-level ``jax.jit``."""
    jitted = jax.jit(fn, compiler_options=compiler_options or None)
    return Impl(jitted.lower, lambda compiled, *args: compiled(*args))


def kernel_compiler_options(nnpde, platform: str) -> dict:
    """The XLA options of the kernels' own jit on ``platform`` ({}: XLA's defaults)."""
    jit = getattr(nnpde.kernels, "_jit", None)  # functools.partial(kernel_jit, tuned=...)
    if getattr(jit, "keywords", {}).get("tuned", True) is False:
        return {}
    return nnpde_compiler_options(nnpde, platform)


def nnpde_compiler_options(nnpde, platform: str) -> dict:
    """The XLA options nnpde compiles its kernels with on ``platform`` ({} if none)."""
    fn = getattr(nnpde, "compiler_options", None)
    if fn is None:
        try:
            from nnpde._jit import compiler_options as fn
        except ImportError:
            return {}
    return dict(fn(platform))


def folx_laplacian(net, sparsity: float):
    """(theta, x (P, D)) -> ΔN (P,) by ``jax.vmap`` of folx's forward Laplacian per point."""
    from folx import forward_laplacian

    def single(theta, xp):
        return forward_laplacian(lambda y: net.apply(theta, y), sparsity)(xp).laplacian

    return jax.vmap(single, in_axes=(None, 0))


def _blocks(chunk: int, *arrays):
    """Zero-pads the points axis to a multiple of ``chunk`` and folds it: (nb, chunk, ...)."""
    out = []
    for a in arrays:
        n = a.shape[0]
        nb = -(-n // chunk)
        a = jnp.pad(a, [(0, nb * chunk - n)] + [(0, 0)] * (a.ndim - 1))
        out.append(a.reshape((nb, chunk, *a.shape[1:])))
    return out


def folx_fn(kernel: str, net, chunk: int | None, sparsity: float):
    """folx counterpart of ``laplacian_x`` / ``laplacian_x_vjp``; ``chunk`` = points per block.

    laplacian_x: vmap of folx per point; chunked = ``lax.map`` over blocks of points.
    laplacian_x_vjp: ``jax.grad`` over θ of Σ_p r_p ΔN_p through folx; chunked = ``lax.scan``
    over blocks accumulating each block's gradient (memory independent of P, as in nnpde).
    """
    lap = folx_laplacian(net, sparsity)
    if kernel == "laplacian_x":
        if chunk is None:
            return lambda theta, x, ws: lap(theta, x)

        def chunked_lap(theta, x, ws):
            n = x.shape[0]
            (xb,) = _blocks(chunk, x)
            return lax.map(lambda blk: lap(theta, blk), xb).reshape(-1)[:n]

        return chunked_lap

    def block_grad(theta, x, r):
        return jax.grad(lambda t: jnp.sum(r * lap(t, x)))(theta)

    if chunk is None:
        return lambda theta, x, ws: block_grad(theta, x, ws["w"])

    def chunked_vjp(theta, x, ws):
        xb, rb = _blocks(chunk, x, ws["w"])  # padded points have r = 0 and finite x = 0

        def body(acc, blk):
            return acc + block_grad(theta, *blk), None

        return lax.scan(body, jnp.zeros_like(theta), (xb, rb))[0]

    return chunked_vjp


# ---- timing -----------------------------------------------------------------------------------
def compile_impl(impl: Impl, args):
    """Returns (compiled executable, seconds for trace + lower + compile)."""
    t0 = time.perf_counter()
    compiled = impl.lower(*args).compile()
    return compiled, time.perf_counter() - t0


def cost_estimate(compiled) -> tuple[float | None, float | None]:
    """(flops, bytes accessed) from XLA's cost analysis; loop bodies count once."""
    try:
        ca = compiled.cost_analysis()
        ca = ca[0] if isinstance(ca, (list, tuple)) else ca
        return ca.get("flops"), ca.get("bytes accessed")
    except Exception:  # not every backend reports it
        return None, None


def estimated_seconds(flops, nbytes) -> float | None:
    """A rough CPU time per call: 10 GFLOP/s plus 5 GB/s accessed (within ~1.5x of the autodiff
    twins' measured times on 2 Xeon cores, from 0.2 s to 6 s per call).

    Only used to skip hopeless entries; loops (the chunked kernels) are undercounted, so it
    never skips those.
    """
    if flops is None and nbytes is None:
        return None
    return (flops or 0) / 1e10 + (nbytes or 0) / 5e9


def memory_needed(compiled) -> int | None:
    try:
        m = compiled.memory_analysis()
        return int(m.temp_size_in_bytes + m.output_size_in_bytes + m.argument_size_in_bytes)
    except Exception:  # not every backend reports it
        return None


def warm_up(call):
    """The warm-up call; returns (output, its seconds, calls per timed group).

    Calls faster than ~1 ms are timed in groups (one block_until_ready per group) to keep
    perf_counter's resolution and Python overhead out; the median is over groups.
    """
    t0 = time.perf_counter()
    out = jax.block_until_ready(call())
    first = time.perf_counter() - t0
    inner = 1 if first >= 1e-3 else max(1, min(200, int(2e-3 / max(first, 1e-6))))
    return out, first, inner


def time_group(call, inner: int) -> float:
    """Seconds per call over ``inner`` back-to-back calls, blocking on the last."""
    t = time.perf_counter()
    for _ in range(inner):
        out = call()
    jax.block_until_ready(out)
    return (time.perf_counter() - t) / inner


def time_interleaved(runs: dict, repeats: int, min_repeats: int, budget_s: float):
    """Times the implementations in rounds, one group of calls each per round.

    Interleaving makes background load hit the hand-written kernel and its baselines alike.
    An implementation stops after ``repeats`` groups, or after ``min_repeats`` once its groups
    took ``budget_s`` in all. ``runs``: name -> dict with "call" and "inner"; fills
    "times" (seconds per call, one per group).
    """
    for r in runs.values():
        r.setdefault("times", [])
        r.setdefault("spent", 0.0)
    active = [name for name, r in runs.items() if len(r["times"]) < repeats]
    while active:
        for name in list(active):
            r = runs[name]
            t0 = time.perf_counter()
            r["times"].append(time_group(r["call"], r["inner"]))
            r["spent"] += time.perf_counter() - t0
            n = len(r["times"])
            if n >= repeats or (n >= min_repeats and r["spent"] > budget_s):
                active.remove(name)


def rel_diff(a, b) -> float | None:
    """max |a - b| / max |b| (NaN-safe enough for a sanity column); tuples (operator_gram's
    JᵀJ, Jᵀr) give the largest of their parts' differences."""
    if isinstance(a, (tuple, list)):
        diffs = [rel_diff(u, w) for u, w in zip(a, b)]
        return None if None in diffs else max(diffs)
    try:
        a = jnp.asarray(a, jnp.float64) if jax.config.jax_enable_x64 else jnp.asarray(a)
        b = jnp.asarray(b, a.dtype)
        scale = float(jnp.max(jnp.abs(b)))
        return float(jnp.max(jnp.abs(a - b))) / (scale if scale > 0 else 1.0)
    except Exception:
        return None


def fmt_ms(ms: float) -> str:
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def fmt_bytes(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def prepare_impl(name, impl: Impl, args, opts, mem_budget, log):
    """Compiles one implementation, checks memory and cost, and warms it up.

    Returns (record, run or None, output or None); ``run`` feeds ``time_interleaved``.
    """
    rec = {"status": "ok"}
    try:
        compiled, rec["compile_s"] = compile_impl(impl, args)
    except Exception as e:  # keep the sweep going, report the failure
        rec.update(status="error", error=f"compile: {type(e).__name__}: {str(e)[:200]}")
        log(f"    {name}: compile error {rec['error']}")
        return rec, None, None
    need = memory_needed(compiled)
    rec["memory_bytes"] = need
    if need is not None and mem_budget is not None and need > mem_budget:
        rec.update(status="skipped", note=f"skipped (needs {fmt_bytes(need)})")
        log(f"    {name}: {rec['note']}")
        return rec, None, None
    rec["flops"], rec["bytes_accessed"] = cost_estimate(compiled)
    est = estimated_seconds(rec["flops"], rec["bytes_accessed"])
    if opts.max_est_s and est is not None and est > opts.max_est_s and opts.cpu:
        rec.update(status="skipped", note=f"skipped (est. {est:.0f} s/call)")
        log(f"    {name}: {rec['note']}")
        return rec, None, None
    call = functools.partial(impl.call, compiled, *args)
    try:
        out, rec["warmup_s"], inner = warm_up(call)
    except Exception as e:  # e.g. RESOURCE_EXHAUSTED
        rec.update(status="error", error=f"run: {type(e).__name__}: {str(e)[:200]}")
        log(f"    {name}: run error {rec['error']}")
        return rec, None, None
    run = {"call": call, "inner": inner}
    if rec["warmup_s"] > opts.time_budget / 2:
        # A slow call (compiled ahead of time, so its first run is compile-free): count the
        # warm-up call as the first repeat rather than spend another call on it.
        run.update(times=[rec["warmup_s"]], spent=rec["warmup_s"])
        rec["warmup_counted"] = True
    return rec, run, out


# ---- the sweep --------------------------------------------------------------------------------
def make_inputs(net, n: int, dtype, kernel: str, seed: int, device):
    key = jax.random.key(seed)
    k_theta, k_x, k_w = jax.random.split(key, 3)
    theta = net.init(k_theta, dtype=dtype)
    x = jax.random.uniform(k_x, (n, net.dim), dtype, -1.0, 1.0)
    ws = {}
    shapes = weight_shapes(kernel, n, net.dim, net.num_params)
    for i, (name, shape) in enumerate(shapes.items()):
        ws[name] = jax.random.normal(jax.random.fold_in(k_w, i), shape, dtype)
    return jax.device_put((theta, x, ws), device)


def bench_entry(nnpde, kernel, dim, width, n, dtype_name, opts, mem_budget, device, log):
    net = nnpde.TwoLayerNet(dim, (width, width), "tanh")
    dtype = jnp.dtype(dtype_name)
    elements = output_elements(kernel, net, n)
    out_bytes = elements * dtype.itemsize
    entry = {
        "kernel": kernel,
        "dim": dim,
        "width": width,
        "points": n,
        "dtype": dtype_name,
        "num_params": net.num_params,
        "output_elements": elements,
        "impls": {},
    }
    log(f"{kernel} D={dim} M={width} P={n} {dtype_name} (NT={net.num_params})")
    if elements > opts.max_output_elements:
        entry["skipped"] = f"skipped (output {fmt_bytes(out_bytes)})"
        log(f"    {entry['skipped']}")
        return entry
    args = make_inputs(net, n, dtype, kernel, opts.seed, device)
    platform = device.platform
    impls = {
        "hand": nnpde_impl(nnpde.kernels, kernel, net, opts.chunk_size, platform, "nnpde"),
        "userjit": userjit_impl(nnpde.kernels, kernel, net, opts.chunk_size),
        "autodiff": nnpde_impl(nnpde.autodiff, kernel, net, None, platform, opts.baseline_xla),
    }
    if kernel in NATIVE_KERNELS and platform == "cpu" and dtype == jnp.float64:
        if nnpde.native.enabled():  # the pure-JAX kernel beside the native one, in a user's jit
            user = userjit_impl(nnpde.kernels, kernel, net, opts.chunk_size)
            impls["jax"] = pure_jax_impl(nnpde, user)
    if kernel in FOLX_KERNELS and not opts.no_folx:
        xla = opts.baseline_xla_options
        impls["folx"] = jit_impl(folx_fn(kernel, net, None, opts.folx_sparsity), xla)
        impls["folx_chunked"] = jit_impl(
            folx_fn(kernel, net, opts.folx_chunk, opts.folx_sparsity), xla
        )
    reference, runs = None, {}
    for name, fn in impls.items():
        budget = mem_budget
        if budget is not None and reference is not None:
            budget -= out_bytes  # the hand-written output is still held for the diff
        rec, run, out = prepare_impl(name, fn, args, opts, budget, log)
        if name == "hand":
            reference = out
        elif out is not None and reference is not None and not opts.no_check:
            rec["max_rel_diff_vs_hand"] = rel_diff(out, reference)
        entry["impls"][name] = rec
        if run is not None:
            runs[name] = run
        del out
    del reference
    try:
        time_interleaved(runs, opts.repeats, opts.min_repeats, opts.time_budget)
    except Exception as e:  # e.g. RESOURCE_EXHAUSTED
        for name in runs:
            entry["impls"][name].update(status="error", error=f"run: {type(e).__name__}: {e}"[:250])
        log(f"    run error: {type(e).__name__}: {str(e)[:200]}")
        runs = {}
    for name, run in runs.items():
        rec = entry["impls"][name]
        times = run["times"]
        rec.update(
            median_s=statistics.median(times),
            min_s=min(times),
            times_s=times,
            repeats=len(times),
            calls_per_repeat=run["inner"],
        )
        log(
            f"    {name:13s} {rec['median_s'] * 1e3:10.3f} ms  (compile {rec['compile_s']:.2f} s,"
            f" {len(times)}x{run['inner']} calls)"
        )
    del runs, args
    for how, key in (("hand", "ratios"), ("userjit", "ratios_userjit")):
        mine = entry["impls"].get(how, {}).get("median_s")
        entry[key] = {
            name: rec["median_s"] / mine
            for name, rec in entry["impls"].items()
            if name not in ("hand", "userjit") and mine and rec.get("median_s")
        }
    return entry


def configs(opts):
    for dtype in opts.dtypes:
        for dim in opts.dims:
            for width in opts.widths:
                for n in opts.points:
                    yield dim, width, n, dtype


# ---- report -----------------------------------------------------------------------------------
def _ms(rec):
    if rec is None:
        return "—"
    if rec.get("median_s") is not None:
        return fmt_ms(rec["median_s"] * 1e3)
    if rec.get("note"):
        return rec["note"]
    return "error" if rec.get("status") == "error" else "—"


def _ratio(entry, name, key="ratios"):
    r = entry.get(key, {}).get(name)
    return "—" if r is None else f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def _compile(rec):
    return "—" if rec is None or rec.get("compile_s") is None else f"{rec['compile_s']:.2f}"


def table(entries) -> list[str]:
    """One row per entry: the kernel both ways (its own jit, inside a caller's jit), the
    baselines, ratios (baseline / hand-written; >1: hand-written is faster), compile times."""
    rows = [
        (
            "| kernel | D | M | P | dtype | hand ms | userjit ms | pure-JAX ms | pure-JAX/userjit "
            "| autodiff ms | autodiff/hand "
            "| autodiff/userjit | folx ms | folx/userjit | folx chunked ms "
            "| folx chunked/hand | folx chunked/userjit | compile s hand | compile s userjit "
            "| compile s autodiff |"
        ),
        "|---|---:|---:|---:|---|" + "---:|" * 15,
    ]
    for e in entries:
        head = f"| {e['kernel']} | {e['dim']} | {e['width']} | {e['points']} | {e['dtype']} "
        if e.get("skipped"):
            rows.append(head + f"| {e['skipped']} |" + " — |" * 14)
            continue
        im = e["impls"]
        rows.append(
            head
            + f"| {_ms(im.get('hand'))} | {_ms(im.get('userjit'))} | {_ms(im.get('jax'))} "
            + f"| {_ratio(e, 'jax', 'ratios_userjit')} | {_ms(im.get('autodiff'))} "
            + f"| {_ratio(e, 'autodiff')} | {_ratio(e, 'autodiff', 'ratios_userjit')} "
            + f"| {_ms(im.get('folx'))} | {_ratio(e, 'folx', 'ratios_userjit')} "
            + f"| {_ms(im.get('folx_chunked'))} | {_ratio(e, 'folx_chunked')} "
            + f"| {_ratio(e, 'folx_chunked', 'ratios_userjit')} "
            + f"| {_compile(im.get('hand'))} | {_compile(im.get('userjit'))} "
            + f"| {_compile(im.get('autodiff'))} |"
        )
    return rows


def headline(entries) -> tuple[list[str], list[dict]]:
    index = {(e["kernel"], e["dim"], e["width"], e["points"], e["dtype"]): e for e in entries}
    lines, records = [], []
    for hid, kernel, dim, width, n, dtype, base, target, text, how in HEADLINE:
        e = index.get((kernel, dim, width, n, dtype))
        if e is None:  # not part of this run
            continue
        ratios = "ratios_userjit" if how == "userjit" else "ratios"
        text += " (inside a caller's jit, XLA defaults)" if how == "userjit" else " (its own jit)"
        where = f"D={dim} M={width} P={n} {dtype}"
        ratio = e.get(ratios, {}).get(base)
        rec = {
            "id": hid,
            "how": how,
            "kernel": kernel,
            "dim": dim,
            "width": width,
            "points": n,
            "dtype": dtype,
            "baseline": base,
            "target": target,
            "ratio": ratio,
        }
        if ratio is None:
            rec["verdict"] = "N/A"
            lines.append(f"- **N/A** {text}, {where}: no timing (see table) (target ≥{target:g}x)")
        else:
            rec["verdict"] = "PASS" if ratio >= target else "MISS"
            hand_ms = e["impls"][how]["median_s"] * 1e3
            base_ms = e["impls"][base]["median_s"] * 1e3
            lines.append(
                f"- **{rec['verdict']}** {text}, {where}: **{ratio:.1f}x** "
                f"(target ≥{target:g}x; {how} {fmt_ms(hand_ms)} ms, {base} {fmt_ms(base_ms)} ms)"
            )
        records.append(rec)
    return lines, records


def report(meta, entries, opts) -> tuple[str, list[dict]]:
    head_lines, head_records = headline(entries)
    nnpde_opts = meta.get("nnpde_compiler_options") or "XLA defaults"
    slower = [
        (e, how, e[key]["autodiff"])
        for e in entries
        for how, key in (("hand", "ratios"), ("userjit", "ratios_userjit"))
        if e.get(key, {}).get("autodiff") is not None and e[key]["autodiff"] < 1
    ]
    lines = [
        f"# nnpde kernel benchmark ({meta['backend']})",
        "",
        "## Headline",
        "",
        *head_lines,
        "",
        "## Machine",
        "",
        f"- CPU: {meta['cpu']}, {meta['cpu_count']} cores"
        + (f" ({meta['cpus_usable']} usable)" if meta.get("cpus_usable") else "")
        + f", {meta['memory_available_gb']} GB memory available",
        f"- backend: {meta['backend']}, device: {meta['device']}",
        f"- jax {meta['jax']}, jaxlib {meta['jaxlib']}, numpy {meta['numpy']}, "
        f"folx {meta['folx']}, Python {meta['python']}"
        + (f", XLA_FLAGS={meta['xla_flags']!r}" if meta["xla_flags"] else ""),
        f"- nnpde git: {meta['git']}; native kernel: {meta.get('nnpde_native')}",
        (
            f"- date: {meta['date']}; total runtime {meta.get('runtime_s', 0):.0f} s; load "
            f"average (1, 5, 15 min) at start {meta.get('load_average_start')}, "
            f"at end {meta.get('load_average_end')}"
        ),
        f"- command: `{meta['command']}`",
        "",
        "## Method",
        "",
        "Median wall time of the compiled function per call after one warm-up call, with "
        "`block_until_ready` (calls under 1 ms timed in groups); the implementations of a row "
        "are timed in interleaved rounds so background load affects them alike; at most "
        f"{opts.repeats} repeats, stopping after {opts.time_budget:g} s once "
        f"{opts.min_repeats} are done; a first call slower than {opts.time_budget / 2:g} s "
        "counts as a repeat (executables are compiled ahead of time). Compile s = "
        "`jax.jit(f).lower(...).compile()` (trace + lower + XLA), not in the timings. "
        "Ratios are baseline time / hand-written "
        "time (>1: hand-written is faster). autodiff = `nnpde.autodiff` (jax.grad / "
        "jax.hessian twins). folx = `jax.vmap` of `folx.forward_laplacian` per point "
        f"(sparsity_threshold={opts.folx_sparsity:g}); for `laplacian_x_vjp`, `jax.grad` over θ "
        f"of Σ r_p ΔN_p through it; chunked = blocks of {opts.folx_chunk} points (`lax.map` "
        "for laplacian_x, `lax.scan` accumulating per-block gradients for the VJP). "
        "hand = the kernel's own jit called at top level (XLA options "
        f"{nnpde_opts}); userjit = the kernel inside a caller's "
        "`jax.jit(lambda theta, x, ...: K.kernel(net, theta, x, ...))` with XLA's default "
        "options (the kernel is inlined into it); for the kernels `nnpde.native` computes in "
        "C++ (the VJPs, operator_rows, laplacian_x_theta, operator_gram's rows, grad_theta, "
        "value, grad_x, hessian_x, laplacian_x: tanh, float64, CPU) both are the native kernel "
        "and "
        "pure-JAX = the pure-JAX kernel (XLA's fusions) in a caller's jit, traced under "
        "`nnpde.native.disabled()`; the baselines (autodiff twins, folx) are "
        "compiled with "
        f"{opts.baseline_xla_options or 'XLA defaults'} (--baseline-xla {opts.baseline_xla}). "
        f"Hand-written chunk_size: {opts.chunk_size or 'default'}. Outputs over "
        f"{opts.max_output_elements:.2g} elements are skipped; "
        f"so are executables needing more than {meta.get('memory_budget_gb')} GB (XLA "
        "memory_analysis)"
        + (
            f" or, on CPU, estimated at more than {opts.max_est_s:g} s per call (XLA cost_analysis)"
            if opts.max_est_s
            else ""
        )
        + ". θ, x and the weights are random, in the row's dtype (x64 is enabled).",
        "",
    ]
    if slower:
        lines += [
            "## Slower than autodiff",
            "",
            *(
                f"- {e['kernel']} D={e['dim']} M={e['width']} P={e['points']} {e['dtype']}: "
                f"{how} {ratio:.2f}x"
                for e, how, ratio in slower
            ),
            "",
        ]
    mismatches = [
        (e, name, rec["max_rel_diff_vs_hand"])
        for e in entries
        for name, rec in e.get("impls", {}).items()
        if rec.get("max_rel_diff_vs_hand") is not None
        and not rec["max_rel_diff_vs_hand"] <= (1e-4 if e["dtype"] == "float32" else 1e-9)
    ]
    if mismatches:
        lines += [
            "## Outputs that differ from the hand-written kernel",
            "",
            *(
                f"- {e['kernel']} D={e['dim']} M={e['width']} P={e['points']} {e['dtype']}: "
                f"{name} max relative difference {d:.2g}"
                for e, name, d in mismatches
            ),
            "",
        ]
    lines += ["## Results", "", *table(entries), ""]
    return "\n".join(lines), head_records


def write_outputs(path: Path, meta, entries, opts, final: bool):
    text, head_records = report(meta, entries, opts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    payload = {
        "meta": meta,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items()},
        "complete": final,
        "headline": head_records,
        "results": entries,
    }
    path.with_suffix(".json").write_text(json.dumps(payload, indent=1, default=str))
    return text


# ---- fourth-order partials (nnpde.taylor): --fourth -------------------------------------------
# (label, D, axes, weights of the combined operator): u'''' in 1-D; the biharmonic
# Δ²N = ∂⁴x + 2 ∂²x∂²y + ∂⁴y in 2-D (values return the three partials; rows, VJP and JVP weight
# them 1, 2, 1 times a random per-point residual).
FOURTH_CASES = (
    ("u''''", 1, ((0, 0, 0, 0),), (1.0,)),
    ("biharmonic", 2, ((0, 0, 0, 0), (0, 0, 1, 1), (1, 1, 1, 1)), (1.0, 2.0, 1.0)),
)
FOURTH_KERNELS = ("partials_x", "partials_x_rows", "partials_x_vjp")
FOURTH_POINTS = (1024, 16384)


def _fourth_call(mod, kernel, net, axes):
    if kernel == "partials_x":
        return lambda theta, x, c: mod.partials_x(net, theta, x, axes)
    return lambda theta, x, c: getattr(mod, kernel)(net, theta, x, axes, c)


def fourth_entry(nnpde, case, kernel, n, width, opts, log) -> dict:
    """One row: the kernel called directly and inside a user's jax.jit, and its autodiff twin
    the same two ways; compile time apart; median of the timed repeats."""
    label, dim, axes, mix = case
    net = nnpde.TwoLayerNet(dim, (width, width), "tanh")
    key = jax.random.key(opts.seed)
    theta = net.init(key, dtype=jnp.float64)
    x = jax.random.uniform(jax.random.fold_in(key, 1), (n, dim), jnp.float64)
    r = jax.random.normal(jax.random.fold_in(key, 2), (n,), jnp.float64)
    c = r[:, None] * jnp.asarray(mix, jnp.float64)[None]
    impls = {}
    for mod_name, mod in (("hand", nnpde.kernels), ("autodiff", nnpde.autodiff)):
        fn = _fourth_call(mod, kernel, net, axes)
        impls[f"{mod_name}-direct"] = fn
        impls[f"{mod_name}-userjit"] = jax.jit(fn)
    runs, outs, compile_s = {}, {}, {}
    for name, fn in impls.items():
        out, first, inner = warm_up(lambda fn=fn: fn(theta, x, c))
        compile_s[name] = first  # the first call: trace + compile + one run
        outs[name] = out
        runs[name] = {"call": lambda fn=fn: fn(theta, x, c), "inner": inner}
        log(f"    {label} {kernel} P={n} {name}: first call {first:.2f} s")
    time_interleaved(runs, opts.repeats, max(7, opts.min_repeats), opts.time_budget)
    ms = {name: 1e3 * statistics.median(r["times"]) for name, r in runs.items()}
    return {
        "case": label,
        "dim": dim,
        "axes": [list(a) for a in axes],
        "kernel": kernel,
        "points": n,
        "width": width,
        "num_params": net.num_params,
        "median_ms": ms,
        "repeats": {name: len(r["times"]) for name, r in runs.items()},
        "first_call_s": compile_s,
        "speedup_direct": ms["autodiff-direct"] / ms["hand-direct"],
        "speedup_userjit": ms["autodiff-userjit"] / ms["hand-userjit"],
        "rel_diff": rel_diff(outs["hand-direct"], outs["autodiff-direct"]),
        "load_average": load_average(),
    }


def fourth_report(meta, entries) -> str:
    lines = [
        "# Fourth-order kernels vs their autodiff twins (CPU)",
        "",
        "`nnpde.kernels.partials_x*` (hand-written multivariate Faà di Bruno through the two",
        "layers, points last; :mod:`nnpde.taylor`) against `nnpde.autodiff.partials_x*` (nested",
        "`jax.jvp` along unit vectors, vmapped; rows by `jax.grad`, the VJP by `jax.grad` of the",
        "weighted sum). Each called directly (the kernel's own jit) and inside a user's",
        "`jax.jit`; M1 = M2 = 32, tanh, float64; median wall time of >= 7 interleaved repeats",
        "after a warm-up call (first call = trace + compile + one run). Speed-up = autodiff /",
        "hand-written. `load` is `os.getloadavg()` after the row: the machine has 2 cores",
        "shared with other sessions, so absolute times carry that noise (the interleaving hits",
        "both sides alike).",
        "",
        f"Machine: {meta['cpu']} ({meta['cpus_usable']} usable CPUs), jax {meta['jax']}, "
        f"{meta['date']}, git {meta['git']}.",
        f"Load average at start {meta['load_average_start']}, at end "
        f"{meta.get('load_average_end')}. Command: `{meta['command']}`.",
        "",
        "| case | kernel | P | hand ms | autodiff ms | speed-up | hand (user jit) ms "
        "| autodiff (user jit) ms | speed-up (user jit) | first call hand / autodiff s "
        "| max rel diff | load (1, 5, 15 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        m, f = e["median_ms"], e["first_call_s"]
        diff = "n/a" if e["rel_diff"] is None else f"{e['rel_diff']:.1e}"
        lines.append(
            f"| {e['case']} (D={e['dim']}) | `{e['kernel']}` | {e['points']} "
            f"| {fmt_ms(m['hand-direct'])} | {fmt_ms(m['autodiff-direct'])} "
            f"| {e['speedup_direct']:.1f}x | {fmt_ms(m['hand-userjit'])} "
            f"| {fmt_ms(m['autodiff-userjit'])} | {e['speedup_userjit']:.1f}x "
            f"| {f['hand-direct']:.1f} / {f['autodiff-direct']:.1f} | {diff} "
            f"| {', '.join(f'{v:g}' for v in e['load_average'] or [])} |"
        )
    return "\n".join(lines) + "\n"


def run_fourth(opts, nnpde, device) -> int:
    """The --fourth section: writes benchmarks/results/kernels-<device>-fourth.md (+ .json)."""
    out = Path(opts.out or BENCH_DIR / "results" / f"kernels-{device.platform}-fourth.md")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    meta = machine_info(device)
    opts.repeats = max(opts.repeats, 7)
    entries = []
    t_start = time.perf_counter()
    for case in FOURTH_CASES:
        for n in opts.points if opts.points_given else FOURTH_POINTS:
            for kernel in FOURTH_KERNELS:
                entries.append(fourth_entry(nnpde, case, kernel, n, 32, opts, log))
                log(f"  {entries[-1]['case']} {kernel} P={n}: "
                    f"{entries[-1]['speedup_direct']:.1f}x direct, "
                    f"{entries[-1]['speedup_userjit']:.1f}x in a user's jit")  # fmt: skip
    meta["runtime_s"] = time.perf_counter() - t_start
    meta["load_average_end"] = load_average()
    text = fourth_report(meta, entries)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    payload = {"meta": meta, "results": entries}
    out.with_suffix(".json").write_text(json.dumps(payload, indent=1, default=str))
    print(text)
    log(f"wrote {out} in {meta['runtime_s']:.0f} s")
    return 0


# ---- main -------------------------------------------------------------------------------------
def main(argv=None) -> int:
    jax.config.update("jax_enable_x64", True)  # before any array exists; float32 rows cast
    opts = parse_args(argv)
    import nnpde  # after x64 is on

    platform_name = opts.device or jax.default_backend()
    try:
        device = jax.devices(platform_name)[0]
    except RuntimeError as e:
        print(f"no {platform_name} device: {e}", file=sys.stderr)
        return 2
    with jax.default_device(device):  # nnpde's per-backend option probe runs on it too
        if opts.fourth:
            return run_fourth(opts, nnpde, device)
        return run(opts, nnpde, device, platform_name)


def run(opts, nnpde, device, platform_name) -> int:
    suffix = "-quick" if opts.quick else "-headline" if opts.headline else ""
    out = opts.out or BENCH_DIR / "results" / f"kernels-{platform_name}{suffix}.md"
    out = Path(out)
    if opts.mem_budget_gb is not None:
        mem_budget = opts.mem_budget_gb * 2**30
    elif device.platform == "cpu":
        avail = available_memory_bytes()
        mem_budget = 0.6 * avail if avail else None
    else:
        stats = device.memory_stats() or {}
        mem_budget = 0.8 * stats["bytes_limit"] if "bytes_limit" in stats else None

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    opts.cpu = device.platform == "cpu"
    opts.baseline_xla_options = (
        nnpde_compiler_options(nnpde, device.platform) if opts.baseline_xla == "nnpde" else {}
    )
    meta = machine_info(device)
    meta["nnpde_compiler_options"] = kernel_compiler_options(nnpde, device.platform)
    meta["memory_budget_gb"] = None if mem_budget is None else round(mem_budget / 2**30, 1)
    log(f"device {meta['device']}; results -> {out}")
    load = meta["load_average_start"]
    if load and load[0] > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load} at start; other processes may skew the timings")
    entries = []
    t_start = time.perf_counter()
    todo = list(configs(opts))
    for i, (dim, width, n, dtype) in enumerate(todo):
        log(
            f"== configuration {i + 1}/{len(todo)}: D={dim} M={width} P={n} {dtype} "
            f"({time.perf_counter() - t_start:.0f} s elapsed)"
        )
        idle = wait_idle(opts.wait_idle, log) if opts.wait_idle > 0 else None
        for kernel in opts.kernels:
            entry = bench_entry(nnpde, kernel, dim, width, n, dtype, opts, mem_budget, device, log)
            entry["idle_at_start"] = idle
            entry["load_average"] = load_average()
            entries.append(entry)
            meta["runtime_s"] = time.perf_counter() - t_start
            write_outputs(out, meta, entries, opts, final=False)
    meta["runtime_s"] = time.perf_counter() - t_start
    meta["load_average_end"] = load_average()
    text = write_outputs(out, meta, entries, opts, final=True)
    print(text)
    log(f"wrote {out} and {out.with_suffix('.json')} in {meta['runtime_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

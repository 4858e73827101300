"""Fused native CPU kernels (XLA FFI): VJPs, Jacobian rows, and N, ∇xN, ΔN, ∇²xN (issue 17).

For a tanh :class:`~nnpde.TwoLayerNet` in float64 on the CPU, ``kernels.operator_vjp`` (any
weights of F = α N + β·∇N + h:∇²N + λ ΔN), the named VJPs built on it (``value_vjp``,
``grad_x_vjp``, ``hessian_x_vjp``, ``laplacian_x_vjp``), the rows ``kernels.operator_rows``
(what Levenberg-Marquardt's Jacobian is made of), ``laplacian_x_theta``, ``grad_theta`` and the
per-point ``value``, ``grad_x``, ``laplacian_x`` and ``hessian_x`` run C++ kernels
(``nnpde/csrc/native.cc``, built by ``pip install`` as the optional extension ``nnpde._native``)
instead of XLA's fusions. The VJP does the forward pass, the derivatives
(seed 000 eqs. 1, 3d, 4) and their reverse pass for blocks of 64 points with every intermediate
in cache, where XLA writes (P, D + 2, M) intermediates between its matrix products;
``grad_theta`` writes each block's rows (eq. 2) straight from the two layers. Measured on this
project's 2-core CPU (D = 2, M = 32, P = 16384, float64;
``benchmarks/results/kernels-cpu-native-xeon.md``): ``laplacian_x_vjp`` 6.9 ms inside a
caller's ``jax.jit`` against 23 ms for the pure-JAX kernel, 104 ms for ``jax.grad`` through
``jax.hessian`` and 21 ms for folx in blocks of 1024 points (a Xeon with AVX-512; on an AMD
EPYC with AVX2, ``kernels-cpu-native.md``, 9.9-11.6 ms against 30.5-34.3, 119-140 and
21-23 ms over two runs).

Everything else (other activations, float32, the GPU) runs the pure-JAX kernels, which stay
the twins the native kernels are tested against. So do derivatives of these functions (a
``jax.custom_jvp`` differentiates the pure-JAX kernel) and backends other than the CPU
(``lax.platform_dependent``). Under ``jax.vmap`` a kernel runs once per batch element.

Switches: the environment variable ``NNPDE_NATIVE=0`` (read at import) or the context manager
:func:`disabled` (read when a function is traced) select the pure-JAX kernels;
``NNPDE_NATIVE_ISA=avx2`` or ``baseline`` (read when the extension loads) caps the instruction
set the kernels use, and ``NNPDE_NATIVE_THREADS`` (read at the first call) the threads they
run on (default: the CPUs the process may use). :func:`info` says whether the extension is
built, which instruction set it chose, and why it is not used.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from nnpde.activations import get_activation

__all__ = ["disabled", "enabled", "info"]

try:
    from nnpde import _native as _ext

    _WHY_NOT = ""
except ImportError as err:  # no C++ compiler at install time, or another platform
    _ext, _WHY_NOT = None, f"the extension nnpde._native is not built ({err})"

_TARGETS = {"vjp": "nnpde_operator_vjp_f64", "rows": "nnpde_grad_theta_f64",
            "forward": "nnpde_forward_f64", "operator_rows": "nnpde_operator_rows_f64"}
_switch = {"on": os.environ.get("NNPDE_NATIVE", "1") != "0"}


def enabled() -> bool:
    """True when the native kernel is built and switched on (it then serves what it can)."""
    return _ext is not None and _switch["on"]


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Within the block, functions traced use the pure-JAX kernels (jitted ones that were
    traced before keep what they traced with).

    Example:
      >>> import nnpde
      >>> with nnpde.native.disabled():
      ...     nnpde.native.enabled()
      False
    """
    before = _switch["on"]
    _switch["on"] = False
    try:
        yield
    finally:
        _switch["on"] = before


def info() -> dict:
    """``{"built": bool, "enabled": bool, "isa": str | None, "reason": str}``: whether the
    extension is built and used, the instruction set it chose (avx512, avx2, baseline), and
    why not where it is not."""
    reason = _WHY_NOT or ("" if _switch["on"] else "switched off (NNPDE_NATIVE=0 or disabled())")
    return {"built": _ext is not None, "enabled": enabled(),
            "isa": getattr(_ext, "isa", None), "reason": reason}  # fmt: skip


def serves(net, x) -> bool:
    """Whether the native kernels compute the VJPs and ``grad_theta``: tanh, float64."""
    return enabled() and net.activation is get_activation("tanh") and x.dtype == jnp.float64


@functools.cache
def _register() -> None:
    for kind, target in _TARGETS.items():
        jax.ffi.register_ffi_target(target, getattr(_ext, f"{kind}_f64"), platform="cpu")


def _call(kind, net, shape, attrs, theta, *args):
    _register()
    out = jax.ShapeDtypeStruct(shape, theta.dtype)
    call = jax.ffi.ffi_call(_TARGETS[kind], out, vmap_method="sequential")
    result = call(theta, *args, m1=np.int64(net.m1), m2=np.int64(net.m2), **attrs)
    # Inside shard_map the inputs may vary over manual mesh axes and the custom call's output
    # type does not say so; adding the (exactly zero) sums of empty slices of the inputs gives
    # it their axes, as the pure-JAX result has.
    return result + sum(jnp.sum(a.ravel()[:0]) for a in (theta, *args))


def _native_or_pure(native: Callable, pure: Callable, *args):
    """``native(*args)`` on the CPU, ``pure(*args)`` elsewhere; derivatives through ``pure``."""

    @jax.custom_jvp
    def fn(*args):
        return jax.lax.platform_dependent(*args, cpu=native, default=pure)

    fn.defjvp(lambda primals, tangents: jax.jvp(pure, primals, tangents))
    return fn(*args)


def _operator(kind: str, net, theta, x, weights: dict, pure: Callable, shape, attrs=None):
    """The operator kernel ``kind`` ("vjp" or "operator_rows") on the CPU; see below."""
    names = tuple(k for k, w in weights.items() if w is not None)

    def pure_fn(theta, x, *ws):
        return pure(theta, x, **dict(zip(names, ws)))

    def native_fn(theta, x, *ws):
        w = dict(zip(names, ws))
        zeros, empty = jnp.zeros(x.shape[:1], x.dtype), jnp.zeros((0,), x.dtype)
        h = w.get("hessian")
        h = empty if h is None else 0.5 * (h + jnp.swapaxes(h, 1, 2))  # only sym(h) counts
        beta = w.get("grad", empty)
        flags = {"has_lap": "laplacian" in w, "has_beta": "grad" in w, "has_h": "hessian" in w}
        args = (w.get("value", zeros), w.get("laplacian", zeros), beta, h)
        return _call(kind, net, shape, {**flags, **(attrs or {})}, theta, x, *args)

    return _native_or_pure(native_fn, pure_fn, theta, x, *(weights[k] for k in names))


def operator_vjp(net, theta, x, weights: dict, pure: Callable):
    """Σ_p ∂F_p/∂θ, F = α N + β·∇N + h:∇²N + λ ΔN, shape (NT,), by the native kernel on the CPU.

    Args:
      net: a tanh ``TwoLayerNet`` (:func:`serves` checked by the caller).
      theta: (NT,) float64; x: (P, D).
      weights: ``{"value": α (P,), "grad": β (P, D), "hessian": h (P, D, D),
        "laplacian": λ (P,)}``, None where absent (not all).
      pure: ``pure(theta, x, **weights)`` with the weights given, the pure-JAX kernel: run on
        other backends and differentiated for derivatives of this function.
    """
    return _operator("vjp", net, theta, x, weights, pure, theta.shape)


def operator_rows(net, theta, x, weights: dict, pure: Callable, *, columns: bool = False):
    """∂F_p/∂θ per point by the native kernel on the CPU: the rows J, shape (P, NT), or with
    ``columns`` Jᵀ, shape (NT, P), as the points-last sums JᵀJ, Jᵀr use it. Arguments as for
    :func:`operator_vjp`; ``pure`` returns the same layout."""
    shape = (theta.shape[0], x.shape[0]) if columns else (x.shape[0], theta.shape[0])
    attrs = {"columns": columns}
    return _operator("operator_rows", net, theta, x, weights, pure, shape, attrs)


def grad_theta(net, theta, x, pure: Callable):
    """∂N_p/∂θ per point, shape (P, NT), by the native kernel on the CPU (seed 000 eq. 2).

    Args:
      net: a tanh ``TwoLayerNet`` (:func:`serves` checked by the caller).
      theta: (NT,) float64; x: (P, D).
      pure: ``pure(theta, x)``, the pure-JAX kernel (other backends, derivatives).
    """
    native = functools.partial(_call, "rows", net, (x.shape[0], theta.shape[0]), {})
    return _native_or_pure(native, pure, theta, x)


def forward(net, theta, x, pure: Callable, *, order: int):
    """N (order 0, shape (P,)), ∇xN (1, (P, D)), ΔN (2, (P,)) or ∇²xN (3, (P, D, D)) per point
    by the native kernel on the CPU (seed 000 eqs. 1, 3d, 4); ``pure(theta, x)`` elsewhere and
    for derivatives."""
    p, d = x.shape
    shape = {0: (p,), 1: (p, d), 2: (p,), 3: (p, d, d)}[order]
    native = functools.partial(_call, "forward", net, shape, {"order": np.int64(order)})
    return _native_or_pure(native, pure, theta, x)

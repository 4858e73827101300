"""Fused native CPU kernels (XLA FFI): Σ_p α_p ∂N_p/∂θ + λ_p ∂ΔN_p/∂θ and ∂N_p/∂θ (issue 17).

``kernels.laplacian_x_vjp``, ``kernels.value_vjp``, ``kernels.operator_vjp`` with only
``value`` and/or ``laplacian`` weights, and ``kernels.grad_theta`` run, for a tanh
:class:`~nnpde.TwoLayerNet` in float64 on the CPU, C++ kernels (``nnpde/csrc/native.cc``,
built by ``pip install`` as the optional extension ``nnpde._native``) instead of XLA's fusions.
The VJP does the forward pass, the Laplacian (seed 000 eqs. 1, 3d, 4) and its reverse pass for
blocks of 64 points with every intermediate in cache, where XLA writes (P, D + 2, M)
intermediates between its matrix products; ``grad_theta`` writes each block's rows (eq. 2)
straight from the two layers. Measured on this project's 2-core CPU (D = 2, M = 32,
P = 16384, float64; ``benchmarks/results/kernels-cpu-native.md``): the VJP 6.3 ms inside a
caller's ``jax.jit`` against 24 ms for the pure-JAX kernel, 109 ms for ``jax.grad`` through
``jax.hessian`` and 22 ms for folx in blocks of 1024 points.

Everything else (other activations, float32, gradient or Hessian weights, GPU) runs the
pure-JAX kernels, which stay the twin the native kernel is tested against. So do derivatives of
these VJPs (a ``jax.custom_jvp`` differentiates the pure-JAX kernel) and backends other than the
CPU (``lax.platform_dependent``). Under ``jax.vmap`` the kernel runs once per batch element.

Switches: the environment variable ``NNPDE_NATIVE=0`` (read at import) or the context manager
:func:`disabled` (read when a function is traced) select the pure-JAX kernels;
``NNPDE_NATIVE_ISA=avx2`` or ``baseline`` (read when the extension loads) caps the instruction
set the kernel uses. :func:`info` says whether the extension is built, which instruction set it
chose, and why it is not used.
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

_TARGETS = {"vjp": "nnpde_value_laplacian_vjp_f64", "rows": "nnpde_grad_theta_f64"}
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


def serves_rows(net, x) -> bool:
    """Whether the native kernel computes ``grad_theta``: tanh, float64."""
    return enabled() and net.activation is get_activation("tanh") and x.dtype == jnp.float64


def serves(net, x, alpha, beta, h, lap) -> bool:
    """Whether the native kernel computes this VJP: α and/or λ, no β or h, tanh, float64."""
    weights = alpha is not None or lap is not None
    return weights and beta is None and h is None and serves_rows(net, x)


@functools.cache
def _register() -> None:
    for kind, handler in (("vjp", "value_laplacian_vjp_f64"), ("rows", "grad_theta_f64")):
        jax.ffi.register_ffi_target(_TARGETS[kind], getattr(_ext, handler), platform="cpu")


def _call(kind, net, shape, attrs, theta, *args):
    _register()
    out = jax.ShapeDtypeStruct(shape, theta.dtype)
    call = jax.ffi.ffi_call(_TARGETS[kind], out, vmap_method="sequential")
    return call(theta, *args, m1=np.int64(net.m1), m2=np.int64(net.m2), **attrs)


def _native_or_pure(native: Callable, pure: Callable, *args):
    """``native(*args)`` on the CPU, ``pure(*args)`` elsewhere; derivatives through ``pure``."""

    @jax.custom_jvp
    def fn(*args):
        return jax.lax.platform_dependent(*args, cpu=native, default=pure)

    fn.defjvp(lambda primals, tangents: jax.jvp(pure, primals, tangents))
    return fn(*args)


def value_laplacian_vjp(net, theta, x, alpha, lap, pure: Callable):
    """Σ_p α_p ∂N_p/∂θ + λ_p ∂ΔN_p/∂θ, shape (NT,), by the native kernel on the CPU.

    Args:
      net: a tanh ``TwoLayerNet`` (:func:`serves` checked by the caller).
      theta: (NT,) float64; x: (P, D); alpha, lap: (P,) weights or None (not both).
      pure: ``pure(theta, x, alpha, lap)`` with the same weights, the pure-JAX kernel: run on
        other backends and differentiated for derivatives of this function.
    """
    attrs = {"laplacian": lap is not None}  # without λ the kernel skips the Laplacian (S = 1)
    alpha = jnp.zeros_like(lap) if alpha is None else alpha
    if lap is None:
        lap, inner = alpha, pure  # a placeholder the kernel ignores
        pure = lambda t, y, a, _: inner(t, y, a, None)  # noqa: E731
    native = functools.partial(_call, "vjp", net, theta.shape, attrs)
    return _native_or_pure(native, pure, theta, x, alpha, lap)


def grad_theta(net, theta, x, pure: Callable):
    """∂N_p/∂θ per point, shape (P, NT), by the native kernel on the CPU (seed 000 eq. 2).

    Args:
      net: a tanh ``TwoLayerNet`` (:func:`serves_rows` checked by the caller).
      theta: (NT,) float64; x: (P, D).
      pure: ``pure(theta, x)``, the pure-JAX kernel (other backends, derivatives).
    """
    native = functools.partial(_call, "rows", net, (x.shape[0], theta.shape[0]), {})
    return _native_or_pure(native, pure, theta, x)

"""Fused native CPU kernel (XLA FFI) for the θ-gradient of Σ_p α_p N_p + λ_p ΔN_p (issue 17).

``kernels.laplacian_x_vjp`` and ``kernels.operator_vjp`` with only ``value`` and/or
``laplacian`` weights run, for a tanh :class:`~nnpde.TwoLayerNet` in float64 on the CPU, one
C++ kernel (``nnpde/csrc/native.cc``, built by ``pip install`` as the optional extension
``nnpde._native``) instead of XLA's fusions: it does the forward pass, the Laplacian
(seed 000 eqs. 1, 3d, 4) and its reverse pass for blocks of 64 points with every intermediate in
cache, where XLA writes (P, D + 2, M) intermediates between its matrix products. Measured on
this project's 2-core CPU (D = 2, M = 32, P = 16384, float64; benchmarks/kernels.py): 6 ms
against 20 ms for the pure-JAX kernel inside a caller's ``jax.jit``, 100-125 ms for
``jax.grad`` through ``jax.hessian`` and 20 ms for folx in blocks of 1024 points.

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

_TARGET = "nnpde_value_laplacian_vjp_f64"
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


def serves(net, x, beta, h, lap) -> bool:
    """Whether the native kernel computes this VJP: λ given, no β or h, tanh, float64."""
    return (enabled() and lap is not None and beta is None and h is None
            and net.activation is get_activation("tanh")
            and x.dtype == jnp.float64)  # fmt: skip


@functools.cache
def _register() -> None:
    jax.ffi.register_ffi_target(_TARGET, _ext.value_laplacian_vjp_f64, platform="cpu")


def _call(net, theta, x, alpha, lap):
    _register()
    out = jax.ShapeDtypeStruct(theta.shape, theta.dtype)
    call = jax.ffi.ffi_call(_TARGET, out, vmap_method="sequential")
    return call(theta, x, alpha, lap, m1=np.int64(net.m1), m2=np.int64(net.m2))


def value_laplacian_vjp(net, theta, x, alpha, lap, pure: Callable):
    """Σ_p α_p ∂N_p/∂θ + λ_p ∂ΔN_p/∂θ, shape (NT,), by the native kernel on the CPU.

    Args:
      net: a tanh ``TwoLayerNet`` (:func:`serves` checked by the caller).
      theta: (NT,) float64; x: (P, D); alpha, lap: (P,) weights (zeros where absent).
      pure: ``pure(theta, x, alpha, lap)``, the pure-JAX kernel: run on other backends and
        differentiated for derivatives of this function.
    """

    @jax.custom_jvp
    def vjp(theta, x, alpha, lap):
        native = functools.partial(_call, net)
        return jax.lax.platform_dependent(theta, x, alpha, lap, cpu=native, default=pure)

    vjp.defjvp(lambda primals, tangents: jax.jvp(pure, primals, tangents))
    return vjp(theta, x, alpha, lap)

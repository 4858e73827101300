"""``jax.jit`` for nnpde's kernels, with XLA options tuned per backend.

On CPU, XLA (jax >= 0.8) hands reductions as well as matrix products to its YNNPACK library
fusions; for the kernels' many small reductions over points that costs a separate pass over
memory each, and measured 1.4-2x slower on the θ-gradient of Σ r ΔN (benchmarks/kernels.py).
``kernel_jit`` therefore compiles with YNNPACK restricted to matrix products. The option is
probed once per backend; where this jaxlib lacks it, the kernels compile with XLA's defaults.

When you call a kernel inside your own ``jax.jit``, your jit's options apply; pass
``compiler_options=nnpde.compiler_options()`` to it to get the same tuning. There the kernel's
body is traced inline, not as a nested ``jax.jit``: with jaxlib 0.10 on a process pinned to one
CPU (``taskset -c 0``; MLIR's thread pool then has one thread), a module holding the nested
``jit(operator_gram)`` next to a Cholesky factorisation lost the LAPACK custom call's typed-FFI
attributes on its way to HLO, and the dense LM step failed with "No registered implementation
for untyped custom call to lapack_dpotrf_ffi" (issue 19, item 11). Inline, the module has no
such call and compiles the same on any number of CPUs.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

__all__ = ["compiler_options", "kernel_jit"]

_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_DOT"}


@functools.cache
def _probe(backend: str) -> tuple:
    if backend != "cpu":
        return ()
    try:
        jax.jit(lambda z: z + 1, compiler_options=_CPU_OPTIONS).lower(jnp.zeros(())).compile()
    except Exception:  # option unknown to this jaxlib: use XLA's defaults
        return ()
    return tuple(_CPU_OPTIONS.items())


def compiler_options(backend: str | None = None) -> dict:
    """XLA compiler options nnpde uses for its jitted functions on ``backend``.

    Args:
      backend: "cpu", "gpu", ...; default ``jax.default_backend()``.

    Returns:
      A dict for ``jax.jit(..., compiler_options=...)`` (empty where no tuning applies).
    """
    return dict(_probe(backend or jax.default_backend()))


def kernel_jit(fn=None, *, static_argnames=("net", "chunk_size")):
    """Like ``jax.jit(fn, static_argnames=...)``, compiled with :func:`compiler_options`."""
    if fn is None:
        return functools.partial(kernel_jit, static_argnames=static_argnames)
    jitted: dict = {}

    def get(backend: str):
        if backend not in jitted:
            jitted[backend] = jax.jit(
                fn, static_argnames=static_argnames, compiler_options=compiler_options(backend)
            )
        return jitted[backend]

    plain = jax.jit(fn, static_argnames=static_argnames)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        # Compiler options are allowed on a top-level jit only: inside a user's jit or vmap
        # (tracer arguments) the kernel is traced inline and the caller's options apply.
        if any(isinstance(a, jax.core.Tracer) for a in jax.tree_util.tree_leaves((args, kwargs))):
            return fn(*args, **kwargs)
        try:
            return get(jax.default_backend())(*args, **kwargs)
        except ValueError as err:
            if "Non-hashable static arguments" in str(err):
                # jax hashes static arguments before the kernel's own checks run: run it
                # unjitted so that they name the argument (an unhashable net or chunk_size
                # is never valid, so this raises the kernel's TypeError/ValueError).
                return fn(*args, **kwargs)
            if "compiler_options" not in str(err):
                raise
            return plain(*args, **kwargs)  # under a trace with only concrete arguments

    wrapper.jitted = get  # wrapper.jitted(backend) -> the underlying jax.jit object
    return wrapper

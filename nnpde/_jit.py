"""``jax.jit`` for nnpde's jitted entry points, with XLA options tuned per backend.

On CPU, XLA (jax >= 0.8) hands reductions as well as matrix products to its YNNPACK library
fusions; a reduction over points then costs a separate pass over memory and splits the
element-wise work around it into many small fusions. :func:`compiler_options` restricts YNNPACK
to matrix products (``xla_cpu_experimental_ynn_fusion_type``), probed once per backend.

Where it is used (issue 17, measured with benchmarks/kernels.py): NOT by the two-layer kernels
of :mod:`nnpde.kernels`. They have no reductions left (sums over points are matrix products,
:mod:`nnpde._cols`), so they are as fast under XLA's defaults, i.e. inside a caller's own
``jax.jit``, as under the option, and the option made ``operator_gram`` 2x slower (its large
JᵀJ product). They compile with ``kernel_jit(..., tuned=False)``. The MLP losses of
:mod:`nnpde.backprop` and the solver loops still use the option.

Inside a caller's ``jax.jit`` (tracer arguments) a kernel's body is traced inline, not as a
nested ``jax.jit``: with jaxlib 0.10 on a process pinned to one CPU (``taskset -c 0``; MLIR's
thread pool then has one thread), a module holding the nested ``jit(operator_gram)`` next to a
Cholesky factorisation lost the LAPACK custom call's typed-FFI attributes on its way to HLO, and
the dense LM step failed with "No registered implementation for untyped custom call to
lapack_dpotrf_ffi" (issue 19, item 11). Inline, the module has no such call and compiles the
same on any number of CPUs.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from nnpde import native

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


def kernel_jit(fn=None, *, static_argnames=("net", "chunk_size"), tuned: bool = True):
    """Like ``jax.jit(fn, static_argnames=...)``, compiled with :func:`compiler_options` when
    ``tuned`` (else with XLA's defaults, as inside a caller's jit)."""
    if fn is None:
        return functools.partial(kernel_jit, static_argnames=static_argnames, tuned=tuned)
    jitted: dict = {}

    def get(backend: str):
        key = (backend, native.enabled())  # a trace holds the native kernel or not
        if key not in jitted:
            opts = compiler_options(backend) if tuned else {}
            jitted[key] = jax.jit(
                fn, static_argnames=static_argnames, compiler_options=opts or None
            )
        return jitted[key]

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

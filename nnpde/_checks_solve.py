"""Checks of :func:`nnpde.solve`'s arguments that name the argument and what was expected.

Kept apart from :mod:`nnpde.solvers` so that ``solve`` stays a short driver: each function takes
the raw argument and returns it in the form ``solve`` uses, or raises ``TypeError``/``ValueError``
whose message starts with the argument's name.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

__all__ = ["check_theta0"]


def check_theta0(theta0, n_total: int) -> jnp.ndarray:
    """``theta0`` as the flat parameter vector Θ (``n_total``,), float32 or float64.

    Args:
      theta0: what the user passed as ``solve(theta0=...)``: a flat array of all parameters
        (for a system: the K networks' θ one after the other, then the unknown coefficients).
      n_total: the number of parameters, K · ``net.num_params`` + len(params).

    Returns:
      A JAX array of shape (n_total,) and theta0's float dtype.

    Raises:
      TypeError: a ``Params`` (or another NamedTuple of arrays) instead of one flat array, or a
        dtype other than float32/float64 (ints, complex, float16, strings, objects).
      ValueError: a shape other than (n_total,), or NaN/Inf.
    """
    if isinstance(theta0, tuple) and hasattr(theta0, "_fields"):
        raise TypeError(
            f"theta0 must be one flat array of shape ({n_total},), got a "
            f"{type(theta0).__name__} (a NamedTuple of arrays): pass net.pack(params) instead"
        )
    try:
        theta = np.asarray(theta0)
    except (TypeError, ValueError) as err:
        raise TypeError(f"theta0 must be a float32 or float64 array of shape ({n_total},), got "
                        f"a {type(theta0).__name__} that is not an array ({err})") from None
    if theta.dtype not in (np.float32, np.float64):
        raise TypeError(f"theta0 must be a float32 or float64 array, got {theta.dtype}")
    if theta.shape != (n_total,):
        raise ValueError(f"theta0 must have shape ({n_total},) (components × net.num_params + "
                         f"the number of params), got {theta.shape}")  # fmt: skip
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta0 contains NaN or Inf")
    return jnp.asarray(theta)

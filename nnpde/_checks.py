"""Input checks shared by the hand-written kernels and their autodiff twins.

They run at trace time (shapes and dtypes are static), so inside ``jax.jit`` they cost nothing
after the first call for a given shape. Values are never inspected: NaN in gives NaN out.
Every error is a ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong shape,
size or setting) whose message starts with the kernel's name and names the argument.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from nnpde import _nets


def check_net(net, kernel: str, order: int) -> None:
    """``net`` is a TwoLayerNet whose activation has derivatives up to ``order``."""
    if not _nets.is_two_layer(net):
        raise TypeError(f"{kernel}: net must be a nnpde.TwoLayerNet, got {type(net).__name__}")
    act = net.activation
    if order > act.order:
        primes = "'" * order
        raise ValueError(
            f"{kernel} needs the activation's derivative of order {order} (f{primes}), "
            f"but activation {act.name!r} is valid only up to order {act.order} "
            "(ReLU's f'' is a Dirac delta, not 0); use a smooth activation such as 'tanh'"
        )


# Float types the kernels compute in. float8 and other ml_dtypes extension types are refused:
# third derivatives of the activation in them would be noise.
FLOAT_DTYPES = tuple(jnp.dtype(t) for t in (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64))
_FLOAT_NAMES = "float16, bfloat16, float32 or float64"


def _as_float_array(value, name: str, kernel: str):
    """``value`` as a JAX array of one of ``FLOAT_DTYPES``, or a TypeError naming ``name``."""
    if value is None:
        raise TypeError(f"{kernel}: {name} is required, got None")
    if isinstance(value, jax.Array):
        arr = value
    else:
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # e.g. Params
            raise TypeError(
                f"{kernel}: {name} must be one array, got a {type(value).__name__}"
                + (" (use net.pack(params) for θ)" if name == "theta" else "")
            )
        try:
            arr = jnp.asarray(value)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{kernel}: {name} must be a floating-point array ({_FLOAT_NAMES}), got a "
                f"{type(value).__name__} that is not an array ({err})"
            ) from None
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{kernel}: {name} must be a floating-point array ({_FLOAT_NAMES}), "
            f"got dtype {arr.dtype}"
        )
    return arr


def check_inputs(net, theta, x, kernel: str, order: int):
    """Validates (net, theta, x); returns them as arrays. x: (P, D), theta: (NT,)."""
    check_net(net, kernel, order)
    theta = _as_float_array(theta, "theta", kernel)
    x = _as_float_array(x, "x", kernel)
    if theta.shape != (net.num_params,):
        raise ValueError(
            f"{kernel}: theta must have shape ({net.num_params},) = (num_params,) for "
            f"dim={net.dim}, hidden={net.hidden}; got shape {tuple(theta.shape)}"
        )
    if x.ndim != 2:
        raise ValueError(
            f"{kernel}: x must have shape (P, {net.dim}) (a batch of points), "
            f"got rank {x.ndim} with shape {tuple(x.shape)}"
            + ("; for one point use x[None, :]" if x.ndim == 1 else "")
        )
    if x.shape[1] != net.dim:
        raise ValueError(
            f"{kernel}: x has {x.shape[1]} coordinates per point but the network has "
            f"dim={net.dim}; expected shape (P, {net.dim}), got {tuple(x.shape)}"
        )
    if x.dtype != theta.dtype:
        raise TypeError(
            f"{kernel}: x and theta must have the same dtype, got x {x.dtype} and "
            f"theta {theta.dtype}; cast one of them (e.g. x.astype(theta.dtype))"
        )
    return theta, x


def check_weights(value, name: str, shape: tuple, dtype, kernel: str):
    """A per-point weight array of the given shape and dtype (None passes through)."""
    if value is None:
        return None
    arr = _as_float_array(value, name, kernel)
    if arr.shape != shape:
        raise ValueError(f"{kernel}: {name} must have shape {shape}, got {tuple(arr.shape)}")
    if arr.dtype != dtype:
        raise TypeError(f"{kernel}: {name} has dtype {arr.dtype} but theta and x have {dtype}")
    return arr


def check_chunk_size(chunk_size, kernel: str):
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"{kernel}: chunk_size must be a positive int or None, got {chunk_size!r}")

"""The one place that tells the network kinds apart, and a flat-θ view of both.

:class:`~nnpde.TwoLayerNet` (seed 000) already works on a flat θ and has hand-written
kernels; :class:`~nnpde.MLP` keeps a tuple of ``(W, b)`` layers and offers
``ravel``/``unravel``. Every module asks :func:`is_two_layer` / :func:`is_mlp` (never
``isinstance`` or attribute checks of its own), so collocation and the solvers treat both
through the same code (the MLP with autodiff derivatives).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from nnpde.mlp import MLP
from nnpde.network import TwoLayerNet


def is_two_layer(net) -> bool:
    """True for a :class:`~nnpde.TwoLayerNet` (hand-written kernels exist for it)."""
    return isinstance(net, TwoLayerNet)


def is_mlp(net) -> bool:
    """True for an :class:`~nnpde.MLP`."""
    return isinstance(net, MLP)


def check_net(net) -> None:
    if not is_two_layer(net) and not is_mlp(net):
        raise TypeError(f"net must be a nnpde.TwoLayerNet or nnpde.MLP, got {type(net).__name__}")


def input_dim(net) -> int:
    return net.sizes[0] if is_mlp(net) else net.dim


def check_scalar(net) -> None:
    """Collocation needs a scalar network: an MLP with one identity output."""
    if is_mlp(net) and (net.sizes[-1] != 1 or net.output_name != "identity"):
        raise ValueError(
            f"a PDE solution needs a scalar network: an MLP with sizes[-1] == 1 and "
            f"output='identity', got sizes={net.sizes} and output={net.output_name!r}"
        )


def flat_init(net, key, dtype):
    """Initial flat θ (NT,)."""
    if is_mlp(net):
        return net.ravel(net.init(key, dtype))
    return net.init(key, dtype)


def scale_output(net, theta, s):
    """θ with the output layer multiplied by ``s`` (N scaled by s): the output weights a of a
    ``TwoLayerNet`` (seed 000 eq. 7a; it has no output bias), the last layer's weights and bias
    of an ``MLP``. On the host for a ``TwoLayerNet`` (no compilation)."""
    if is_mlp(net):
        layers = list(net.unravel(theta))
        layers[-1] = jax.tree_util.tree_map(lambda a: a * s, layers[-1])
        return net.ravel(tuple(layers))
    out = np.array(theta)
    out[net.offsets.a:net.offsets.a + net.m2] *= s
    return jnp.asarray(out)


def first_width(net) -> int:
    """Units in the first hidden layer: M1 of a ``TwoLayerNet``, N1 of an ``MLP``."""
    return net.sizes[1] if is_mlp(net) else net.m1


def shift_first_layer(net, theta, shifts, slopes=None):
    """θ (NT,) with unit m's first-layer hyperplane moved by the point ``shifts[m]`` (M1, D):
    b'_m = b_m - v_m·shifts[m], so v_m·x + b'_m = v_m·(x - shifts[m]) + b_m (seed 000 eq. 1c).
    The slopes v are kept, or first multiplied axis by axis by ``slopes`` (D,) when given
    (v'_mi = v_mi·slopes_i; then b'_m = b_m - v'_m·shifts[m]). The first layer is v, b of a
    ``TwoLayerNet`` (seed 000 eq. 7), W¹, b¹ of an ``MLP``. On the host for a ``TwoLayerNet``
    (no compilation)."""
    shifts = np.asarray(shifts, float)
    if is_mlp(net):
        layers = list(net.unravel(theta))
        w, b = layers[0]
        if slopes is not None:
            w = w * jnp.asarray(slopes, w.dtype)[None, :]
        layers[0] = (w, b - jnp.sum(w * jnp.asarray(shifts, w.dtype), axis=1))
        return net.ravel(tuple(layers))
    out = np.array(theta)
    v_at, b_at = net.offsets.v, net.offsets.b
    v = out[v_at:v_at + net.m1 * net.dim].reshape(net.m1, net.dim)
    if slopes is not None:
        v = v * np.asarray(slopes, float)
        out[v_at:v_at + net.m1 * net.dim] = v.ravel()
    out[b_at:b_at + net.m1] -= np.sum(v * shifts, axis=1)
    return jnp.asarray(out)


def apply_single(net, theta, x):
    """N(x, θ) for one point x (D,) and a flat θ: a scalar."""
    if is_mlp(net):
        return jnp.reshape(net.apply(net.unravel(theta), x), ())
    return net.apply(theta, x)

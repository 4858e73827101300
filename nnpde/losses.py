"""Data-fitting losses of an :class:`~nnpde.MLP` and their output-layer gradients.

For outputs Aᴷ = out(Zᴷ) (P, NK) and targets Y (P, NK), summing over samples p and outputs k:

    "mse"            L = 1/(2P) Σ_p |A_p - Y_p|²       seed 001 eq. (11) (½ and the mean)
    "sum_squares"    L = Σ_p |A_p - Y_p|²             seeds 002, 003 eq. (6), 004 eq. (5)
    "cross_entropy"  L = -(1/P) Σ_p Σ_k Y_pk log A_pk  needs output="softmax"

:func:`value` is the reference definition (``jax.nn`` softmax / log-softmax), which the
autodiff twins in :mod:`nnpde.autodiff` differentiate; :func:`output_delta` is the hand-written
value and ∂L/∂Zᴷ that :mod:`nnpde.backprop` propagates back through the layers. The input
checks shared by both are here too.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from nnpde import _nets
from nnpde.mlp import MLP, SOFTMAX

Array = jax.Array

__all__ = ["LOSSES", "check_inputs", "check_loss", "check_net", "output_delta", "value"]

LOSSES = ("mse", "sum_squares", "cross_entropy")


def check_net(net, where: str) -> None:
    """``net`` must be an :class:`~nnpde.MLP` spec."""
    if not _nets.is_mlp(net):
        raise TypeError(f"{where}: net must be a nnpde.MLP, got {type(net).__name__}")


def check_loss(net: MLP, loss, where: str) -> None:
    """``loss`` is one of :data:`LOSSES` and fits the network's output."""
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"{where}: unknown loss {loss!r}; expected one of {list(LOSSES)}")
    if loss == "cross_entropy" and net.output != SOFTMAX:
        raise ValueError(
            f"{where}: loss='cross_entropy' needs a network with output='softmax' (it takes "
            f"the log of probabilities), got output={net.output_name!r}; use 'mse' or "
            "'sum_squares' for other outputs"
        )


def _check_probability_rows(net: MLP, y: Array, dtype, where: str) -> None:
    """Concrete softmax targets must be probability rows (≥ 0, each summing to 1)."""
    if isinstance(y, jax.core.Tracer):  # under jit/vmap: values are unknown, shapes suffice
        return
    yv = np.asarray(y, dtype=np.float64)
    tol = max(1e-6, 10 * net.out_dim * float(jnp.finfo(dtype).eps))
    negative = ~(yv >= 0)  # NaN counts as bad
    sums = yv.sum(axis=-1)
    off = ~(np.abs(sums - 1) <= tol)
    if negative.any() or off.any():
        row = int(np.flatnonzero(negative.any(axis=-1) | off)[0])
        raise ValueError(
            f"{where}: with output='softmax' every row of y must be a probability vector "
            f"(entries >= 0 summing to 1); row {row} is {yv[row].tolist()} (sum "
            f"{sums[row]:.6g}). Softmax outputs are probabilities; regression targets need "
            "output='identity'"
        )


def check_inputs(net: MLP, params, x, y, loss: str, where: str):
    """Validates (net, params, x, y, loss) for a gradient of the loss.

    Returns:
      (params as a tuple of (W, b) pairs, x (P, N0), y (P, NK) in the params' dtype).

    Raises:
      TypeError: ``net`` not an MLP; wrong parameter tree; x or y of a wrong type or dtype.
      ValueError: unknown loss, cross-entropy without softmax output, wrong shapes, no
        samples, or (concrete arrays only) softmax targets that are not probability rows.
    """
    check_net(net, where)
    check_loss(net, loss, where)
    params = net.check_params(params, where)
    dtype = params[0][0].dtype
    x, single = net.check_x(x, dtype, where)
    if x.shape[0] == 0:
        raise ValueError(f"{where}: x holds no samples (shape {tuple(x.shape)}); P must be >= 1")
    if not isinstance(y, (jax.Array, np.ndarray)):
        y = jnp.asarray(y)
    if not (jnp.issubdtype(y.dtype, jnp.floating) or jnp.issubdtype(y.dtype, jnp.integer)):
        raise TypeError(f"{where}: y must be a real numeric array, got dtype {y.dtype}")
    want = (net.out_dim,) if single else (x.shape[0], net.out_dim)
    if tuple(y.shape) != want:
        hint = "; for one output use y[:, None]" if y.shape == want[:1] and want[-1] == 1 else ""
        raise ValueError(
            f"{where}: y must have shape {want} = (P, NK) to match x {tuple(x.shape)} and "
            f"NK = {net.out_dim} outputs, got {tuple(y.shape)}{hint}"
        )
    if net.output == SOFTMAX:
        _check_probability_rows(net, y, dtype, where)
    y = jnp.asarray(y, dtype).reshape(x.shape[0], net.out_dim)
    return params, x, y


def value(net: MLP, loss: str, z: Array, y: Array) -> Array:
    """The loss of logits Zᴷ (P, NK) against targets Y (P, NK), by its definition (a scalar).

    This is the reference the autodiff twins differentiate: softmax and log-softmax come from
    ``jax.nn``, element-wise outputs from the activation's plain ``f``.
    """
    p = z.shape[0]
    if loss == "cross_entropy":
        return -jnp.sum(y * jax.nn.log_softmax(z, axis=-1)) / p
    a = jax.nn.softmax(z, axis=-1) if net.output == SOFTMAX else net.output_activation.f(z)
    s = jnp.sum((a - y) ** 2)
    return s / (2 * p) if loss == "mse" else s


def output_delta(net: MLP, loss: str, z: Array, y: Array) -> tuple[Array, Array, Array]:
    """Hand-written loss value, outputs Aᴷ and δᴷ = ∂L/∂Zᴷ (P, NK) of the last layer.

    With residual R = A - Y and E = ∂L/∂A (R/P for "mse", 2R for "sum_squares"):

      * element-wise output, A = out(Z):  δ = E ⊙ out'(Z) (seed 004 eq. 10, seed 003 eq. 82);
      * softmax output, squares: δ_pα = A_pα (E_pα - Σ_β A_pβ E_pβ): seed 001 eq. (14) in
        full, from the softmax Jacobian ∂A_β/∂Z_α = A_β(δ_αβ - A_α) (eq. 13) — the seed then
        drops the Σ term (eq. 15) and the factor A (eq. 16), see
        :func:`nnpde.backprop.seed001_approx_grad`;
      * softmax output, cross-entropy: δ_pα = (A_pα Σ_β Y_pβ - Y_pα)/P, which is (A - Y)/P for
        probability rows (Σ_β Y_pβ = 1). The value uses log A = Z - max Z - log Σ exp(Z - max Z),
        finite for any finite logits.

    Returns:
      (L scalar, Aᴷ (P, NK), δᴷ (P, NK)).
    """
    p = z.shape[0]
    if net.output == SOFTMAX:
        zs = z - jnp.max(z, axis=-1, keepdims=True)
        logp = zs - jnp.log(jnp.sum(jnp.exp(zs), axis=-1, keepdims=True))
        a = jnp.exp(logp)
        if loss == "cross_entropy":
            delta = (a * jnp.sum(y, axis=-1, keepdims=True) - y) / p
            return -jnp.sum(y * logp) / p, a, delta
        r = a - y
        e = r / p if loss == "mse" else 2 * r
        delta = a * (e - jnp.sum(a * e, axis=-1, keepdims=True))
    else:
        a, da = net.output_activation.up_to(z, 1)
        r = a - y
        e = r / p if loss == "mse" else 2 * r
        delta = e * da
    s = jnp.sum(r * r)
    return (s / (2 * p) if loss == "mse" else s), a, delta

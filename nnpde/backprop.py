"""Hand-written back-propagation for :class:`~nnpde.MLP` (seeds 001, 002, 003, 004).

Samples are rows, so every step is one matrix product over the whole batch (seed 001's
"vectorized" form, transposed); the only Python loop is over the K layers, which is static.
Forward pass (kept for the backward pass), for k = 1..K:

    Zᵏ = Aᵏ⁻¹ Wᵏᵀ + bᵏ,   Aᵏ = f(Zᵏ), f'(Zᵏ)   (k < K),   Aᴷ = out(Zᴷ)

Backward pass, from δᴷ = ∂L/∂Zᴷ (P, NK) given by :func:`nnpde.losses.output_delta`:

    ∂L/∂Wᵏ = δᵏᵀ Aᵏ⁻¹             (N_k, N_{k-1})   seed 001 eqs. (17), (22); seed 003 (81),
                                                   (83), (85) transposed; seed 004 (13), (27)
    ∂L/∂bᵏ = Σ_p δᵏ_p             (N_k,)           seed 001 eqs. (19), (23)
    δᵏ⁻¹  = (δᵏ Wᵏ) ⊙ f'(Zᵏ⁻¹)    (P, N_{k-1})     seed 001 eq. (24); seed 004 eqs. (26), (40)

The ``jacobian`` back-propagates NK seed vectors per sample at once, as one
(P·NK, N_k)·(N_k, N_{k-1}) product per layer. :mod:`nnpde.autodiff` has twins of
``value_and_grad`` and ``jacobian`` (same signatures) built on ``jax.value_and_grad`` and
``jax.jacrev``; they agree to ~1e-15 in float64 (tests/test_backprop.py).

Where the seeds' derivations are inexact or differ from this code:
  * seed 001 eqs. (15)-(16) drop terms of the exact softmax + squared-error gradient (14); the
    functions here use (14) in full; :func:`seed001_approx_grad` reproduces the approximation.
  * seed 001 eq. (22): the matrix form lacks the 1/M of the component form above it.
  * seed 001 eqs. (20), (25) tile the bias gradients to (N, M) matrices; here bᵏ stays (N_k,)
    and is broadcast over samples explicitly.
  * seed 002, first layer: df/dp_1 = (df/dz_1)(dz_1/dh_1)(dh_1/dp_1) follows only the path
    through z_1; h_1 feeds z_1, z_2 and z_3, so the gradient is the sum over those three paths
    (what the recursion for δ above does). Its "2√f" stands for 2(wᵀz - y), sign included.
  * seed 003 eq. (33) takes Relu'(0) = 1; jax and nnpde's ``relu`` use 0 (a kink either way).
  * seed 004 eq. (26) puts the sum over trials inside e^{K-1}; it belongs to the weight
    gradient only (eq. 27), per sample, as in eqs. (12)-(13); eq. (41) drops that sum.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from nnpde import losses as _losses
from nnpde._jit import kernel_jit
from nnpde.mlp import MLP, SOFTMAX, MLPParams

Array = jax.Array

__all__ = ["jacobian", "seed001_approx_grad", "value_and_grad"]

_jit = kernel_jit(static_argnames=("net",))
_jit_loss = kernel_jit(static_argnames=("net", "loss"))


def _forward(net: MLP, params: MLPParams, x: Array):
    """Forward pass. Returns (inputs Aᵏ⁻¹ of each layer, f'(Zᵏ) of hidden layers, Zᴷ)."""
    inputs, slopes = [], []
    a = x
    for k, (w, b) in enumerate(params, start=1):
        inputs.append(a)
        z = a @ w.T + b[None, :]
        if k < net.num_layers:
            a, df = net.activation.up_to(z, 1)
            slopes.append(df)
    return inputs, slopes, z


def _backward(params: MLPParams, inputs, slopes, delta: Array) -> MLPParams:
    """∂L/∂(Wᵏ, bᵏ) for all layers from δᴷ = ∂L/∂Zᴷ (P, NK), by the recursion above."""
    grads = []
    for k in range(len(params) - 1, -1, -1):
        grads.append((delta.T @ inputs[k], jnp.sum(delta, axis=0)))
        if k > 0:
            delta = (delta @ params[k][0]) * slopes[k - 1]
    return tuple(reversed(grads))


@_jit_loss
def _value_and_grad(net, params, x, y, loss):
    inputs, slopes, z = _forward(net, params, x)
    value, _, delta = _losses.output_delta(net, loss, z, y)
    return value, _backward(params, inputs, slopes, delta)


def value_and_grad(net: MLP, params, x, y, loss: str = "mse") -> tuple[Array, MLPParams]:
    """The loss and its gradient with respect to every (Wᵏ, bᵏ), by back-propagation.

    Args:
      net: the :class:`~nnpde.MLP` spec (static).
      params: K pairs (W (N_k, N_{k-1}), b (N_k,)) of one float dtype.
      x: inputs, (P, N0), or (N0,) for one sample; same dtype as ``params``.
      y: targets, (P, NK), or (NK,) with a 1-D ``x``; any real dtype, cast to the parameters'
        dtype. With ``output="softmax"`` each row must be a probability vector (checked when
        ``y`` is a concrete array, not under ``jit``).
      loss: ``"mse"`` L = 1/(2P) Σ_p |A_p - Y_p|² (seed 001 eq. 11: a half and a mean),
        ``"sum_squares"`` L = Σ_p |A_p - Y_p|² (seeds 002-004), or ``"cross_entropy"``
        L = -(1/P) Σ_pk Y_pk log A_pk (needs ``output="softmax"``). See :mod:`nnpde.losses`.

    Returns:
      (L, grads): L a scalar, grads the same tree as ``params`` holding ∂L/∂Wᵏ, ∂L/∂bᵏ.

    Raises:
      TypeError, ValueError: a wrong net, parameter tree, shape, dtype, loss name, a
        cross-entropy without softmax output, or non-probability softmax targets.

    Example:
      >>> import jax, jax.numpy as jnp, nnpde
      >>> net = nnpde.MLP((2, 5, 4, 3), "tanh", output="softmax")
      >>> params = net.init(jax.random.key(0))
      >>> x = jax.random.normal(jax.random.key(1), (6, 2), params[0][0].dtype)
      >>> y = jax.nn.one_hot(jnp.arange(6) % 3, 3, dtype=x.dtype)
      >>> loss, grads = nnpde.backprop.value_and_grad(net, params, x, y, "cross_entropy")
      >>> _, ref = nnpde.autodiff.value_and_grad(net, params, x, y, "cross_entropy")
      >>> [g.shape for g, _ in grads]
      [(5, 2), (4, 5), (3, 4)]
      >>> bool(jnp.allclose(net.ravel(grads), net.ravel(ref), rtol=1e-5, atol=1e-6))
      True
    """
    params, x2, y2 = _losses.check_inputs(net, params, x, y, loss, "backprop.value_and_grad")
    return _value_and_grad(net, params, x2, y2, loss)


@_jit
def _jacobian(net, params, x):
    p, nk = x.shape[0], net.out_dim
    inputs, slopes, z = _forward(net, params, x)
    eye = jnp.eye(nk, dtype=z.dtype)
    # Seeds S_pj = ∂A_pj/∂Z_p (P, NK, NK): rows of the output layer's Jacobian.
    if net.output == SOFTMAX:
        a = jax.nn.softmax(z, axis=-1)
        seeds = a[:, :, None] * (eye[None, :, :] - a[:, None, :])  # A_j (δ_ji - A_i), eq. 13
    else:
        _, da = net.output_activation.up_to(z, 1)
        seeds = da[:, None, :] * eye[None, :, :]
    # Each block of columns is zero-padded to the full width NT and the blocks are summed:
    # XLA fuses pads and adds into one loop that writes the (P·NK, NT) output once, where a
    # concatenate (on CPU) first materialises every outer product and then copies it.
    nt = net.num_params
    jac = None
    delta = seeds.reshape(p * nk, nk)  # row (p, j): ∂A_pj/∂Zᴷ_p
    for k in range(net.num_layers - 1, -1, -1):
        n, m = params[k][0].shape
        dw = delta.reshape(p, nk, n)[:, :, :, None] * inputs[k][:, None, None, :]
        for block, start in (
            (dw.reshape(p * nk, n * m), net.offsets[k][0]),
            (delta, net.offsets[k][1]),
        ):
            block = jnp.pad(block, ((0, 0), (start, nt - start - block.shape[1])))
            jac = block if jac is None else jac + block
        if k > 0:
            back = (delta @ params[k][0]).reshape(p, nk, m)  # rows (p, j)
            delta = (back * slopes[k - 1][:, None, :]).reshape(p * nk, m)
    return jac


def jacobian(net: MLP, params, x) -> Array:
    """Exact Jacobian of the flattened outputs with respect to the flat θ, by back-propagation.

    Row p·NK + j is ∂Aᴷ_pj/∂θ, columns in the :meth:`~nnpde.MLP.ravel` order (layer by layer,
    W row-major then b): the residual Jacobian that Levenberg-Marquardt needs. All NK seed
    vectors ∂A_pj/∂Zᴷ_p of all samples are propagated together through each layer as one
    (P·NK, N_k)·(N_k, N_{k-1}) product; the softmax seeds are A_pj (e_j - A_p) (seed 001
    eq. 13), element-wise outputs give out'(Zᴷ_pj) e_j.

    Args:
      net: the :class:`~nnpde.MLP` spec (static).
      params: K pairs (W, b) of one float dtype.
      x: inputs, (P, N0), or (N0,) for one sample; same dtype as ``params``.

    Returns:
      (P·NK, NT), or (NK, NT) for a 1-D ``x``.

    Example:
      >>> import jax, jax.numpy as jnp, nnpde
      >>> net = nnpde.MLP((1, 6, 6, 2), "sin")
      >>> params = net.init(jax.random.key(0))
      >>> x = jnp.linspace(0, 1, 4, dtype=params[0][0].dtype)[:, None]
      >>> jac = nnpde.backprop.jacobian(net, params, x)
      >>> jac.shape, net.num_params
      ((8, 68), 68)
      >>> bool(jnp.allclose(jac, nnpde.autodiff.jacobian(net, params, x), atol=1e-5))
      True
    """
    _losses.check_net(net, "backprop.jacobian")
    params = net.check_params(params, "backprop.jacobian")
    x2, _ = net.check_x(x, params[0][0].dtype, "backprop.jacobian")
    return _jacobian(net, params, x2)


@_jit
def _seed001(net, params, x, y):
    inputs, slopes, z = _forward(net, params, x)
    a = jax.nn.softmax(z, axis=-1)
    return _backward(params, inputs, slopes, (a - y) / x.shape[0])  # eq. 16, with eq. 17's 1/M


def seed001_approx_grad(net: MLP, params, x, y) -> MLPParams:
    """Seed 001's approximate gradient of its loss (11) for a softmax output (eqs. 16-25).

    The exact gradient of L = 1/(2P) Σ_p |A_p - Y_p|² with A = softmax(Zᴷ) is
    ∂L/∂Z_α = A_α (E_α - Σ_β A_β E_β) with E = (A - Y)/P (seed 001 eq. 14, computed by
    ``value_and_grad(..., loss="mse")``). The seed drops the Σ term (eq. 15) and the factor
    A_α (eq. 16), keeping ∂L/∂Zᴷ ≈ (A - Y)/P, and back-propagates that exactly (eqs. 17-25;
    here through any number of layers).

    What that is: (A - Y)/P is exactly ∂/∂Zᴷ of the cross-entropy -(1/P) Σ Y log A for
    probability targets, so this function equals ``value_and_grad(..., "cross_entropy")``'s
    gradient (to rounding): the seed trains a cross-entropy network, which is why eq. 16
    "still captures the necessary direction". It is not the gradient of (11), measured
    over all parameters in tests/test_backprop.py:

      * at a random initialisation (A near uniform) it points roughly the same way (cosine
        0.79-0.99) but is 2.7-4.8x too long: the exact δ carries the factor A ≈ 1/NK that
        eq. 16 drops;
      * the gap does not close as A → Y for one-hot targets, it grows: with every off-target
        probability ε, the exact δ is exactly NK·ε·A_c times (A - Y)/P (O(ε²) against O(ε)),
        so the direction is right but the length 1/(NK ε A_c) times too large;
      * where the network is confidently wrong, the exact squared-error gradient of those
        samples vanishes (softmax saturation) and the cross-entropy one does not: the two
        then point in unrelated directions (cosine 0.03 and 80x longer in the test).

    Args:
      net: an :class:`~nnpde.MLP` with ``output="softmax"`` (seed 001: one ReLU hidden layer,
        ``MLP((N0, N1, N2), "relu", output="softmax")``).
      params, x, y: as in :func:`value_and_grad`; rows of ``y`` are probability vectors.

    Returns:
      The same tree as ``params``: eq. (17) for W², (19) for b², (22) for W¹, (23) for b¹.

    Example:
      >>> import jax, jax.numpy as jnp, nnpde
      >>> net = nnpde.MLP((4, 10, 3), "relu", output="softmax")   # seed 001's network
      >>> params = net.init(jax.random.key(0))
      >>> x = jax.random.normal(jax.random.key(1), (8, 4), params[0][0].dtype)
      >>> y = jax.nn.one_hot(jnp.arange(8) % 3, 3, dtype=x.dtype)
      >>> approx = nnpde.backprop.seed001_approx_grad(net, params, x, y)
      >>> _, ce = nnpde.backprop.value_and_grad(net, params, x, y, "cross_entropy")
      >>> bool(jnp.allclose(net.ravel(approx), net.ravel(ce), rtol=1e-5, atol=1e-7))
      True
    """
    where = "backprop.seed001_approx_grad"
    _losses.check_net(net, where)
    if net.output != SOFTMAX:
        raise ValueError(
            f"{where}: seed 001's approximation is for a softmax output layer, got "
            f"output={net.output_name!r}; with an element-wise output use value_and_grad"
        )
    params, x2, y2 = _losses.check_inputs(net, params, x, y, "mse", where)
    return _seed001(net, params, x2, y2)

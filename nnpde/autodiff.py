"""Autodiff twins of :mod:`nnpde.kernels`: same names, same signatures, same checks.

Each is built from ``jax.grad``, ``jax.jacfwd`` and ``jax.hessian`` of the single-point network
function ``net.apply(theta, x)`` (seed 000, eq. 1), vmapped over points. They differentiate the
activation's plain ``f`` with JAX, so they check the closed-form f', f'', f''' as well. Switch a
whole program between the two by changing one import::

    from nnpde import kernels as K      # hand-written
    from nnpde import autodiff as K     # jax.grad / jax.hessian

``chunk_size`` is accepted for signature compatibility and ignored (autodiff vmaps all points).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from nnpde import kernels as _k
from nnpde import taylor as _taylor
from nnpde._checks import check_chunk_size, check_inputs, check_weights
from nnpde.network import TwoLayerNet
from nnpde.problem import partial_of

Array = jax.Array

__all__ = list(_k.__all__)
DEFAULT_CHUNK_SIZE = _k.DEFAULT_CHUNK_SIZE
GPU_CHUNK_SIZE = _k.GPU_CHUNK_SIZE
ROWS_CHUNK_SIZE = _k.ROWS_CHUNK_SIZE

# Plain jax.jit with XLA's default options: the twins are what a user's own jax.grad /
# jax.hessian code gets (nnpde's CPU options make some of them 2-3x slower).
_jit = functools.partial(jax.jit, static_argnames=("net", "chunk_size"))


def _hess(net):
    return jax.hessian(net.apply, argnums=1)


def _lap(net):
    return lambda theta, x: jnp.trace(_hess(net)(theta, x))


def _pointwise(kernel: str, order: int, single):
    """Public twin: ``single(net)`` maps (theta, one point x) to that point's output."""

    def fn(net: TwoLayerNet, theta, x, *, chunk_size=None):
        theta, x = check_inputs(net, theta, x, kernel, order)
        check_chunk_size(chunk_size, kernel)
        return jax.vmap(single(net), in_axes=(None, 0))(theta, x)

    fn.__name__ = fn.__qualname__ = kernel
    fn.__doc__ = f"Autodiff twin of :func:`nnpde.kernels.{kernel}` (same signature and output)."
    return _jit(fn)


value = _pointwise("value", 0, lambda net: net.apply)
grad_theta = _pointwise("grad_theta", 1, lambda net: jax.grad(net.apply, argnums=0))
grad_x = _pointwise("grad_x", 1, lambda net: jax.grad(net.apply, argnums=1))
hessian_x = _pointwise("hessian_x", 2, _hess)
laplacian_x = _pointwise("laplacian_x", 2, _lap)
jet = _pointwise(
    "jet",
    2,
    lambda net: lambda t, x: (net.apply(t, x), jax.grad(net.apply, 1)(t, x), _hess(net)(t, x)),
)
grad_x_theta = _pointwise(
    "grad_x_theta", 2, lambda net: jax.jacfwd(jax.grad(net.apply, argnums=1), argnums=0)
)
hessian_x_theta = _pointwise("hessian_x_theta", 3, lambda net: jax.jacfwd(_hess(net), argnums=0))
laplacian_x_theta = _pointwise("laplacian_x_theta", 3, lambda net: jax.grad(_lap(net), argnums=0))


def _operator_terms(net, theta, x, alpha, beta, h, lap):
    """F_p = α N + β·∇N + h:∇²N + λΔN at every point, by autodiff: shape (P,)."""
    out = jnp.zeros(x.shape[:1], x.dtype)
    batched = functools.partial(jax.vmap, in_axes=(None, 0))
    if alpha is not None:
        out = out + alpha * batched(net.apply)(theta, x)
    if beta is not None:
        out = out + jnp.sum(beta * batched(jax.grad(net.apply, argnums=1))(theta, x), axis=1)
    if h is not None:
        out = out + jnp.sum(h * batched(_hess(net))(theta, x), axis=(1, 2))
    if lap is not None:
        out = out + lap * batched(_lap(net))(theta, x)
    return out


@_jit
def operator_vjp(
    net, theta, x, *, value=None, grad=None, hessian=None, laplacian=None, chunk_size=None
):
    """Autodiff twin of :func:`nnpde.kernels.operator_vjp`: ``jax.grad`` of Σ_p F_p."""
    args = _k._check_operator(
        net, theta, x, value, grad, hessian, laplacian, chunk_size, "operator_vjp"
    )
    return jax.grad(lambda t: jnp.sum(_operator_terms(net, t, *args[1:])))(args[0])


@_jit
def operator_rows(
    net, theta, x, *, value=None, grad=None, hessian=None, laplacian=None, chunk_size=None
):
    """Autodiff twin of :func:`nnpde.kernels.operator_rows`: ``jax.grad`` of each F_p, vmapped."""
    theta, x, *ws = _k._check_operator(
        net, theta, x, value, grad, hessian, laplacian, chunk_size, "operator_rows"
    )

    def one(xp, *wp):  # F_p at one point, as a batch of one
        wb = [None if w is None else w[None] for w in wp]
        return jax.grad(lambda t: _operator_terms(net, t, xp[None], *wb)[0])(theta)

    in_axes = (0,) + tuple(None if w is None else 0 for w in ws)
    return jax.vmap(one, in_axes=in_axes)(x, *ws)


# ---- J t, JᵀJ and Jᵀr (twins of the matrix-free kernels) ----------------------------------------
@_jit
def operator_jvp(
    net, theta, x, tangent, *, value=None, grad=None, hessian=None, laplacian=None, chunk_size=None
):
    """Autodiff twin of :func:`nnpde.kernels.operator_jvp`: ``jax.jvp`` of (F_p)_p along t."""
    theta, x, *ws = _k._check_operator(
        net, theta, x, value, grad, hessian, laplacian, chunk_size, "operator_jvp"
    )
    tangent = _k._check_vector(net, tangent, "tangent", theta.dtype, "operator_jvp")
    return jax.jvp(lambda t: _operator_terms(net, t, x, *ws), (theta,), (tangent,))[1]


@_jit
def operator_gram(
    net, theta, x, r, *, value=None, grad=None, hessian=None, laplacian=None, chunk_size=None
):
    """Autodiff twin of :func:`nnpde.kernels.operator_gram`: (JᵀJ, Jᵀr) from the full
    :func:`operator_rows` twin (memory O(P·NT))."""
    if r is None:
        raise TypeError("operator_gram: r (the residuals, shape (P,)) is required, got None")
    _, x, *_ = _k._check_operator(
        net, theta, x, value, grad, hessian, laplacian, chunk_size, "operator_gram"
    )
    r = check_weights(r, "r", x.shape[:1], x.dtype, "operator_gram")
    J = operator_rows(net, theta, x, value=value, grad=grad, hessian=hessian, laplacian=laplacian)
    return J.T @ J, J.T @ r


def _named_jvp(kernel: str, single):
    def fn(net, theta, x, tangent, *, chunk_size=None):
        theta, x = check_inputs(net, theta, x, kernel, 1 if kernel == "value_jvp" else 3)
        check_chunk_size(chunk_size, kernel)
        tangent = _k._check_vector(net, tangent, "tangent", theta.dtype, kernel)
        batched = jax.vmap(single(net), in_axes=(None, 0))
        return jax.jvp(lambda t: batched(t, x), (theta,), (tangent,))[1]

    fn.__name__ = fn.__qualname__ = kernel
    fn.__doc__ = f"Autodiff twin of :func:`nnpde.kernels.{kernel}` (``jax.jvp``)."
    return _jit(fn)


value_jvp = _named_jvp("value_jvp", lambda net: net.apply)
laplacian_x_jvp = _named_jvp("laplacian_x_jvp", _lap)


def _named_vjp(kernel: str, slot: int):
    def fn(net, theta, x, weights, *, chunk_size=None):
        if weights is None:
            raise TypeError(f"{kernel}: the weights argument is required, got None")
        slots = [None] * 4
        slots[slot] = weights
        theta, x, *ws = _k._check_operator(
            net, theta, x, *slots, chunk_size, kernel, ("weights",) * 4
        )
        return jax.grad(lambda t: jnp.sum(_operator_terms(net, t, x, *ws)))(theta)

    fn.__name__ = fn.__qualname__ = kernel
    fn.__doc__ = f"Autodiff twin of :func:`nnpde.kernels.{kernel}` (``jax.grad`` of a sum)."
    return _jit(fn)


value_vjp = _named_vjp("value_vjp", 0)
grad_x_vjp = _named_vjp("grad_x_vjp", 1)
hessian_x_vjp = _named_vjp("hessian_x_vjp", 2)
laplacian_x_vjp = _named_vjp("laplacian_x_vjp", 3)


# ---- twins of the partials up to fourth order (nnpde.taylor): nested jax.jvp -----------------
def _partials_single(net, axes):
    """(θ, one point x) -> (K,) partials ∂^{α_k} N by nested jvp."""

    def fn(theta, xp):
        n = lambda y: net.apply(theta, y)  # noqa: E731
        return jnp.stack([partial_of(n, alpha, net.dim)(xp) for alpha in axes])

    return fn


_pjit = _taylor._jit


@_taylor._public
@_pjit
def partials_x(net, theta, x, axes, *, chunk_size=None):
    """Autodiff twin of :func:`nnpde.kernels.partials_x`: nested ``jax.jvp``, vmapped."""
    theta, x, pl = _taylor._check(net, theta, x, axes, "partials_x", 0, chunk_size)
    return jax.vmap(_partials_single(net, pl.axes), in_axes=(None, 0))(theta, x)


def _weighted_rows(net, axes, theta, x, c):
    one = lambda xp, cp: jax.grad(lambda t: _partials_single(net, axes)(t, xp) @ cp)(theta)  # noqa: E731
    return jax.vmap(one)(x, c)


@_taylor._public
@_pjit
def partials_x_rows(net, theta, x, axes, weights, *, chunk_size=None):
    """Autodiff twin of :func:`nnpde.kernels.partials_x_rows`: ``jax.grad`` of each
    Σ_k c_pk ∂^{α_k}N_p, vmapped."""
    theta, x, pl = _taylor._check(net, theta, x, axes, "partials_x_rows", 1, chunk_size)
    c = _taylor._weights(weights, x, pl, "partials_x_rows")
    return _weighted_rows(net, pl.axes, theta, x, c)


@_taylor._public
@_pjit
def partials_x_theta(net, theta, x, axes, *, chunk_size=None):
    """Autodiff twin of :func:`nnpde.kernels.partials_x_theta`: ``jax.jacfwd`` of the
    partials with respect to θ, vmapped."""
    theta, x, pl = _taylor._check(net, theta, x, axes, "partials_x_theta", 1, chunk_size)
    jac = jax.jacfwd(_partials_single(net, pl.axes), argnums=0)
    return jax.vmap(jac, in_axes=(None, 0))(theta, x)


@_taylor._public
@_pjit
def partials_x_vjp(net, theta, x, axes, weights, *, chunk_size=None):
    """Autodiff twin of :func:`nnpde.kernels.partials_x_vjp`: ``jax.grad`` of
    Σ_p Σ_k r_pk ∂^{α_k}N_p."""
    theta, x, pl = _taylor._check(net, theta, x, axes, "partials_x_vjp", 1, chunk_size)
    r = _taylor._weights(weights, x, pl, "partials_x_vjp")
    batched = jax.vmap(_partials_single(net, pl.axes), in_axes=(None, 0))
    return jax.grad(lambda t: jnp.sum(batched(t, x) * r))(theta)


@_taylor._public
@_pjit
def partials_x_jvp(net, theta, x, axes, tangent, weights, *, chunk_size=None):
    """Autodiff twin of :func:`nnpde.kernels.partials_x_jvp`: ``jax.jvp`` of
    (Σ_k c_pk ∂^{α_k}N_p)_p along t."""
    theta, x, pl = _taylor._check(net, theta, x, axes, "partials_x_jvp", 1, chunk_size)
    c = _taylor._weights(weights, x, pl, "partials_x_jvp")
    tangent = check_weights(tangent, "tangent", (net.num_params,), theta.dtype, "partials_x_jvp")
    batched = jax.vmap(_partials_single(net, pl.axes), in_axes=(None, 0))
    return jax.jvp(lambda t: jnp.sum(batched(t, x) * c, axis=1), (theta,), (tangent,))[1]


@_taylor._public
@_pjit
def partials_x_gram(net, theta, x, axes, r, weights, *, chunk_size=None):
    """Autodiff twin of :func:`nnpde.kernels.partials_x_gram`: (JᵀJ, Jᵀr) from the full
    :func:`partials_x_rows` twin (memory O(P·NT))."""
    theta, x, pl = _taylor._check(net, theta, x, axes, "partials_x_gram", 1, chunk_size)
    c = _taylor._weights(weights, x, pl, "partials_x_gram")
    if r is None:
        raise TypeError("partials_x_gram: r (the residuals, shape (P,)) is required, got None")
    r = check_weights(r, "r", x.shape[:1], x.dtype, "partials_x_gram")
    J = _weighted_rows(net, pl.axes, theta, x, c)
    return J.T @ J, J.T @ r


# ---- twins of nnpde.backprop (MLP losses and Jacobians): jax.value_and_grad / jax.jacrev ------
from nnpde import losses as _losses  # noqa: E402  (kept with the twins it serves)

__all__ += ["jacobian", "value_and_grad"]


@functools.partial(jax.jit, static_argnames=("net", "loss"))
def _mlp_value_and_grad(net, params, x, y, loss):
    return jax.value_and_grad(lambda p: _losses.value(net, loss, net.logits(p, x), y))(params)


@functools.partial(jax.jit, static_argnames=("net",))
def _mlp_jacobian(net, params, x):
    # jax.jacrev of one sample's outputs, vmapped over samples (a jacrev of all P·NK outputs
    # at once would pull every seed back through the whole batch: O(P²) work).
    one = jax.jacrev(lambda t, xp: net.apply(net.unravel(t), xp))
    jac = jax.vmap(one, in_axes=(None, 0))(net.ravel(params), x)  # (P, NK, NT)
    return jac.reshape(-1, jac.shape[-1])


def value_and_grad(net, params, x, y, loss="mse"):
    """Autodiff twin of :func:`nnpde.backprop.value_and_grad`: ``jax.value_and_grad`` of the
    loss as defined in :func:`nnpde.losses.value` (same signature, checks and output tree)."""
    params, x2, y2 = _losses.check_inputs(net, params, x, y, loss, "autodiff.value_and_grad")
    return _mlp_value_and_grad(net, params, x2, y2, loss)


def jacobian(net, params, x):
    """Autodiff twin of :func:`nnpde.backprop.jacobian`: ``jax.jacrev`` of each sample's
    outputs (NK,) with respect to θ = ``net.ravel(params)``, vmapped over samples; shape
    (P·NK, NT)."""
    _losses.check_net(net, "autodiff.jacobian")
    params = net.check_params(params, "autodiff.jacobian")
    x2, _ = net.check_x(x, params[0][0].dtype, "autodiff.jacobian")
    return _mlp_jacobian(net, params, x2)

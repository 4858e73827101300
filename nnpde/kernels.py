"""Hand-written derivative kernels of the two-hidden-layer network (seed 000, eqs. 1-6).

Every function takes ``(net, theta, x)`` with ``net`` a static :class:`~nnpde.TwoLayerNet`,
``theta`` the flat parameters (NT,) of seed 000 eq. 7 and ``x`` a batch of points (P, D); the
autodiff twins in :mod:`nnpde.autodiff` have the same names and signatures, so switching is one
import. NaN or Inf in ``theta`` or ``x`` propagates to the outputs; nothing is cleaned.

Notation (per point; seed symbols). With f^(n) the n-th derivative of the activation,

    A1 = v x + b (M1),   O1 = f(A1),   A2 = w O1 + c (M2),   O2 = f(A2),   N = a·O2     (1a-c)
    f1^(n) = f^(n)(A1),  f2^(n) = f^(n)(A2)
    g = a ⊙ f2',  k = a ⊙ f2'',  l = a ⊙ f2'''                                    (M2 each)
    s = wᵀ g  (M1): s_k = Σ_j a_j w_jk f'(A2_j), the sensitivity ∂N/∂O1_k
    B = w diag(f1') v  (M2, D): B_ji = ∂A2_j/∂x_i, the seed's shorthand B_ji (section 6)

so that ∇x N = vᵀ(f1' ⊙ s) (3d) and ∇²x N = Bᵀ diag(k) B + vᵀ diag(f1'' ⊙ s) v (4).

All θ-derivatives come from one object: the per-point second-order operator

    F_p = α_p N + β_p·∇x N + h_p : ∇²x N + λ_p ΔN

with weights α (P,), β (P, D), h (P, D, D), λ (P,) (any may be absent). Its θ-gradient is
written out by hand as reverse-mode through the forward pass above: each term is a sum of
outer products that the code evaluates with three stacked matrix products per block of points,

    X = [O1, e, f1' ⊙ v_:1, ..., f1' ⊙ v_:D]   (P, S, M1),   X wᵀ = [A2 - c, u, B_:1..B_:D]
    L = [Ā2, g, B̄_:1, ..., B̄_:D]               (P, S, M2),   L w  = [wᵀĀ2, s, wᵀB̄]
    ∂F/∂w = Σ_p Σ_s L_ps ⊗ X_ps                 (one (M2 x PS)(PS x M1) product)

with e = f1' ⊙ (vβ) + f1'' ⊙ σ, σ_m = v_mᵀ h v_m + λ|v_m|², u = w e, q_j = B_jᵀ h B_j + λ|B_j|²,
Ā2 = α g + k ⊙ u + l ⊙ q and B̄ = 2 k ⊙ (h + λI) B. ``operator_vjp`` sums the per-point
gradients weighted by the residuals (the VJP used in training); ``operator_rows`` returns them
per point (rows of the residual Jacobian). The seed's eqs. 2, 5 and 6 are the special cases
α = 1, β = e_i, and h = e_i e_lᵀ; ``laplacian_x_vjp`` is λ = r.

The sums over points (the VJPs), ``operator_jvp`` and ``operator_gram`` evaluate these formulas
with the points along the contiguous axis (:mod:`nnpde._cols`): every sum over points is a
matrix product and no ``reduce`` is left, so the kernels are as fast under XLA's default
options (inside a caller's own ``jax.jit``) as called directly; they are compiled with the
defaults (issue 17, docs/kernels.md "Layout"). For a tanh network in float64 on the CPU the
VJPs, ``operator_rows``, ``laplacian_x_theta``, the rows inside ``operator_gram``,
``grad_theta``, ``value``, ``grad_x``, ``laplacian_x`` and ``hessian_x`` run the native C++
kernels of :mod:`nnpde.native` instead (1.2-6x faster than these; this module's code remains
their fallback, their twin in the tests, and what derivatives of them differentiate).

Points are processed in blocks of ``chunk_size`` (``lax.scan`` for sums, ``lax.map`` for
rows), so the sums' intermediates stay in cache and their memory is independent of P. Every
kernel is blocked; what grows with P is the output: the sums over points (the VJPs and
``operator_gram``'s JᵀJ, Jᵀr) need O(chunk_size·(D + NT) + NT²) beyond their inputs, the
per-point kernels O(P × their per-point output), and ``operator_rows``, ``grad_theta`` and
``laplacian_x_theta`` return the (P, NT) Jacobian itself by design. For bounded memory at
large P use the matrix-free products ``operator_jvp`` (J t, forward mode: the tangent is
pushed through the same forward pass) and ``operator_vjp`` (Jᵀu), or ``operator_gram``.

Where this differs from seed 000 (each checked against ``jax.hessian``/``jacfwd`` in tests):
  * eq. 5e reuses the index m for two sums and leaves a_j outside its sum over j; correct is
    ∂²N/∂x_i∂b_k = f1''_k v_ki s_k + f1'_k Σ_j a_j w_jk f2''_j B_ji.
  * eq. 6b's term f''(A2_j) f'(A1_k) B_ji (v_ki + v_kl) should read
    f''(A2_j) f'(A1_k) (B_ji v_kl + B_jl v_ki); the two agree only when i = l.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

from nnpde import _cols, native
from nnpde._checks import check_chunk_size, check_inputs, check_weights
from nnpde._jit import kernel_jit
from nnpde.network import Params, TwoLayerNet

Array = jax.Array

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "GPU_CHUNK_SIZE",
    "ROWS_CHUNK_SIZE",
    "grad_theta",
    "grad_x",
    "grad_x_theta",
    "grad_x_vjp",
    "hessian_x",
    "hessian_x_theta",
    "hessian_x_vjp",
    "jet",
    "laplacian_x",
    "laplacian_x_jvp",
    "laplacian_x_theta",
    "laplacian_x_vjp",
    "operator_gram",
    "operator_jvp",
    "operator_rows",
    "operator_vjp",
    "partials_x",
    "partials_x_gram",
    "partials_x_jvp",
    "partials_x_rows",
    "partials_x_theta",
    "partials_x_vjp",
    "value",
    "value_jvp",
    "value_vjp",
]

#: Points per block when ``chunk_size=None``, on CPU. Measured by ``benchmarks/kernels.py`` on a
#: 2-core CPU (D = 2..10, M = 32, float64): blocks of 4096 keep a block's (P, S, M) intermediates
#: near L2 for the sums and pointwise kernels; kernels returning (P, NT) rows do best with
#: ``ROWS_CHUNK_SIZE``. On GPUs blocks serialise the work, so ``GPU_CHUNK_SIZE`` is used there.
DEFAULT_CHUNK_SIZE = 4096
ROWS_CHUNK_SIZE = 1024
GPU_CHUNK_SIZE = 1 << 16


def _sum_chunk(dim: int, beta, h, lap) -> int:
    """Default block for the sums over points: the points-last stacks hold 2 (a gradient
    term) or 2 + D arrays per point, 16384 / S points, a power of two in 256..16384 (4096 at
    D = 2 for the Laplacian); the value-only VJP (points first) takes 8192 (measured at D = 2
    and 10, P = 16384 and 65536: 8192 and 16384 tie at D = 2, 8192 is 8% faster at D = 10);
    ``GPU_CHUNK_SIZE`` off CPU."""
    if jax.default_backend() != "cpu":
        return GPU_CHUNK_SIZE
    s = 2 + dim if (h is not None or lap is not None) else 2 if beta is not None else 1
    per_point = 8192 if s == 1 else 16384 // s
    return max(256, 1 << (per_point.bit_length() - 1))


def _default_chunk(rows: bool, dim: int | None = None, cpu: int | None = None) -> int:
    """Default block size; for sums over points it shrinks with D (their stacks hold 2 + D
    arrays per point): 4096 points at D <= 2, 2048 at D = 3, 1024 at D = 10. ``cpu``: a
    kernel's own default on CPU instead."""
    if jax.default_backend() != "cpu":
        return GPU_CHUNK_SIZE
    if cpu is not None:
        return cpu
    if rows:
        return ROWS_CHUNK_SIZE
    if dim is None:
        return DEFAULT_CHUNK_SIZE
    per_point = 16384 // (2 + dim)
    return max(256, min(DEFAULT_CHUNK_SIZE, 1 << (per_point.bit_length() - 1)))


# XLA's default options: the kernels are as fast under them (what a caller's own jax.jit gets)
# as under nnpde.compiler_options(), which made operator_gram 2x slower (nnpde/_jit.py).
_jit = functools.partial(kernel_jit, tuned=False)


# ---- blocking over points ---------------------------------------------------------------------
def _split_blocks(chunk: int, args):
    """Pads the leading (points) axis of every leaf to a multiple of ``chunk`` and folds it."""

    def fold(leaf):
        n = leaf.shape[0]
        nb = -(-n // chunk)
        leaf = jnp.pad(leaf, [(0, nb * chunk - n)] + [(0, 0)] * (leaf.ndim - 1))
        return leaf.reshape((nb, chunk) + leaf.shape[1:])

    return jax.tree_util.tree_map(fold, args)


def _sum_blocks(fn: Callable, chunk: int | None, *args):
    """Σ over points of ``fn(*args)`` (fn sums over its block), in blocks of ``chunk`` points.

    Zero padding is harmless: padded points carry zero weights and finite x = 0.
    """
    n = args[0].shape[0]
    chunk = _default_chunk(False, args[0].shape[1]) if chunk is None else chunk
    if n <= chunk:
        return fn(*args)
    blocks = _split_blocks(chunk, args)
    # The sum starts from the first block rather than from zeros: under shard_map a zeros
    # carry would be device-invariant while the blocks' sums vary over the mesh axis, and
    # scan requires the carry's type to stay the same.
    init = fn(*jax.tree_util.tree_map(lambda leaf: leaf[0], blocks))
    rest = jax.tree_util.tree_map(lambda leaf: leaf[1:], blocks)

    def body(acc, blk):
        return jax.tree_util.tree_map(jnp.add, acc, fn(*blk)), None

    return lax.scan(body, init, rest)[0]


def _map_blocks(fn: Callable, chunk: int | None, *args, rows: bool = False, cpu: int | None = None):
    """Per-point ``fn(*args)`` (leading axis P in and out), in blocks of ``chunk`` points
    (default: ``_default_chunk(rows, cpu=cpu)``)."""
    n = args[0].shape[0]
    chunk = _default_chunk(rows, cpu=cpu) if chunk is None else chunk
    if n <= chunk:
        return fn(*args)
    out = lax.map(lambda blk: fn(*blk), _split_blocks(chunk, args))
    return jax.tree_util.tree_map(lambda o: o.reshape((-1,) + o.shape[2:])[:n], out)


# ---- forward pieces ---------------------------------------------------------------------------
_SMALL_DIM = 8  # up to this D, A1 = v x + b is summed element-wise (a K=D matmul is slow)


def _affine1(p: Params, x: Array) -> Array:
    """A1 = v x + b (1c) for every point: (P, M1)."""
    if x.shape[1] <= _SMALL_DIM:  # fuses with the activation; no skinny K=D product
        return sum(x[:, i, None] * p.v[None, :, i] for i in range(x.shape[1])) + p.b[None]
    return x @ p.v.T + p.b[None]


def _layer1(net: TwoLayerNet, p: Params, x: Array, order: int):
    """(O1, f1', ..., f1^(order)) at A1 = v x + b (1c); each (P, M1)."""
    return net.activation.up_to(_affine1(p, x), order)


def _with_b(net: TwoLayerNet, p: Params, x: Array, order: int):
    """Layer-1 jets, B = w diag(f1') v as (P, D, M2), layer-2 jets and s = wᵀ(a ⊙ f2')."""
    F1 = _layer1(net, p, x, order)
    U = F1[1][:, None, :] * p.v.T[None]  # (P, D, M1): f1' ⊙ v_:i
    Z = jnp.concatenate([F1[0][:, None], U], axis=1) @ p.w.T  # (P, 1 + D, M2)
    F2 = net.activation.up_to(Z[:, 0] + p.c[None], order)
    s = (p.a[None] * F2[1]) @ p.w  # (P, M1)
    return F1, Z[:, 1:], F2, s


def _value_block(net, p, x):
    f = net.activation.f
    return f(f(_affine1(p, x)) @ p.w.T + p.c[None]) @ p.a


def _grad_x_block(net, p, x):
    F1 = _layer1(net, p, x, 1)
    F2 = net.activation.up_to(F1[0] @ p.w.T + p.c[None], 1)
    return (F1[1] * ((p.a[None] * F2[1]) @ p.w)) @ p.v  # vᵀ(f1' ⊙ s)      (3d)


def _hessian_block(net, p, x):
    F1, B, F2, s = _with_b(net, p, x, 2)
    k = p.a[None] * F2[2]
    return jnp.einsum("pij,pj,plj->pil", B, k, B) + jnp.einsum(
        "mi,pm,ml->pil", p.v, F1[2] * s, p.v
    )  # (4)


def _laplacian_block(net, p, x):
    F1, B, F2, s = _with_b(net, p, x, 2)
    return jnp.einsum("pj,pij,pij->p", p.a[None] * F2[2], B, B) + (F1[2] * s) @ jnp.sum(
        p.v**2, axis=1
    )


# ---- the weighted operator and its θ-adjoint --------------------------------------------------
def _operator_block(net: TwoLayerNet, p: Params, x, alpha, beta, h, lap) -> Params:
    """θ-gradient of F_p = α N + β·∇N + h:∇²N + λΔN per point (the Jacobian rows).

    Shapes: x (P, D); alpha, lap (P,) or None; beta (P, D) or None; h (P, D, D) or None.
    Returns Params of (P, ...) per-point gradients. The sums over points (the VJPs) use the
    same formulas in a points-last layout: :mod:`nnpde._cols`.
    """
    v, w = p.v, p.w
    has_b = h is not None or lap is not None  # second-order term present
    has_e = has_b or beta is not None  # any x-derivative present
    order = 3 if has_b else 2 if has_e else 1
    F1 = _layer1(net, p, x, order)
    df1 = F1[1]
    zero1 = jnp.zeros_like(df1)

    # Forward stack X = [O1, e, f1' ⊙ v_:i]: every term of A2, u = w e and B shares wᵀ.
    stack = [F1[0][:, None]]
    if has_e:
        d1 = beta @ v.T if beta is not None else None  # (P, M1): v β
        hv = None
        if has_b:
            sigma = zero1
            if h is not None:
                h = 0.5 * (h + jnp.swapaxes(h, 1, 2))
                hv = jnp.einsum("pin,mn->pmi", h, v)  # (P, M1, D): h v_m
                sigma = sigma + jnp.einsum("pmi,mi->pm", hv, v)
            if lap is not None:
                sigma = sigma + lap[:, None] * jnp.sum(v * v, axis=1)[None]
        e = (df1 * d1 if beta is not None else zero1) + (F1[2] * sigma if has_b else zero1)
        stack.append(e[:, None])
    if has_b:
        stack.append(df1[:, None, :] * v.T[None])  # (P, D, M1)
    X = jnp.concatenate(stack, axis=1)  # (P, S, M1)
    Z = X @ w.T  # (P, S, M2)

    F2 = net.activation.up_to(Z[:, 0] + p.c[None], order)
    a = p.a[None]
    g = a * F2[1]
    grad_a = alpha[:, None] * F2[0] if alpha is not None else jnp.zeros_like(g)
    a2bar = alpha[:, None] * g if alpha is not None else jnp.zeros_like(g)
    adj = [None, None]  # L = [Ā2, g, B̄_:i]; Ā2 is filled in below
    if has_e:
        u = Z[:, 1]
        k = a * F2[2]
        grad_a = grad_a + F2[1] * u
        a2bar = a2bar + k * u
        adj[1] = g[:, None]
    if has_b:
        B = Z[:, 2:]  # (P, D, M2)
        hb = jnp.einsum("pin,pnj->pij", h, B) if h is not None else jnp.zeros_like(B)
        if lap is not None:
            hb = hb + lap[:, None, None] * B
        q = jnp.sum(B * hb, axis=1)  # (P, M2): B_jᵀ h B_j + λ|B_j|²
        grad_a = grad_a + F2[2] * q
        a2bar = a2bar + a * F2[3] * q
        adj.append(2 * k[:, None] * hb)  # B̄
    adj[0] = a2bar[:, None]
    L = jnp.concatenate([t for t in adj if t is not None], axis=1)  # (P, S, M2)
    Y = L @ w  # (P, S, M1): [wᵀĀ2, s, wᵀB̄]

    a1bar = df1 * Y[:, 0]
    v_outer = []  # pairs (left (P, M1), right (P, D)) of ∂F/∂v = Σ left ⊗ right + v_dense
    v_dense = None
    if has_e:
        s = Y[:, 1]
        if beta is not None:
            a1bar = a1bar + F1[2] * s * d1
            v_outer.append((s * df1, beta))
        if has_b:
            R = Y[:, 2:]  # (P, D, M1): wᵀB̄
            a1bar = a1bar + F1[2] * jnp.sum(R * v.T[None], axis=1) + F1[3] * s * sigma
            sbar = 2 * s * F1[2]  # 2 ∂F/∂σ
            hv_all = (hv if hv is not None else 0) + (
                lap[:, None, None] * v[None] if lap is not None else 0
            )
            v_dense = df1[:, :, None] * jnp.swapaxes(R, 1, 2) + sbar[:, :, None] * hv_all
    v_outer.append((a1bar, x))

    # Σ_s L_ps ⊗ X_ps as a sum of S broadcast products: it fuses into the packed rows. A
    # batched dot with K = S (1 for grad_theta) does not: it made grad_theta 0.7x autodiff on
    # CPU (issue 17) and 1.5x slower than autodiff on an H100 (kernels-gpu-float64.md).
    gw = sum(L[:, s, :, None] * X[:, s, None, :] for s in range(L.shape[1]))
    gv = sum(lt[:, :, None] * rt[:, None, :] for lt, rt in v_outer)
    if v_dense is not None:
        gv = gv + v_dense
    return Params(a=grad_a, w=gw, c=a2bar, v=gv, b=a1bar)


def _pack_rows(net: TwoLayerNet, rows: Params) -> Array:
    """Per-point gradients (P, ...) -> rows (P, NT) in θ's layout, written in one pass.

    Each block is zero-padded to NT columns and the five are added: XLA fuses the pads, the
    adds and the element-wise products that make the blocks (the Σ_s L ⊗ X of ∂/∂w) into one
    loop that writes the (P, NT) output once. ``net.pack``'s concatenate was not fused with
    its large operands on CPU, so ∂/∂w was written and then copied (grad_theta 0.7x autodiff).
    """
    nt, out = net.num_params, None
    for start, t in zip(net.offsets, rows):
        t = t.reshape(t.shape[0], math.prod(t.shape[1:]))  # explicit: P may be 0
        t = jnp.pad(t, [(0, 0), (start, nt - start - t.shape[1])])
        out = t if out is None else out + t
    return out


def _operator_order(beta, h, lap) -> int:
    return 3 if (h is not None or lap is not None) else 2 if beta is not None else 1


_OPERATOR_NAMES = ("value", "grad", "hessian", "laplacian")


def _check_operator(net, theta, x, alpha, beta, h, lap, chunk_size, kernel, names=_OPERATOR_NAMES):
    """Validates the operator's inputs; ``names`` are the weight arguments' names for errors."""
    order = _operator_order(beta, h, lap)
    theta, x = check_inputs(net, theta, x, kernel, order)
    check_chunk_size(chunk_size, kernel)
    n, d = x.shape
    alpha = check_weights(alpha, names[0], (n,), x.dtype, kernel)
    beta = check_weights(beta, names[1], (n, d), x.dtype, kernel)
    h = check_weights(h, names[2], (n, d, d), x.dtype, kernel)
    lap = check_weights(lap, names[3], (n,), x.dtype, kernel)
    return theta, x, alpha, beta, h, lap


def _value_vjp_block(net: TwoLayerNet, p: Params, x, alpha) -> Params:
    """Σ_p α_p ∂N_p/∂θ over a block of points (P, D), points first: seed 000 eq. (2)
    contracted over the points, the reverse pass of eq. (1) written out,

        Ā2 = α ⊙ a ⊙ f2'(A2),  Ā1 = (Ā2 w) ⊙ f1'(A1),
        ∂/∂a = O2ᵀα,  ∂/∂w = Ā2ᵀ O1,  ∂/∂c = Σ_p Ā2,  ∂/∂v = Ā1ᵀ x,  ∂/∂b = Σ_p Ā1.

    With no x-derivative in the operator the points-last stacks of :mod:`nnpde._cols` (S = 1)
    cost more than they save: this form measured 4.3-4.9 ms against 5.2-5.7 at P = 16384
    (``jax.grad``'s twin 4.4-4.9; 2-core CPU, D = 2, M = 32, float64).
    """
    F1 = net.activation.up_to(_affine1(p, x), 1)
    F2 = net.activation.up_to(F1[0] @ p.w.T + p.c[None], 1)
    a2bar = (alpha[:, None] * p.a[None]) * F2[1]
    a1bar = (a2bar @ p.w) * F1[1]
    return Params(a=alpha @ F2[0], w=a2bar.T @ F1[0], c=a2bar.sum(0), v=a1bar.T @ x,
                  b=a1bar.sum(0))  # fmt: skip


def _vjp(net, theta, x, alpha, beta, h, lap, chunk_size):
    if x.shape[0] == 0 or all(t is None for t in (alpha, beta, h, lap)):
        return jnp.zeros_like(theta)
    if native.serves(net, x):  # fused C++ kernel (nnpde.native)
        return _native_operator(native.operator_vjp, _vjp_jax, net, theta, x, alpha, beta, h,
                                lap, chunk_size)  # fmt: skip
    return _vjp_jax(net, theta, x, alpha, beta, h, lap, chunk_size)


def _native_operator(call, jax_kernel, net, theta, x, alpha, beta, h, lap, chunk_size):
    """``call`` (``native.operator_vjp`` or ``native.operator_rows``) on the operator's weights,
    with ``jax_kernel`` (``_vjp_jax`` or ``_rows_jax``) as its pure-JAX fallback and twin."""

    def pure(t, y, value=None, grad=None, hessian=None, laplacian=None):
        return jax_kernel(net, t, y, value, grad, hessian, laplacian, chunk_size)

    weights = {"value": alpha, "grad": beta, "hessian": h, "laplacian": lap}
    return call(net, theta, x, weights, pure)


def _vjp_jax(net, theta, x, alpha, beta, h, lap, chunk_size):
    p = net.unpack(theta)
    chunk = _sum_chunk(x.shape[1], beta, h, lap) if chunk_size is None else chunk_size
    if beta is None and h is None and lap is None:  # the value alone: points first
        block = functools.partial(_value_vjp_block, net, p)
        return net.pack(_sum_blocks(block, chunk, x, alpha))
    block = functools.partial(_cols.vjp_block, net, p)
    args = _cols.points_last(x, alpha, beta, h, lap)
    return net.pack(_cols.sum_blocks(block, chunk, *args))


def _rows(net, theta, x, alpha, beta, h, lap, chunk_size):
    if native.serves(net, x):  # fused C++ kernels (nnpde.native)
        if beta is None and h is None and lap is None:  # α alone: α ⊙ ∂N/∂θ
            return alpha[:, None] * grad_theta(net, theta, x, chunk_size=chunk_size)
        return _native_operator(native.operator_rows, _rows_jax, net, theta, x, alpha, beta, h,
                                lap, chunk_size)  # fmt: skip
    return _rows_jax(net, theta, x, alpha, beta, h, lap, chunk_size)


def _rows_jax(net, theta, x, alpha, beta, h, lap, chunk_size):
    p = net.unpack(theta)
    block = functools.partial(_operator_block, net, p)
    return _map_blocks(lambda *a: _pack_rows(net, block(*a)), chunk_size, x, alpha, beta, h, lap)


@_jit
def operator_vjp(
    net: TwoLayerNet,
    theta: Array,
    x: Array,
    *,
    value: Array | None = None,
    grad: Array | None = None,
    hessian: Array | None = None,
    laplacian: Array | None = None,
    chunk_size: int | None = None,
) -> Array:
    """Σ_p ∂F_p/∂θ for F_p = α_p N + β_p·∇xN + h_p:∇²xN + λ_p ΔN, never forming (P, NT).

    This is the θ-gradient of a collocation loss whose residual-weighted terms are α, β, h, λ
    (the chain rule's F_u r, F_g r, F_H r); the four named VJPs are its special cases.

    Args:
      net: the network spec (static).
      theta: parameters, shape (NT,).
      x: points, shape (P, D).
      value: α, shape (P,), or None.
      grad: β, shape (P, D), or None.
      hessian: h, shape (P, D, D), or None (only its symmetric part matters).
      laplacian: λ, shape (P,), or None.
      chunk_size: points per block (default on CPU 16384 / S rounded down to a power of two,
        S = 1, 2 or 2 + D the arrays stacked per point: 4096 for ΔN at D = 2; on GPU
        ``GPU_CHUNK_SIZE``).

    Returns:
      Shape (NT,), in θ's layout (seed 000 eq. 7).
    """
    args = _check_operator(
        net, theta, x, value, grad, hessian, laplacian, chunk_size, "operator_vjp"
    )
    return _vjp(net, *args, chunk_size)


@_jit
def operator_rows(
    net: TwoLayerNet,
    theta: Array,
    x: Array,
    *,
    value: Array | None = None,
    grad: Array | None = None,
    hessian: Array | None = None,
    laplacian: Array | None = None,
    chunk_size: int | None = None,
) -> Array:
    """Per-point ∂F_p/∂θ for F_p = α_p N + β_p·∇xN + h_p:∇²xN + λ_p ΔN: shape (P, NT).

    The rows of a residual Jacobian J_p = F_u ∂N/∂θ + F_g·∂∇N/∂θ + F_H:∂∇²N/∂θ, computed
    without the (P, D, D, NT) tensor. Arguments as in :func:`operator_vjp`.

    The output is the whole (P, NT) Jacobian by design (blocks of ``chunk_size`` points bound
    only the intermediates); where P·NT does not fit, use :func:`operator_gram` for JᵀJ and
    Jᵀr, or the matrix-free :func:`operator_jvp` / :func:`operator_vjp`. For a tanh network in
    float64 on the CPU the rows come from the native kernel (:mod:`nnpde.native`).
    """
    args = _check_operator(
        net, theta, x, value, grad, hessian, laplacian, chunk_size, "operator_rows"
    )
    if x.shape[0] == 0:
        return jnp.zeros((0, net.num_params), x.dtype)
    if all(t is None for t in args[2:]):
        return jnp.zeros((x.shape[0], net.num_params), x.dtype)
    return _rows(net, *args, chunk_size)


# ---- the seed's kernels -----------------------------------------------------------------------
def _pointwise(kernel: str, order: int, block, rows: bool = False, chunk: int | None = None):
    """A public kernel (net, theta, x) -> per-point output, block-mapped over points.

    ``rows``: the output is (P, ..., NT), blocked by ``ROWS_CHUNK_SIZE`` by default.
    ``chunk``: the kernel's own default block on CPU instead.
    """

    def fn(net, theta, x, *, chunk_size=None):
        theta, x = check_inputs(net, theta, x, kernel, order)
        check_chunk_size(chunk_size, kernel)
        blocks = functools.partial(block, net, net.unpack(theta))
        return _map_blocks(blocks, chunk_size, x, rows=rows, cpu=chunk)

    fn.__name__ = fn.__qualname__ = kernel
    return fn


def _served_natively(kernel: str, order: int, pure, native_call):
    """A public per-point kernel run by ``native_call(net, theta, x, fallback)`` where
    :mod:`nnpde.native` serves (tanh, float64; the CPU), else by ``pure`` (a ``_pointwise``)."""

    def fn(net, theta, x, *, chunk_size=None):
        theta, x = check_inputs(net, theta, x, kernel, order)
        check_chunk_size(chunk_size, kernel)

        def fallback(t, y):
            return pure(net, t, y, chunk_size=chunk_size)

        if x.shape[0] and native.serves(net, x):
            return native_call(net, theta, x, fallback)
        return fallback(theta, x)

    fn.__name__ = fn.__qualname__ = kernel
    return fn


def _doc(fn, text):
    fn.__doc__ = text
    return _jit(fn)


value = _doc(
    _served_natively("value", 0, _pointwise("value", 0, _value_block),
                     functools.partial(native.forward, order=0)),
    """N(x, θ) at each point: shape (P,). Implements seed 000, eq. (1a-c).

    Example:
      >>> import jax, nnpde
      >>> net = nnpde.TwoLayerNet(2, (8, 6), "tanh")
      >>> theta = net.init(jax.random.key(0))
      >>> nnpde.kernels.value(net, theta, jax.numpy.ones((5, 2), theta.dtype)).shape
      (5,)
    """,
)

grad_x = _doc(
    _served_natively("grad_x", 1, _pointwise("grad_x", 1, _grad_x_block),
                     functools.partial(native.forward, order=1)),
    """∇x N at each point: shape (P, D). Implements seed 000, eq. (3d) as vᵀ(f'(A1) ⊙ s).""",
)

hessian_x = _doc(
    _served_natively("hessian_x", 2, _pointwise("hessian_x", 2, _hessian_block),
                     functools.partial(native.forward, order=3)),
    """∇²x N at each point: shape (P, D, D). Implements seed 000, eq. (4):
    Σ_j a_j f''(A2_j) B_ji B_jl + Σ_k s_k f''(A1_k) v_ki v_kl.""",
)

laplacian_x = _doc(
    _served_natively("laplacian_x", 2, _pointwise("laplacian_x", 2, _laplacian_block),
                     functools.partial(native.forward, order=2)),
    """ΔN = trace of seed 000 eq. (4) at each point: shape (P,), cost O(P·M1·M2·D).""",
)


def _jet_block(net, p, x):
    F1, B, F2, s = _with_b(net, p, x, 2)
    k = p.a[None] * F2[2]
    value = F2[0] @ p.a
    grad = (F1[1] * s) @ p.v
    hess = jnp.einsum("pij,pj,plj->pil", B, k, B) + jnp.einsum("mi,pm,ml->pil", p.v, F1[2] * s, p.v)
    return value, grad, hess


jet = _doc(
    _pointwise("jet", 2, _jet_block),
    """(N, ∇xN, ∇²xN) at each point from one forward pass: shapes (P,), (P, D), (P, D, D).
    Seed 000 eqs. (1), (3d) and (4) sharing A1, A2, B and s.""",
)


def _grad_theta_block(net, p, x):
    return _operator_block(net, p, x, jnp.ones(x.shape[:1], x.dtype), None, None, None)


def _packed(block):
    return lambda net, p, x: _pack_rows(net, block(net, p, x))


#: grad_theta's default block on CPU. Its intermediates are (P, M) arrays beside the (P, NT)
#: output, so blocks bound nothing and cost a copy: at D = 2, M = 32 (2-core CPU, float64)
#: blocks of 1024 took 68-70 ms at P = 16384 and 290-300 at P = 65536, whole 55 and 236-252,
#: jax.grad's twin 53-55 and 238-246. Writing the (P, NT) output alone takes 37 ms of the 55.
GRAD_THETA_CHUNK = 1 << 16

_grad_theta_jax = _pointwise(
    "grad_theta", 1, _packed(_grad_theta_block), rows=True, chunk=GRAD_THETA_CHUNK
)


grad_theta = _doc(
    _served_natively("grad_theta", 1, _grad_theta_jax, native.grad_theta),
    """∇θ N at each point: shape (P, NT) in θ's layout. Implements seed 000, eqs. (2a-e).

    For a tanh network in float64 on the CPU the rows come from the native kernel
    (:mod:`nnpde.native`; ``chunk_size`` then only affects its pure-JAX fallback).""",
)


def _grad_x_theta_block(net, p, x):
    eye = jnp.broadcast_to(jnp.eye(net.dim, dtype=x.dtype)[:, None], (net.dim,) + x.shape)

    def row(beta):
        return net.pack(_operator_block(net, p, x, None, beta, None, None))

    return jax.vmap(row, out_axes=1)(eye)  # (P, D, NT)


grad_x_theta = _doc(
    _pointwise("grad_x_theta", 2, _grad_x_theta_block, rows=True),
    """∂(∂N/∂x_i)/∂θ at each point: shape (P, D, NT). Implements seed 000, eqs. (5a-e)
    (with 5e corrected: see the module docstring).""",
)


def _hessian_theta_block(net, p, x):
    """∂(∂²N/∂x_i∂x_l)/∂θ per point, (P, D, D, NT): seed 000 eqs. (6a-e), written out."""
    v, w = p.v, p.w
    F1, B, F2, s = _with_b(net, p, x, 3)
    O1, df1, d2f1, d3f1 = F1
    a = p.a[None]
    g, k, l3 = a * F2[1], a * F2[2], a * F2[3]  # (P, M2)
    vv = jnp.einsum("mi,ml->ilm", v, v)  # (D, D, M1): v_mi v_ml
    C = jnp.einsum("pm,ilm,jm->pilj", d2f1, vv, w)  # (P, D, D, M2): the seed's C_jil
    BB = B[:, :, None, :] * B[:, None, :, :]  # (P, D, D, M2): B_ji B_jl
    a2bar = k[:, None, None, :] * C + l3[:, None, None, :] * BB  # ∂/∂c_j            (6c)
    grad_a = F2[2][:, None, None, :] * BB + F2[1][:, None, None, :] * C  # ∂/∂a_j   (6a)
    kB = k[:, None, :] * B  # (P, D, M2)
    Q = kB @ w  # (P, D, M1): Q_i = wᵀ(k ⊙ B_:i)
    U = df1[:, None, :] * v.T[None]  # (P, D, M1): f1' ⊙ v_:i
    gw = (  # ∂/∂w_jk (6b), with its B_ji(v_ki + v_kl) corrected to B_ji v_kl + B_jl v_ki
        jnp.einsum("pilj,pk->piljk", a2bar, O1)
        + jnp.einsum("pj,pk,ilk->piljk", g, d2f1, vv)
        + jnp.einsum("pij,plk->piljk", kB, U)
        + jnp.einsum("plj,pik->piljk", kB, U)
    )
    Qv = jnp.einsum("pim,ml->pilm", Q, v)  # Q_i,m v_ml
    a1bar = (  # ∂/∂b_k                                                              (6e)
        df1[:, None, None, :] * (a2bar @ w)
        + d2f1[:, None, None, :] * (Qv + jnp.swapaxes(Qv, 1, 2))
        + (d3f1 * s)[:, None, None, :] * vv[None]
    )
    # (P, M1, D): f1' Q_i + s f1'' v_:i
    dv = df1[:, :, None] * jnp.swapaxes(Q, 1, 2) + (s * d2f1)[:, :, None] * v[None]
    eye = jnp.eye(net.dim, dtype=x.dtype)
    gv = (  # ∂/∂v_kn (6d): ā1 x_n + δ_nl (f1' Q_i + s f1'' v_i) + δ_ni (f1' Q_l + s f1'' v_l)
        a1bar[..., None] * x[:, None, None, None, :]
        + jnp.einsum("pmi,ln->pilmn", dv, eye)
        + jnp.einsum("pml,in->pilmn", dv, eye)
    )
    return net.pack(Params(a=grad_a, w=gw, c=a2bar, v=gv, b=a1bar))


hessian_x_theta = _doc(
    _pointwise("hessian_x_theta", 3, _hessian_theta_block, rows=True),
    """∂(∂²N/∂x_i∂x_l)/∂θ at each point: shape (P, D, D, NT). Implements seed 000, eqs.
    (6a-e), with 6b corrected (see the module docstring). Memory O(P·D²·NT): prefer
    :func:`operator_rows` or :func:`laplacian_x_theta` when a contraction is all you need.""",
)


def _laplacian_theta_block(net, p, x):
    ones = jnp.ones(x.shape[:1], x.dtype)
    return _pack_rows(net, _operator_block(net, p, x, None, None, None, ones))


def _native_laplacian_theta(net, theta, x, fallback):
    weights = {"value": None, "grad": None, "hessian": None,
               "laplacian": jnp.ones(x.shape[:1], x.dtype)}  # fmt: skip
    return native.operator_rows(net, theta, x, weights, lambda t, y, laplacian: fallback(t, y))


laplacian_x_theta = _doc(
    _served_natively("laplacian_x_theta", 3,
                     _pointwise("laplacian_x_theta", 3, _laplacian_theta_block, rows=True),
                     _native_laplacian_theta),
    """∂(ΔN)/∂θ at each point: shape (P, NT); the trace of seed 000 eq. (6) computed
    directly in O(P·M1·M2·D), never forming the (P, D, D, NT) tensor (:func:`operator_rows`
    with λ = 1; for a tanh network in float64 on the CPU by the native kernel).""",
)


# ---- vector-Jacobian products (what training uses) --------------------------------------------
def _named_vjp(kernel: str, slot: int):
    """A public VJP whose weights fill operator slot 0 (α), 1 (β), 2 (h) or 3 (λ)."""

    def fn(net, theta, x, weights, *, chunk_size=None):
        if weights is None:
            raise TypeError(f"{kernel}: the weights argument is required, got None")
        slots = [None] * 4
        slots[slot] = weights
        args = _check_operator(net, theta, x, *slots, chunk_size, kernel, ("weights",) * 4)
        return _vjp(net, *args, chunk_size)

    fn.__name__ = fn.__qualname__ = kernel
    return fn


value_vjp = _doc(
    _named_vjp("value_vjp", 0),
    """Σ_p r_p ∂N_p/∂θ: shape (NT,), r of shape (P,). Seed 000 eq. (2) contracted over points
    with matrix products; the (P, NT) Jacobian is never formed.

    Example:
      >>> import jax, jax.numpy as jnp, nnpde
      >>> net = nnpde.TwoLayerNet(1, (4, 3), "tanh")
      >>> theta = net.init(jax.random.key(1))
      >>> x = jnp.linspace(0, 1, 7, dtype=theta.dtype)[:, None]
      >>> nnpde.kernels.value_vjp(net, theta, x, jnp.ones(7, theta.dtype)).shape
      (26,)
    """,
)

grad_x_vjp = _doc(
    _named_vjp("grad_x_vjp", 1),
    """Σ_p Σ_i g_pi ∂(∂_i N_p)/∂θ: shape (NT,), g of shape (P, D). Seed 000 eq. (5) contracted.""",
)

hessian_x_vjp = _doc(
    _named_vjp("hessian_x_vjp", 2),
    """Σ_p Σ_il h_pil ∂(∂_i∂_l N_p)/∂θ: shape (NT,), h of shape (P, D, D). Seed 000 eq. (6)
    contracted; never forms (P, D, D, NT).""",
)

laplacian_x_vjp = _doc(
    _named_vjp("laplacian_x_vjp", 3),
    """Σ_p r_p ∂(ΔN_p)/∂θ: shape (NT,), r of shape (P,) — the θ-gradient of Σ_p r_p ΔN_p.
    Trace of seed 000 eq. (6) contracted over points: three stacked matrix products per
    block of points, cost O(P·M1·M2·D), memory independent of P.""",
)


# ---- Jacobian-vector products and the Gauss-Newton matrix ---------------------------------------
def _jvp(net, theta, x, tangent, alpha, beta, h, lap, chunk_size):
    if x.shape[0] == 0 or all(t is None for t in (alpha, beta, h, lap)):
        return jnp.zeros(x.shape[:1], x.dtype)
    block = functools.partial(_cols.jvp_block, net, net.unpack(theta), net.unpack(tangent))
    chunk = _sum_chunk(x.shape[1], beta, h, lap) if chunk_size is None else chunk_size
    return _cols.map_blocks(block, chunk, *_cols.points_last(x, alpha, beta, h, lap))


def _check_vector(net, vec, name: str, dtype, kernel: str):
    """A required vector in θ's layout: shape (NT,), θ's dtype."""
    if vec is None:
        raise TypeError(f"{kernel}: {name} is required (shape ({net.num_params},)), got None")
    return check_weights(vec, name, (net.num_params,), dtype, kernel)


@_jit
def operator_jvp(
    net: TwoLayerNet,
    theta: Array,
    x: Array,
    tangent: Array,
    *,
    value: Array | None = None,
    grad: Array | None = None,
    hessian: Array | None = None,
    laplacian: Array | None = None,
    chunk_size: int | None = None,
) -> Array:
    """(J t)_p = ∂F_p/∂θ · t for F_p = α_p N + β_p·∇xN + h_p:∇²xN + λ_p ΔN, never forming J.

    The forward-mode counterpart of :func:`operator_vjp`: the θ-directional derivative of the
    operator along ``tangent``, i.e. ``operator_rows(...) @ tangent``, computed by pushing
    t = (δa, δw, δc, δv, δb) through the layers alongside the x-jets of seed 000 eqs. (1), (3d)
    and (4). Cost O(P·M1·M2·D) like the forward pass (two stacked matrix products per block of
    ``chunk_size`` points), memory independent of P beyond the (P,) output. With
    :func:`operator_vjp` it gives the matrix-free products J t and Jᵀu of a Gauss-Newton or
    Levenberg-Marquardt step (e.g. for conjugate gradients on JᵀJ).

    Args:
      net: the network spec (static).
      theta: parameters, shape (NT,).
      x: points, shape (P, D).
      tangent: direction t in θ's layout, shape (NT,), same dtype as ``theta``.
      value: α, shape (P,), or None.
      grad: β, shape (P, D), or None.
      hessian: h, shape (P, D, D), or None (only its symmetric part matters).
      laplacian: λ, shape (P,), or None.
      chunk_size: points per block (default as for :func:`operator_vjp`).

    Returns:
      Shape (P,); zeros when every weight is None.

    Example:
      >>> import jax, jax.numpy as jnp, nnpde
      >>> net = nnpde.TwoLayerNet(2, (5, 4), "tanh")
      >>> theta = net.init(jax.random.key(0))
      >>> x = jnp.ones((3, 2), theta.dtype)
      >>> lap = jnp.ones(3, theta.dtype)
      >>> jt = nnpde.kernels.operator_jvp(net, theta, x, jnp.ones_like(theta), laplacian=lap)
      >>> rows = nnpde.kernels.operator_rows(net, theta, x, laplacian=lap)
      >>> bool(jnp.allclose(jt, rows @ jnp.ones_like(theta), rtol=1e-4, atol=1e-5))
      True
    """
    theta, x, *ws = _check_operator(
        net, theta, x, value, grad, hessian, laplacian, chunk_size, "operator_jvp"
    )
    tangent = _check_vector(net, tangent, "tangent", theta.dtype, "operator_jvp")
    return _jvp(net, theta, x, tangent, *ws, chunk_size)


def _named_jvp(kernel: str, slot: int):
    """A public JVP of the operator with unit weight in slot 0 (α = 1) or 3 (λ = 1)."""

    def fn(net, theta, x, tangent, *, chunk_size=None):
        theta, x = check_inputs(net, theta, x, kernel, 1 if slot == 0 else 3)
        check_chunk_size(chunk_size, kernel)
        tangent = _check_vector(net, tangent, "tangent", theta.dtype, kernel)
        slots = [None] * 4
        slots[slot] = jnp.ones(x.shape[:1], x.dtype)
        return _jvp(net, theta, x, tangent, *slots, chunk_size)

    fn.__name__ = fn.__qualname__ = kernel
    return fn


def _gram(net, theta, x, r, alpha, beta, h, lap, chunk_size):
    nt = net.num_params
    if x.shape[0] == 0 or all(t is None for t in (alpha, beta, h, lap)):
        return jnp.zeros((nt, nt), x.dtype), jnp.zeros((nt,), x.dtype)
    chunk = _default_chunk(True) if chunk_size is None else chunk_size
    blk = functools.partial(_cols.gram_block, net, theta)
    upper, Jtr = _cols.sum_blocks(blk, chunk, r, *_cols.points_last(x, alpha, beta, h, lap))
    JtJ = _cols.assemble_gram(upper, nt)
    return 0.5 * (JtJ + JtJ.T), Jtr  # symmetric to the last bit (Cholesky-ready)


@_jit
def operator_gram(
    net: TwoLayerNet,
    theta: Array,
    x: Array,
    r: Array,
    *,
    value: Array | None = None,
    grad: Array | None = None,
    hessian: Array | None = None,
    laplacian: Array | None = None,
    chunk_size: int | None = None,
) -> tuple[Array, Array]:
    """(JᵀJ, Jᵀr) of the rows J_p = ∂F_p/∂θ, accumulated over blocks of points.

    F_p = α_p N + β_p·∇xN + h_p:∇²xN + λ_p ΔN as in :func:`operator_rows`; J is the (P, NT)
    residual Jacobian and r the residuals. Each block of ``chunk_size`` points forms its rows
    as columns J_bᵀ (NT, chunk) (by the native kernel for a tanh network in float64 on the
    CPU) and adds J_bᵀJ_b and J_bᵀr_b to the sums (``lax.scan``), so peak memory is
    O(chunk·NT + NT²), independent of P: the Gauss-Newton / Levenberg-Marquardt normal
    equations for any number of collocation points. Cost O(P·NT²) for the products plus
    O(P·M1·M2·D) for the rows. Sum the results of several calls (e.g. interior and boundary
    points) for a full system.

    Args:
      net: the network spec (static).
      theta: parameters, shape (NT,).
      x: points, shape (P, D).
      r: residuals, shape (P,).
      value: α, shape (P,), or None.
      grad: β, shape (P, D), or None.
      hessian: h, shape (P, D, D), or None (only its symmetric part matters).
      laplacian: λ, shape (P,), or None.
      chunk_size: points per block (default ``ROWS_CHUNK_SIZE`` on CPU, ``GPU_CHUNK_SIZE`` on
        GPU).

    Returns:
      (JᵀJ of shape (NT, NT), exactly symmetric; Jᵀr of shape (NT,)), in θ's layout.

    Example:
      >>> import jax, jax.numpy as jnp, nnpde
      >>> net = nnpde.TwoLayerNet(2, (5, 4), "tanh")
      >>> theta = net.init(jax.random.key(0))
      >>> x = jax.random.normal(jax.random.key(1), (7, 2), theta.dtype)
      >>> ones = jnp.ones(7, theta.dtype)
      >>> JtJ, Jtr = nnpde.kernels.operator_gram(net, theta, x, ones, value=ones, chunk_size=3)
      >>> JtJ.shape, Jtr.shape
      ((43, 43), (43,))
    """
    theta, x, *ws = _check_operator(
        net, theta, x, value, grad, hessian, laplacian, chunk_size, "operator_gram"
    )
    if r is None:
        raise TypeError("operator_gram: r (the residuals, shape (P,)) is required, got None")
    r = check_weights(r, "r", x.shape[:1], x.dtype, "operator_gram")
    return _gram(net, theta, x, r, *ws, chunk_size)


value_jvp = _doc(
    _named_jvp("value_jvp", 0),
    """∇θN_p · t at each point: shape (P,), t of shape (NT,) — seed 000 eq. (2) applied to a
    direction without forming the (P, NT) Jacobian (:func:`operator_jvp` with α = 1).""",
)

laplacian_x_jvp = _doc(
    _named_jvp("laplacian_x_jvp", 3),
    """∇θ(ΔN_p) · t at each point: shape (P,), t of shape (NT,) — the trace of seed 000
    eq. (6) applied to a direction, cost O(P·M1·M2·D) (:func:`operator_jvp` with λ = 1).""",
)


# ---- partials up to fourth order (nnpde.taylor), re-exported so that switching to
# nnpde.autodiff stays one import ----------------------------------------------------------------
from nnpde.taylor import (  # noqa: E402
    partials_x,
    partials_x_gram,
    partials_x_jvp,
    partials_x_rows,
    partials_x_theta,
    partials_x_vjp,
)

"""The operator's θ-adjoint with the points along the contiguous (last) axis.

:mod:`nnpde.kernels` documents the maths (module docstring: X, L, Ā2, B̄, ...); this module
evaluates the same formulas with every per-point array stored *transposed*, as (features, P):
A1, O1, f1' ... are (M1, P), the stacks are X (M1, S, P) and L (M2, S, P). Why: on CPU, with
XLA's default options (what a caller's own ``jax.jit`` gets), the three matrix products then
all have the points in a contiguous axis,

    Z = w X  (M2 x M1)(M1 x SP),   Y = wᵀ L  (M1 x M2)(M2 x SP),   ∂F/∂w = L Xᵀ (contract SP),

and the sums over points of the small per-point gradients reduce along the contiguous axis.
Sums over i < D are written out (D small). XLA:CPU (jax >= 0.8) hands reductions to YNNPACK
fusions; over the points of a (P, M) array (a non-contiguous axis) each cost a pass over
memory and split the element-wise work into many small fusions, so nnpde compiled its kernels
with YNNPACK restricted to matrix products, an option a caller's own ``jax.jit`` does not carry
(issue 17: 1.8x slower inside one). In the points-last layout the kernels are as fast under
the default options, so their speed no longer depends on how they are called (measured in
benchmarks/results/kernels-cpu-headline.md).

Shapes: x (P, D) as everywhere in nnpde; inside, xt = xᵀ (D, P). Weights α (P,), β (P, D),
h (P, D, D) (symmetrised here), λ (P,), any may be None.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from nnpde import native
from nnpde.network import Params, TwoLayerNet

Array = jax.Array

_SMALL = 8  # up to this many terms, a contraction over D is summed element-wise (no K=D dot)


def _mix(mat: Array, cols: Array) -> Array:
    """mat (M, K) times cols (K, P) -> (M, P); element-wise for small K."""
    if mat.shape[1] <= _SMALL:
        return sum(mat[:, i, None] * cols[i][None] for i in range(mat.shape[1]))
    return mat @ cols


class Adjoint(NamedTuple):
    """Per-point factors of ∂F/∂θ in points-last layout (notation of :mod:`nnpde.kernels`)."""

    X: Array  # (M1, S, P)   forward stack [O1, e, f1' ⊙ v_:i]
    L: Array  # (M2, S, P)   adjoint stack [Ā2, g, B̄_:i]
    grad_a: Array  # (M2, P)  ∂F/∂a
    a2bar: Array  # (M2, P)   ∂F/∂c = Ā2
    a1bar: Array  # (M1, P)   ∂F/∂b = Ā1
    df1: Array  # (M1, P)     f1'
    s: Array | None  # (M1, P)  wᵀ g, when an x-derivative is present
    R: Array | None  # (M1, D, P)  wᵀ B̄_:i, when a second-order term is present
    sbar: Array | None  # (M1, P)  2 s f1'', when a second-order term is present


def _sigma(v: Array, ht: Array | None, lap: Array | None, like: Array) -> Array:
    """σ_m = v_mᵀ h v_m + λ |v_m|² per point: (M1, P)."""
    sigma = jnp.zeros_like(like)
    if ht is not None:
        d = v.shape[1]
        vv = (v[:, :, None] * v[:, None, :]).reshape(v.shape[0], d * d)
        sigma = sigma + _mix(vv, ht.reshape(d * d, -1))
    if lap is not None:
        sigma = sigma + jnp.sum(v * v, axis=1)[:, None] * lap[None]
    return sigma


def _forward(net: TwoLayerNet, p: Params, xt, betat, ht, lap, order: int):
    """Layer-1 jets, the forward stack X (M1, S, P) and Z = w X (M2, S, P)."""
    v = p.v
    F1 = net.activation.up_to(_mix(v, xt) + p.b[:, None], order)
    df1 = F1[1]
    stack = [F1[0]]
    d1 = _mix(v, betat) if betat is not None else None  # v β
    sigma = None
    if order >= 2:
        e = df1 * d1 if d1 is not None else jnp.zeros_like(df1)
        if order == 3:
            sigma = _sigma(v, ht, lap, df1)
            e = e + F1[2] * sigma
        stack.append(e)
    if order == 3:
        stack += [df1 * v[:, i, None] for i in range(v.shape[1])]
    X = jnp.stack(stack, axis=1)  # (M1, S, P)
    m1, s, n = X.shape
    Z = (p.w @ X.reshape(m1, s * n)).reshape(-1, s, n)
    return F1, X, Z, d1, sigma


def adjoint(net: TwoLayerNet, p: Params, xt, alpha, betat, ht, lap) -> Adjoint:
    """The per-point factors of ∂F_p/∂θ (reverse mode through the forward pass).

    Points last: xt (D, P), alpha and lap (P,), betat (D, P), ht (D, D, P) symmetric.
    """
    has_b = ht is not None or lap is not None
    order = 3 if has_b else 2 if betat is not None else 1
    F1, X, Z, d1, sigma = _forward(net, p, xt, betat, ht, lap, order)
    F2 = net.activation.up_to(Z[:, 0] + p.c[:, None], order)
    a = p.a[:, None]
    g = a * F2[1]
    grad_a = alpha[None] * F2[0] if alpha is not None else jnp.zeros_like(g)
    a2bar = alpha[None] * g if alpha is not None else jnp.zeros_like(g)
    adj = [None]
    if order >= 2:
        u = Z[:, 1]
        grad_a = grad_a + F2[1] * u
        a2bar = a2bar + a * F2[2] * u
        adj.append(g)
    if has_b:
        d = xt.shape[0]
        B = [Z[:, 2 + i] for i in range(d)]  # (M2, P) each: B_:i
        hb = []
        for i in range(d):
            t = lap[None] * B[i] if lap is not None else jnp.zeros_like(B[i])
            if ht is not None:
                t = t + sum(ht[i, n][None] * B[n] for n in range(d))
            hb.append(t)  # (H B)_:i with H = h + λI
        q = sum(B[i] * hb[i] for i in range(d))
        grad_a = grad_a + F2[2] * q
        a2bar = a2bar + a * F2[3] * q
        adj += [2 * a * F2[2] * t for t in hb]  # B̄_:i
    adj[0] = a2bar
    L = jnp.stack(adj, axis=1)  # (M2, S, P)
    m2, s, n = L.shape
    # wᵀ as its own array: folded into the product as "contract w's first axis", XLA:CPU
    # runs it outside YNNPACK (slower); the barrier keeps it a plain (M1 x M2)(M2 x SP) product.
    wt = jax.lax.optimization_barrier(p.w.T)
    Y = (wt @ L.reshape(m2, s * n)).reshape(-1, s, n)  # [wᵀĀ2, s, wᵀB̄]
    return _layer1_adjoint(F1, X, L, Y, grad_a, a2bar, p.v, d1, sigma, has_b)


def _layer1_adjoint(F1, X, L, Y, grad_a, a2bar, v, d1, sigma, has_b) -> Adjoint:
    df1 = F1[1]
    a1bar = df1 * Y[:, 0]
    s = R = sbar = None
    if Y.shape[1] > 1:
        s = Y[:, 1]
        if d1 is not None:
            a1bar = a1bar + F1[2] * s * d1
    if has_b:
        R = Y[:, 2:]  # (M1, D, P)
        rv = sum(R[:, i] * v[:, i, None] for i in range(v.shape[1]))
        a1bar = a1bar + F1[2] * rv + F1[3] * s * sigma
        sbar = 2 * s * F1[2]
    return Adjoint(X, L, grad_a, a2bar, a1bar, df1, s, R, sbar)


def _flat(t: Array) -> Array:
    return t.reshape(t.shape[0], -1)


def vjp_block(net: TwoLayerNet, p: Params, xt, alpha, betat, ht, lap) -> Params:
    """Σ over the block's points of ∂F_p/∂θ, as Params (sums along the contiguous axis).

    Points last, as in :func:`adjoint`.
    """
    A = adjoint(net, p, xt, alpha, betat, ht, lap)
    m1, d = net.m1, net.dim
    gw = _flat(A.L) @ _flat(A.X).T  # Σ_p Σ_s L_ps ⊗ X_ps: (M2, M1)
    # Sums over the points, the contiguous axis: reductions along it (fused with the
    # element-wise work that makes their operands) measured 15% less CPU time than one
    # (K, P)(P, 1 + D) product of the stacked factors. What costs is reducing over a
    # non-contiguous axis, which this layout never does.
    ga, gc, gb = A.grad_a.sum(1), A.a2bar.sum(1), A.a1bar.sum(1)
    gv = A.a1bar @ xt.T  # Σ_p Ā1 ⊗ x_p
    if A.R is not None:  # Σ_p f1' ⊙ wᵀB̄_:i
        gv = gv + jnp.stack([(A.df1 * A.R[:, i]).sum(1) for i in range(d)], axis=1)
    if betat is not None:
        gv = gv + (A.s * A.df1) @ betat.T
    if A.sbar is not None:
        right = []
        if ht is not None:
            right.append(ht.reshape(d * d, -1))
        if lap is not None:
            right.append(lap[None])
        Gh = A.sbar @ jnp.concatenate(right, axis=0).T  # (M1, D² [+ 1])
        if ht is not None:  # Σ_p sbar_m (h_p v_m)_i
            gv = gv + jnp.einsum("min,mn->mi", Gh[:, : d * d].reshape(m1, d, d), p.v)
        if lap is not None:
            gv = gv + Gh[:, -1:] * p.v
    return Params(a=ga, w=gw, c=gc, v=gv, b=gb)


def rows_block(net: TwoLayerNet, p: Params, xt, alpha, betat, ht, lap) -> Array:
    """Jᵀ for the block: ∂F_p/∂θ as columns, (NT, P) in θ's order (seed 000 eq. 7)."""
    A = adjoint(net, p, xt, alpha, betat, ht, lap)
    d = net.dim
    S = A.L.shape[1]
    gw = sum(A.L[:, None, s] * A.X[None, :, s] for s in range(S))  # (M2, M1, P)
    gv = A.a1bar[:, None] * xt[None]  # (M1, D, P)
    if betat is not None:
        gv = gv + (A.s * A.df1)[:, None] * betat[None]
    if A.R is not None:
        dense = []
        for i in range(d):
            t = A.df1 * A.R[:, i]
            if ht is not None:
                t = t + A.sbar * _mix(p.v, ht[i])  # sbar ⊙ (h v_m)_i
            if lap is not None:
                t = t + A.sbar * lap[None] * p.v[:, i, None]
            dense.append(t)
        gv = gv + jnp.stack(dense, axis=1)
    parts = [A.grad_a, gw, A.a2bar, gv, A.a1bar]
    return jnp.concatenate([t.reshape(-1, t.shape[-1]) for t in parts], axis=0)


def _tangent_stack(net, p, dp, xt, betat, ht, lap, F1, d1, sigma, order):
    """δX (M1, S, P): the tangent t = (δa, δw, δc, δv, δb) pushed through the forward stack."""
    v, dv = p.v, dp.v
    df1 = F1[1]
    dA1 = _mix(dv, xt) + dp.b[:, None]  # δv x + δb
    stack = [df1 * dA1]
    if order >= 2:
        de = jnp.zeros_like(df1)
        if d1 is not None:
            de = de + F1[2] * dA1 * d1 + df1 * _mix(dv, betat)  # δ(f1' vβ)
        if order == 3:
            dsigma = jnp.zeros_like(df1)  # δσ_m = 2 δv_mᵀ H v_m
            if ht is not None:
                d = v.shape[1]
                vdv = (dv[:, :, None] * v[:, None, :]).reshape(v.shape[0], d * d)
                dsigma = dsigma + 2 * _mix(vdv, ht.reshape(d * d, -1))
            if lap is not None:
                dsigma = dsigma + 2 * jnp.sum(v * dv, axis=1)[:, None] * lap[None]
            de = de + F1[3] * dA1 * sigma + F1[2] * dsigma
        stack.append(de)
    if order == 3:
        d2 = F1[2] * dA1
        stack += [d2 * v[:, i, None] + df1 * dv[:, i, None] for i in range(v.shape[1])]
    return jnp.stack(stack, axis=1)


def jvp_block(net: TwoLayerNet, p: Params, dp: Params, xt, alpha, betat, ht, lap) -> Array:
    """(J t)_p = ∂F_p/∂θ · t for a block of points: the tangent pushed through the x-jets.

    With δ the θ-directional derivative along t = (δa, δw, δc, δv, δb) and H = h_sym + λI,

        δA1 = δv x + δb,   δO1 = f1' δA1,   δ(vβ) = δv β,   δσ_m = 2 δv_mᵀ H v_m,
        δe = f1'' δA1 (vβ) + f1' δ(vβ) + f1''' δA1 σ + f1'' δσ,
        δX = [δO1, δe, f1'' δA1 v_:i + f1' δv_:i],   δZ = δw X + w δX = [δA2 - δc, δu, δB],
        δF = α (δa·O2 + g·δA2) + (δa ⊙ f2' + k ⊙ δA2)·u + g·δu
             + (δa ⊙ f2'' + l ⊙ δA2)·q + 2 k·(Σ_i δB_:i ⊙ (H B)_:i)

    (F = α a·O2 + g·u + k·q, notation of :mod:`nnpde.kernels`). Points last as in
    :func:`adjoint`; δZ is one (M2 x 2 M1)(2 M1 x SP) product [δw, w][X; δX]. Returns (P,).
    """
    has_b = ht is not None or lap is not None
    order = 3 if has_b else 2 if betat is not None else 1
    F1, X, Z, d1, sigma = _forward(net, p, xt, betat, ht, lap, order)
    dX = _tangent_stack(net, p, dp, xt, betat, ht, lap, F1, d1, sigma, order)
    m1, s, n = X.shape
    both = jnp.concatenate([X, dX], axis=0).reshape(2 * m1, s * n)
    dZ = (jnp.concatenate([dp.w, p.w], axis=1) @ both).reshape(-1, s, n)  # δw X + w δX
    F2 = net.activation.up_to(Z[:, 0] + p.c[:, None], order)
    dA2 = dZ[:, 0] + dp.c[:, None]
    a, da = p.a[:, None], dp.a[:, None]
    g = a * F2[1]
    terms = jnp.zeros_like(g)  # (M2, P), summed over j at the end
    if alpha is not None:
        terms = terms + alpha[None] * (da * F2[0] + g * dA2)
    if order >= 2:
        terms = terms + (da * F2[1] + a * F2[2] * dA2) * Z[:, 1] + g * dZ[:, 1]
    if has_b:
        d = xt.shape[0]
        q = dq = jnp.zeros_like(g)
        for i in range(d):
            B = Z[:, 2 + i]
            hb = lap[None] * B if lap is not None else jnp.zeros_like(B)
            if ht is not None:
                hb = hb + sum(ht[i, k][None] * Z[:, 2 + k] for k in range(d))
            q = q + B * hb
            dq = dq + 2 * dZ[:, 2 + i] * hb
        terms = terms + (da * F2[2] + a * F2[3] * dA2) * q + a * F2[2] * dq
    # Σ_j as a (1 x M2)(M2 x P) product: no reduce (see the module docstring)
    return (jnp.ones((1, terms.shape[0]), terms.dtype) @ terms)[0]


# ---- inputs and blocks -------------------------------------------------------------------------
def points_last(x, alpha, beta, h, lap):
    """The operator's inputs with the points axis last: x (D, P), β (D, P), h_sym (D, D, P)."""
    xt = x.T
    betat = beta.T if beta is not None else None
    ht = None
    if h is not None:
        ht = jnp.transpose(h, (1, 2, 0))
        ht = 0.5 * (ht + jnp.swapaxes(ht, 0, 1))
    return xt, alpha, betat, ht, lap


def split_last(chunk: int, args):
    """Zero-pads the last (points) axis of every array to a multiple of ``chunk`` and folds it
    to the front: (..., P) -> (nb, ..., chunk). The barrier keeps the folded copy in memory, so
    each block reads contiguous rows rather than a strided view of the whole input."""

    def fold(t):
        n = t.shape[-1]
        nb = -(-n // chunk)
        t = jnp.pad(t, [(0, 0)] * (t.ndim - 1) + [(0, nb * chunk - n)])
        return jnp.moveaxis(t.reshape(t.shape[:-1] + (nb, chunk)), -2, 0)

    return jax.lax.optimization_barrier(jax.tree_util.tree_map(fold, args))


def sum_blocks(fn, chunk: int, *args):
    """Σ over blocks of ``fn(*block)`` for points-last ``args`` (None allowed); zero padding is
    harmless (padded points have zero weights and x = 0)."""
    n = args[0].shape[-1]
    if n <= chunk:
        return fn(*args)
    blocks = split_last(chunk, args)
    # Start from the first block, not zeros: under shard_map a zeros carry would be
    # device-invariant while the blocks' sums vary over the mesh axis.
    init = fn(*jax.tree_util.tree_map(lambda t: t[0], blocks))
    rest = jax.tree_util.tree_map(lambda t: t[1:], blocks)

    def body(acc, blk):
        return jax.tree_util.tree_map(jnp.add, acc, fn(*blk)), None

    return jax.lax.scan(body, init, rest)[0]


def map_blocks(fn, chunk: int, *args):
    """``fn(*block)`` -> (chunk,) per block of points-last ``args``, concatenated: (P,)."""
    n = args[0].shape[-1]
    if n <= chunk:
        return fn(*args)
    return jax.lax.map(lambda blk: fn(*blk), split_last(chunk, args)).reshape(-1)[:n]


#: Rows of Jᵀ per group of the symmetric product (:func:`gram_splits`), and the most groups.
GRAM_GROUP_ROWS, GRAM_MAX_GROUPS = 170, 6


def gram_splits(nt: int) -> tuple[int, ...]:
    """Row ranges of Jᵀ for the symmetric product: k = round(NT / 170) groups (1 <= k <= 6).

    More groups do less work (k(k + 1)/2 of k² products) in smaller products. Measured with
    LM's JᵀJ of the robustness problems (2-core CPU, float64, one BLAS thread; was k =
    NT // 256, at most 4): NT = 520-696 (2×20, 2×24 nets, 2048 rows) k = 3-4 took 10-15 %
    less than k = 2 (Helmholtz 18.4 → 15.0 ms, wave 18.3 → 16.0); NT = 1008 (Kovasznay, 3072
    rows) k = 6 39.8 ms against k = 3 43.7; k = 2 was never the fastest above NT = 500.
    """
    k = max(1, min(GRAM_MAX_GROUPS, (nt + GRAM_GROUP_ROWS // 2) // GRAM_GROUP_ROWS))
    return tuple(nt * i // k for i in range(k + 1))


def jacobian_t(net: TwoLayerNet, theta: Array, xt, alpha, betat, ht, lap) -> Array:
    """Jᵀ (NT, P) for the block, as :func:`rows_block`; by the native kernel where it serves
    (:mod:`nnpde.native`: tanh, float64, the CPU), which writes the same columns."""
    x = xt.T
    if not native.serves(net, x):
        return rows_block(net, net.unpack(theta), xt, alpha, betat, ht, lap)

    def pure(t, y, value=None, grad=None, hessian=None, laplacian=None):
        return rows_block(net, net.unpack(t), *points_last(y, value, grad, hessian, laplacian))

    h = None if ht is None else jnp.transpose(ht, (2, 0, 1))
    beta = None if betat is None else betat.T
    weights = {"value": alpha, "grad": beta, "hessian": h, "laplacian": lap}
    return native.operator_rows(net, theta, x, weights, pure, columns=True)


def gram_block(net: TwoLayerNet, theta: Array, r, xt, alpha, betat, ht, lap):
    """The block's (upper blocks of JᵀJ, Jᵀr) from Jᵀ (NT, P) (:func:`jacobian_t`).

    JᵀJ is symmetric: with Jᵀ split into k row groups J_a, only the blocks J_a J_bᵀ with a <= b
    are formed (k(k + 1)/2 of k² products: 62.5% of the work for k = 4); each contracts the
    points, the contiguous axis of both operands. :func:`assemble_gram` puts them together.
    """
    return symmetric_products(jacobian_t(net, theta, xt, alpha, betat, ht, lap), r)


def symmetric_products(Jt, r: Array):
    """(upper blocks of JᵀJ, Jᵀr) for a block's Jᵀ (N, P) and residuals r (P,):
    Jᵀ split into k row groups J_a (:func:`gram_splits`), only J_a J_bᵀ with a <= b formed.

    ``Jt`` may be a list of row blocks of Jᵀ (one per component, in order): the groups are
    then sliced from them, and only a group that spans two blocks is copied (Kovasznay's
    three (336, P) blocks in six groups: none; concatenating them into one (1008, P) Jᵀ
    first cost ≈ 3 ms of its ≈ 95 ms LM step on the 2-core EPYC, profiled)."""
    pieces = [Jt] if hasattr(Jt, "shape") else [p for p in Jt if p.shape[0]]
    starts = [0]
    for p in pieces:
        starts.append(starts[-1] + p.shape[0])
    cut = gram_splits(starts[-1])

    def rows(lo, hi):
        got = [p[max(lo, a) - a : min(hi, b) - a]
               for p, a, b in zip(pieces, starts, starts[1:]) if lo < b and hi > a]  # fmt: skip
        return got[0] if len(got) == 1 else jnp.concatenate(got, axis=0)

    parts = [rows(cut[i], cut[i + 1]) for i in range(len(cut) - 1)]
    upper = tuple(parts[a] @ parts[b].T for a in range(len(parts)) for b in range(a, len(parts)))
    JTr = jnp.concatenate([p @ r for p in pieces]) if len(pieces) > 1 else pieces[0] @ r
    return upper, JTr


def assemble_gram(upper, nt: int) -> Array:
    """(NT, NT) JᵀJ from :func:`gram_block`'s upper blocks (row-major over a <= b)."""
    k = len(gram_splits(nt)) - 1
    blocks, it = {}, iter(upper)
    for a in range(k):
        for b in range(a, k):
            blocks[a, b] = next(it)
            blocks[b, a] = blocks[a, b].T
    return jnp.block([[blocks[a, b] for b in range(k)] for a in range(k)])

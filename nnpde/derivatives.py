"""How a collocation model computes ψ and the θ-derivatives of its residuals: two strategies.

:class:`nnpde.collocation.Collocation` states *what* the residuals are; a strategy object,
small, frozen and hashable (a static jit argument), says *how* they and their Jacobian are
computed. Both give the same numbers to round-off (``tests/test_collocation.py`` compares
them at 1e-10 in float64):

- :class:`Kernels` (``TwoLayerNet`` only): the jets of N at all points from
  :func:`nnpde.kernels.jet`, and every θ-derivative from the hand-written operator kernels
  with the pointwise weights (α, β, h, λ) of the chain rule (see :mod:`nnpde.collocation`):
  rows of J (:func:`~nnpde.kernels.operator_rows`), J v and Jᵀu
  (:func:`~nnpde.kernels.operator_jvp`, :func:`~nnpde.kernels.operator_vjp`, also the
  ``custom_vjp`` of the residuals), JᵀJ and Jᵀr in bounded memory
  (:func:`~nnpde.kernels.operator_gram`). Never the (P, D, D, NT) tensor.
- :class:`Autodiff` (any network, e.g. an ``MLP``): ψ_k at one point by
  :func:`nnpde._nets.apply_single` and the trial solution, its jet by ``jax.grad`` /
  ``jax.hessian``, and J by ``jax.jacrev`` of each point's residuals (each residual depends
  on its own point only), J v / Jᵀu by ``jax.linearize`` and its transpose. Independent of
  the chain-rule weights, so it checks them.

The residual vector and the unknowns Θ = (θ_1, ..., θ_K, φ) are laid out as in
:mod:`nnpde.collocation`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from nnpde import _cols, _nets, kernels
from nnpde.problem import Jet, jet_of

__all__ = ["Autodiff", "Kernels", "for_backend"]

Array = jax.Array


def for_backend(backend, net):
    """The strategy named ``backend`` ("kernels" or "autodiff", or a strategy object) for
    ``net``; the kernels exist for ``TwoLayerNet`` only."""
    if isinstance(backend, (Kernels, Autodiff)):
        strategy = backend
    elif backend == "kernels":
        strategy = Kernels()
    elif backend == "autodiff":
        strategy = Autodiff()
    else:
        raise ValueError(f"backend must be one of ('kernels', 'autodiff'), got {backend!r}")
    if isinstance(strategy, Kernels) and not _nets.is_two_layer(net):
        raise ValueError("the hand-written kernels exist for TwoLayerNet only; use "
                         "backend='autodiff' (the default) for an MLP")  # fmt: skip
    return strategy


# ---- formulas shared by both strategies (batched or at one point) ---------------------------
def penalty_value(u: Jet, n, g, c0, c1, w):
    """w (c0 ψ + c1 n·∇ψ - g) from ψ's jet (at one point, or batched over points)."""
    return w * (c0 * u.value + c1 * jnp.sum(n * u.grad, axis=-1) - g)


def pair_value(u: Jet, u2: Jet, n, c0, c1, w):
    """w (c0 (ψ - ψ') + c1 n·(∇ψ - ∇ψ')) from the jets at x and at its partner x'."""
    return w * (c0 * (u.value - u2.value) + c1 * jnp.sum(n * (u.grad - u2.grad), axis=-1))


# ---- autodiff ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Autodiff:
    """ψ and the Jacobian by JAX autodiff at single points (any network)."""

    name: ClassVar[str] = "autodiff"

    @staticmethod
    def _point_functions(model):
        """Per-point residual functions of the full Θ: interior (E,), penalty (), pair ()."""

        def jets(theta, x):
            thetas, phi = model.split(theta)
            return tuple(jet_of(functools.partial(model.psi_point, t, k), x)
                         for k, t in enumerate(thetas)), phi  # fmt: skip

        def interior(theta, x):
            u, phi = jets(theta, x)
            return model.equation_at(x, u, phi)

        def one_jet(theta, k, x):
            return jet_of(functools.partial(model.psi_point, model.split(theta)[0][k], k), x)

        def penalty(theta, k, x, n, g, c0, c1, w):
            return penalty_value(one_jet(theta, k, x), n, g, c0, c1, w)

        def pair(theta, k, x, x2, n, c0, c1, w):
            return pair_value(one_jet(theta, k, x), one_jet(theta, k, x2), n, c0, c1, w)

        return interior, penalty, pair

    def _apply(self, model, theta, data, transform):
        """The residual blocks in order, each ``transform(point function)`` mapped over its
        points (the identity for the residuals, ``jax.jacrev`` for the rows of J)."""
        interior, penalty, pair = self._point_functions(model)
        out = jax.vmap(transform(interior), in_axes=(None, 0))(theta, data.x)  # (P, E, ...)
        parts = [jnp.moveaxis(out, 1, 0).reshape((-1,) + out.shape[2:])]
        for k in range(model.k):
            pen, prs = data.pen[k], data.pairs[k]
            f = transform(lambda t, *a, k=k: penalty(t, k, *a))
            parts.append(jax.vmap(f, in_axes=(None,) + (0,) * 6)(
                theta, pen.x, pen.n, pen.g, pen.c0, pen.c1, pen.w))  # fmt: skip
            if prs.x.shape[0]:
                f = transform(lambda t, *a, k=k: pair(t, k, *a))
                parts.append(jax.vmap(f, in_axes=(None,) + (0,) * 6)(
                    theta, prs.x, prs.x2, prs.n, prs.c0, prs.c1, prs.w))  # fmt: skip
        return jnp.concatenate(parts)

    def residuals(self, model, theta, data) -> Array:
        return self._apply(model, theta, data, lambda f: f)

    def residuals_and_jacobian(self, model, theta, data):
        return self.residuals(model, theta, data), self._apply(model, theta, data, jax.jacrev)

    def linearize(self, model, theta, data):
        r, jvp = jax.linearize(lambda t: self.residuals(model, t, data), theta)
        transpose = jax.linear_transpose(jvp, theta)
        return r, jvp, lambda u: transpose(u)[0]

    def gram_with_residuals(self, model, theta, data):
        r, J = self.residuals_and_jacobian(model, theta, data)
        JTJ = J.T @ J
        return r, 0.5 * (JTJ + JTJ.T), J.T @ r

    def gram_diagonal(self, model, theta, data) -> Array:
        J = self.residuals_and_jacobian(model, theta, data)[1]
        return jnp.sum(J * J, axis=0)


# ---- hand-written kernels -------------------------------------------------------------------
class Linear(NamedTuple):
    """∂r/∂Θ at one θ in operator form (kernels strategy): the chain rule's pointwise weights.

    ``interior[k]`` = (α, β, h, λ) of component k at the interior points repeated E times
    (E·P, ...), None for fields the equation does not use; ``dphi`` = ∂r_int/∂φ (E·P, m);
    ``pen[k]`` = (α, β) of component k's point penalties; ``pairs[k]`` = (α, β) at its pairs'
    points x then x' (2S, ...), the second half negated."""

    interior: tuple
    dphi: Array
    pen: tuple
    pairs: tuple


def psi_jet(A: Jet, B: Jet, N: Array, gN: Array, HN: Array) -> Jet:
    """Jet of ψ = A + B N from the jets of A, B and N (product rule), batched over points."""
    outer = gN[:, :, None] * B.grad[:, None, :]
    value = A.value + B.value * N
    grad = A.grad + N[:, None] * B.grad + B.value[:, None] * gN
    hess = (
        A.hessian
        + N[:, None, None] * B.hessian
        + outer
        + jnp.swapaxes(outer, 1, 2)
        + B.value[:, None, None] * HN
    )
    return Jet(value, grad, hess, jnp.trace(hess, axis1=1, axis2=2))


def operator_weights(dF: Jet, B: Jet, used: frozenset):
    """(α, β, h, λ) of the interior residuals' θ-derivative (:mod:`nnpde.collocation`)."""
    alpha = dF.value * B.value
    beta = None
    if "grad" in used:
        alpha = alpha + jnp.sum(dF.grad * B.grad, axis=1)
        beta = B.value[:, None] * dF.grad
    h = lap = None
    if "hessian" in used:
        alpha = alpha + jnp.sum(dF.hessian * B.hessian, axis=(1, 2))
        sym = dF.hessian + jnp.swapaxes(dF.hessian, 1, 2)
        beta = (0 if beta is None else beta) + jnp.einsum("pij,pj->pi", sym, B.grad)
        h = B.value[:, None, None] * dF.hessian
    if "laplacian" in used:
        alpha = alpha + dF.laplacian * B.laplacian
        beta = (0 if beta is None else beta) + 2 * dF.laplacian[:, None] * B.grad
        lap = B.value * dF.laplacian
    return alpha, beta, h, lap


def _flux_weights(B: Jet, n, c0, c1, w):
    """(α, β) of w (c0 ψ + c1 n·∇ψ): ∂/∂θ = w[(c0 B + c1 n·∇B) ∂N + c1 B n·∂∇N]."""
    alpha = w * (c0 * B.value + c1 * jnp.sum(n * B.grad, axis=1))
    beta = (w * c1 * B.value)[:, None] * n
    return alpha, beta


def _repeat(tree, e: int):
    """Every leaf repeated e times along its leading axis (the e-major interior rows)."""
    if e == 1:
        return tree
    return jax.tree_util.tree_map(lambda a: jnp.tile(a, (e,) + (1,) * (a.ndim - 1)), tree)


def _kw(weights) -> dict:
    return dict(zip(("value", "grad", "hessian", "laplacian"), weights))


@dataclasses.dataclass(frozen=True)
class Kernels:
    """ψ and every θ-derivative from the hand-written kernels (``TwoLayerNet``)."""

    name: ClassVar[str] = "kernels"

    # ---- the forward pass: residuals and the weights of their derivatives -------------------
    def forward(self, model, theta, data):
        """(r (R,), :class:`Linear`) at θ."""
        net, e = model.net, model.n_eq
        thetas, phi = model.split(theta)
        jets = tuple(psi_jet(data.A[k], data.B[k], *kernels.jet(net, thetas[k], data.x))
                     for k in range(model.k))  # fmt: skip
        r_int, dF, dphi = model.equation_derivatives(data.x, jets, phi)
        B = _repeat(data.B, e)
        parts, pen_w, pair_w = [r_int], [], []
        for k in range(model.k):
            pen, prs = data.pen[k], data.pairs[k]
            u = psi_jet(pen.A, pen.B, *kernels.jet(net, thetas[k], pen.x))
            parts.append(penalty_value(u, pen.n, pen.g, pen.c0, pen.c1, pen.w))
            pen_w.append(_flux_weights(pen.B, pen.n, pen.c0, pen.c1, pen.w))
            pair_w.append(None)
            if prs.x.shape[0]:
                u = psi_jet(prs.A, prs.B, *kernels.jet(net, thetas[k], prs.x))
                u2 = psi_jet(prs.A2, prs.B2, *kernels.jet(net, thetas[k], prs.x2))
                parts.append(pair_value(u, u2, prs.n, prs.c0, prs.c1, prs.w))
                a1, b1 = _flux_weights(prs.B, prs.n, prs.c0, prs.c1, prs.w)
                a2, b2 = _flux_weights(prs.B2, prs.n, prs.c0, prs.c1, -prs.w)
                pair_w[-1] = (jnp.concatenate([a1, a2]), jnp.concatenate([b1, b2]))
        interior = tuple(operator_weights(dF[k], B[k], model.used) for k in range(model.k))
        lin = Linear(interior, dphi, tuple(pen_w), tuple(pair_w))
        return jnp.concatenate(parts), lin

    def residuals(self, model, theta, data) -> Array:
        return _residuals_kernels(model, theta, data)

    # ---- the Jacobian and its products -------------------------------------------------------
    def residuals_and_jacobian(self, model, theta, data):
        r, lin = self.forward(model, theta, data)
        thetas, _ = model.split(theta)
        net, x_rep = model.net, _repeat(data.x, model.n_eq)
        cols = [kernels.operator_rows(net, thetas[k], x_rep, **_kw(lin.interior[k]))
                for k in range(model.k)] + [lin.dphi]  # fmt: skip
        blocks = [jnp.concatenate(cols, axis=1)]
        for k in range(model.k):
            for rows in _penalty_rows(net, thetas[k], data, lin, k):
                blocks.append(_place(rows, k, model))
        return r, jnp.concatenate(blocks, axis=0)

    def linearize(self, model, theta, data):
        r, lin = self.forward(model, theta, data)
        return r, functools.partial(_jvp, model, theta, data, lin), \
            functools.partial(_vjp, model, theta, data, lin)  # fmt: skip

    def gram_with_residuals(self, model, theta, data):
        r, lin = self.forward(model, theta, data)
        thetas, _ = model.split(theta)
        net, x_rep, n_int = model.net, _repeat(data.x, model.n_eq), model.n_eq * data.x.shape[0]
        simple = model.k == 1 and lin.dphi.shape[1] == 0
        if simple:  # one network: the kernel's own blocked sums, exactly symmetric
            JTJ, JTr = kernels.operator_gram(net, thetas[0], x_rep, r[:n_int],
                                             **_kw(lin.interior[0]))  # fmt: skip
        else:
            JTJ, JTr = _interior_gram(model, thetas, x_rep, r[:n_int], lin)
        start = n_int
        for k in range(model.k):
            pen, prs = data.pen[k], data.pairs[k]
            q, s = pen.x.shape[0], prs.x.shape[0]
            if q:
                a, b = lin.pen[k]
                G, g = kernels.operator_gram(net, thetas[k], pen.x, r[start:start + q],
                                             value=a, grad=b)  # fmt: skip
                JTJ, JTr = _add_block(JTJ, JTr, G, g, k, model, simple)
            if s:
                R = _fold(kernels.operator_rows(net, thetas[k], jnp.concatenate([prs.x, prs.x2]),
                                                value=lin.pairs[k][0], grad=lin.pairs[k][1]))
                G = R.T @ R
                JTJ, JTr = _add_block(JTJ, JTr, 0.5 * (G + G.T), R.T @ r[start + q:start + q + s],
                                      k, model, simple)  # fmt: skip
            start += q + s
        return r, JTJ, JTr

    def gram_diagonal(self, model, theta, data) -> Array:
        _, lin = self.forward(model, theta, data)
        thetas, _ = model.split(theta)
        net, x_rep = model.net, _repeat(data.x, model.n_eq)
        parts = []
        for k in range(model.k):
            diag = _column_sq_sums(net, thetas[k], x_rep, *lin.interior[k])
            for rows in _penalty_rows(net, thetas[k], data, lin, k):
                diag = diag + jnp.sum(rows * rows, axis=0)
            parts.append(diag)
        return jnp.concatenate(parts + [jnp.sum(lin.dphi * lin.dphi, axis=0)])


def _fold(rows):
    """Rows at x then x' (2S, NT) → the S pair rows (their sums)."""
    s = rows.shape[0] // 2
    return rows[:s] + rows[s:]


def _penalty_rows(net, theta_k, data, lin: Linear, k: int):
    """Component k's penalty rows: the point penalties (Q, NT), then the pairs (S, NT) if any."""
    pen, prs = data.pen[k], data.pairs[k]
    a, b = lin.pen[k]
    out = [kernels.operator_rows(net, theta_k, pen.x, value=a, grad=b)]
    if prs.x.shape[0]:
        xx = jnp.concatenate([prs.x, prs.x2])
        out.append(_fold(kernels.operator_rows(net, theta_k, xx, value=lin.pairs[k][0],
                                               grad=lin.pairs[k][1])))  # fmt: skip
    return out


def _place(rows, k: int, model):
    """θ_k-rows (n, NT) as rows of J (n, K·NT + m): zeros in the other columns."""
    nt, total = model.n_net, model.n_net * model.k + len(model.problem.param_names)
    if total == nt:
        return rows
    left = jnp.zeros((rows.shape[0], k * nt), rows.dtype)
    right = jnp.zeros((rows.shape[0], total - (k + 1) * nt), rows.dtype)
    return jnp.concatenate([left, rows, right], axis=1)


def _add_block(JTJ, JTr, G, g, k: int, model, simple: bool):
    """JᵀJ and Jᵀr plus a θ_k-block's (NT, NT) and (NT,) contributions."""
    if simple:
        return JTJ + G, JTr + g
    sl = slice(k * model.n_net, (k + 1) * model.n_net)
    return JTJ.at[sl, sl].add(G), JTr.at[sl].add(g)


def _interior_gram(model, thetas, x_rep, r, lin: Linear):
    """(JᵀJ, Jᵀr) of the interior rows of all components and φ, accumulated over blocks of
    points with the points last (:mod:`nnpde._cols`): a block's Jᵀ (K·NT + m, chunk) is
    formed, and only the upper blocks of the symmetric product (memory
    O(chunk·(K·NT + m) + (K·NT + m)²)). Kovasznay, K = 3, NT' = 1008, 3072 rows: 40 ms in 6
    row groups (48 ms in 3; 122 ms with (chunk, NT') rows and the full ``rows.T @ rows``)."""
    net = model.net
    chunk = kernels.ROWS_CHUNK_SIZE
    n_all = net.num_params * model.k + lin.dphi.shape[1]
    if jax.default_backend() != "cpu":  # larger blocks, up to 2^25 entries (256 MiB in f64)
        chunk = max(chunk, min(kernels.GPU_CHUNK_SIZE, (1 << 25) // n_all))
    if r.shape[0] == 0:  # no interior rows (a model built on no points)
        return jnp.zeros((n_all, n_all), r.dtype), jnp.zeros((n_all,), r.dtype)
    weights = tuple(_cols.points_last(x_rep, *w)[1:] for w in lin.interior)

    def block(rb, xb, ws, dphib):
        Jt = [_cols.jacobian_t(net, thetas[k], xb, *ws[k]) for k in range(model.k)]
        if dphib.shape[0]:  # φ's rows: one Jᵀ, whose Jᵀr sums as before (bit for bit)
            Jt = [jnp.concatenate(Jt + [dphib], axis=0)]
        return _cols.symmetric_products(Jt, rb)

    upper, JTr = _cols.sum_blocks(block, chunk, r, x_rep.T, weights, lin.dphi.T)
    JTJ = _cols.assemble_gram(upper, n_all)
    return 0.5 * (JTJ + JTJ.T), JTr


def _column_sq_sums(net, theta, x, alpha, beta, h, lap):
    """Σ_p (∂F_p/∂θ)² (NT,) with rows formed one block of points at a time."""
    chunk = kernels.ROWS_CHUNK_SIZE
    if jax.default_backend() != "cpu":  # larger blocks, up to 2^25 entries (256 MiB in f64)
        chunk = max(chunk, min(kernels.GPU_CHUNK_SIZE, (1 << 25) // net.num_params))

    def block(xb, a, be, hh, la):
        rows = kernels.operator_rows(net, theta, xb, value=a, grad=be, hessian=hh, laplacian=la,
                                     chunk_size=chunk)  # fmt: skip
        return jnp.sum(rows * rows, axis=0)

    return kernels._sum_blocks(block, chunk, x, alpha, beta, h, lap)


def _split_residuals(model, data, u):
    """u (R,) → (interior part (E·P,), [(penalty part (Q_k,), pair part (S_k,))] per k)."""
    start = model.n_eq * data.x.shape[0]
    out = []
    for k in range(model.k):
        q, s = data.pen[k].x.shape[0], data.pairs[k].x.shape[0]
        out.append((u[start:start + q], u[start + q:start + q + s]))
        start += q + s
    return u[:model.n_eq * data.x.shape[0]], out


def _jvp(model, theta, data, lin: Linear, v):
    """J v (R,) for v (K·NT + m,)."""
    thetas, _ = model.split(theta)
    vs, v_phi = model.split(v)
    net, x_rep = model.net, _repeat(data.x, model.n_eq)
    j_int = sum(kernels.operator_jvp(net, thetas[k], x_rep, vs[k], **_kw(lin.interior[k]))
                for k in range(model.k))  # fmt: skip
    if lin.dphi.shape[1]:
        j_int = j_int + lin.dphi @ jnp.stack([v_phi[n] for n in model.problem.param_names])
    parts = [j_int]
    for k in range(model.k):
        pen, prs = data.pen[k], data.pairs[k]
        a, b = lin.pen[k]
        parts.append(kernels.operator_jvp(net, thetas[k], pen.x, vs[k], value=a, grad=b))
        if prs.x.shape[0]:
            xx = jnp.concatenate([prs.x, prs.x2])
            both = kernels.operator_jvp(net, thetas[k], xx, vs[k], value=lin.pairs[k][0],
                                        grad=lin.pairs[k][1])  # fmt: skip
            parts.append(_fold(both))
    return jnp.concatenate(parts)


def _scale(weights, c):
    """The weights (α, β, h, λ) times a per-row cotangent c."""
    return tuple(None if w is None else w * c.reshape(c.shape + (1,) * (w.ndim - 1))
                 for w in weights)  # fmt: skip


def _vjp(model, theta, data, lin: Linear, u):
    """Jᵀu (K·NT + m,) for u (R,) (also the ``custom_vjp`` of the residuals)."""
    thetas, _ = model.split(theta)
    net, x_rep = model.net, _repeat(data.x, model.n_eq)
    u_int, u_pen = _split_residuals(model, data, u)
    grads = []
    for k in range(model.k):
        pen, prs = data.pen[k], data.pairs[k]
        g = kernels.operator_vjp(net, thetas[k], x_rep, **_kw(_scale(lin.interior[k], u_int)))
        c, c2 = u_pen[k]
        g = g + kernels.operator_vjp(net, thetas[k], pen.x, **_kw(_scale(lin.pen[k], c)))
        if prs.x.shape[0]:
            xx = jnp.concatenate([prs.x, prs.x2])
            cc = jnp.concatenate([c2, c2])
            g = g + kernels.operator_vjp(net, thetas[k], xx, **_kw(_scale(lin.pairs[k], cc)))
        grads.append(g)
    return jnp.concatenate(grads + [lin.dphi.T @ u_int])


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _residuals_kernels(model, theta, data):
    return model.derivatives.forward(model, theta, data)[0]


def _residuals_fwd(model, theta, data):
    r, lin = model.derivatives.forward(model, theta, data)
    return r, (theta, lin, data)


def _residuals_bwd(model, saved, ct):
    theta, lin, data = saved
    return _vjp(model, theta, data, lin, ct), jax.tree_util.tree_map(jnp.zeros_like, data)


_residuals_kernels.defvjp(_residuals_fwd, _residuals_bwd)

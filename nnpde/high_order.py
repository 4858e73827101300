"""Collocation with partials up to fourth order: ``u.partial(*axes)`` and ``OperatorBC``.

A problem whose equation reads a partial of order 3 or 4 (``u.partial(0, 0, 0, 0)``), or that
has an :class:`~nnpde.OperatorBC` (a condition on derivatives at boundary points, e.g. a beam's
u''(1) = u'''(1) = 0), is solved by :class:`HighOrderCollocation`. Every residual block (the
interior equation, each penalty condition) is one pointwise function r(x, u) of the trial
solution's jet; only the partials it reads are computed (found by tracing it once).

With ψ = A + B·N (seed 000's network N, the trial factors A, B of :mod:`nnpde.trial`), the
multivariate Leibniz rule gives every partial of ψ from those of N and B, summing over the
sub-multisets β of α's axes (γ = α ∖ β, counted with multiplicity as subsets of positions):

    ∂^α ψ = ∂^α A + Σ_{β ⊆ α} ∂^γ B ∂^β N,

so, with F_α = ∂r/∂(∂^α ψ) (autodiff of the small pointwise r), the exact Jacobian row is

    ∂r/∂θ = Σ_β c_β ∂θ ∂^β N,    c_β = Σ_{α ⊇ β} F_α ∂^{α∖β} B,

a weighted set of partials of N: :func:`nnpde.kernels.partials_x_rows` (rows),
``partials_x_vjp`` (Jᵀu, the loss gradient through a ``jax.custom_vjp``), ``partials_x_jvp``
(J v) and ``partials_x_gram`` (JᵀJ, Jᵀr by blocks). The kernels-or-autodiff choice is a small
strategy object (:data:`KERNELS` for a ``TwoLayerNet``, :data:`AUTODIFF`: nested ``jax.jvp``
of any scalar network, ``MLP`` included). The jets of A and B (up to the orders needed) are
computed once by autodiff.

Scope: problems with one unknown and no params, data or Periodic conditions (the ones that
``nnpde.collocation.make_collocation`` builds; it hands them here). Not yet: ``adapt=``
(its resampling builds second-order jets of A and B).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections import Counter
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.extend.core as jex_core
import jax.numpy as jnp
import numpy as np

from nnpde import _nets, taylor
from nnpde.activations import require_order
from nnpde.penalties import boundary_count
from nnpde.problem import (
    Jet,
    OperatorBC,
    Problem,
    check_residual_type,
    describe,
    jet_of,
    partial_of,
    traced,
)
from nnpde.trial import TrialSolution, kept_trial

__all__ = ["AUTODIFF", "KERNELS", "HighOrderCollocation", "HighOrderData", "make_high_order",
           "needs_high_order"]  # fmt: skip

Array = jax.Array
FIELDS = ("value", "grad", "hessian", "laplacian")


# ---- what a pointwise residual reads ----------------------------------------------------------
class _Recorder(Mapping):
    """``Jet.high`` while tracing: every partial asked for is recorded and read as 0."""

    def __init__(self, dtype):
        self.keys, self.dtype = set(), dtype

    def __getitem__(self, key):
        self.keys.add(key)
        return jnp.zeros((), self.dtype)

    def __contains__(self, key):
        return True

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


def reads(fn: Callable, what: str, dim: int, dtype) -> tuple[frozenset, tuple]:
    """(Jet fields read, sorted partials of order 3-4 read) by ``fn(x, u)`` for one point,
    from one trace (its jaxpr's inputs and the partials it asks for). Checks that ``fn``
    returns one real scalar, naming ``what``."""
    rec = []

    def probe(x, value, grad, hess, lap):
        r = _Recorder(dtype)
        rec.append(r)
        out = fn(x, Jet(value, grad, hess, lap, r))
        check_residual_type(out, what)
        out = jnp.asarray(out)
        if out.shape != ():
            raise ValueError(f"{what} must return a scalar residual for one point, got shape "
                             f"{out.shape}")  # fmt: skip
        return out

    shapes = [(), (dim,), (dim, dim), ()]
    args = [jnp.zeros((dim,), dtype)] + [jnp.zeros(s, dtype) for s in shapes]
    traced(lambda *a: probe(*a), what, *args)  # the user-facing errors, abstractly
    jaxpr = jax.make_jaxpr(probe)(*args).jaxpr
    used = {v for v in jaxpr.outvars if isinstance(v, jex_core.Var)}
    for eqn in jaxpr.eqns:
        used.update(v for v in eqn.invars if isinstance(v, jex_core.Var))
    fields = frozenset(f for f, v in zip(FIELDS, jaxpr.invars[1:]) if v in used)
    return fields, tuple(sorted(rec[-1].keys, key=lambda k: (len(k), k)))


def needs_high_order(problem: Problem, dtype) -> bool:
    """Whether ``problem`` reads partials of order 3-4 or has an ``OperatorBC``; False when
    the equation cannot be traced (the second-order path then reports why)."""
    if any(isinstance(bc, OperatorBC) for bc in problem.boundary):
        return True
    if not problem.is_simple:
        return False
    try:
        return bool(reads(problem.equation, "the equation", problem.dim, dtype)[1])
    except Exception:  # the regular checks name the problem
        return False


def psi_partials(fields: frozenset, high: tuple, dim: int) -> tuple:
    """The partials of ψ a residual needs: sorted multi-indices, order 0..4."""
    need = set(high)
    if "value" in fields:
        need.add(())
    if "grad" in fields:
        need.update((i,) for i in range(dim))
    if "hessian" in fields:
        need.update((i, j) for i in range(dim) for j in range(i, dim))
    if "laplacian" in fields:
        need.update((i, i) for i in range(dim))
    return tuple(sorted(need, key=lambda k: (len(k), k)))


@functools.lru_cache(maxsize=1024)
def leibniz(alpha: tuple) -> tuple:
    """((count, β, γ), ...): ∂^α(B N) = Σ count ∂^γ B ∂^β N over sub-multisets β, γ = α ∖ β."""
    counter = Counter()
    n = len(alpha)
    for r in range(n + 1):
        for pos in itertools.combinations(range(n), r):
            beta = tuple(alpha[i] for i in pos)
            gamma = tuple(alpha[i] for i in range(n) if i not in pos)
            counter[beta, gamma] += 1
    return tuple((c, b, g) for (b, g), c in sorted(counter.items()))


def _closure(axes: tuple) -> tuple:
    """All sub-multisets of the multi-indices ``axes`` (what Leibniz needs of N and B)."""
    out = set()
    for alpha in axes:
        out.update(b for _, b, _ in leibniz(alpha))
    return tuple(sorted(out, key=lambda k: (len(k), k)))


# ---- strategies: hand-written kernels or autodiff ---------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Kernels:
    """The hand-written partials of a ``TwoLayerNet`` (:mod:`nnpde.taylor`)."""

    name: str = "kernels"

    def values(self, net, theta, x, axes):
        return taylor.partials_x(net, theta, x, axes)

    def rows(self, net, theta, x, axes, c):
        return taylor.partials_x_rows(net, theta, x, axes, c)

    def vjp(self, net, theta, x, axes, c):
        return taylor.partials_x_vjp(net, theta, x, axes, c)

    def jvp(self, net, theta, x, axes, t, c):
        return taylor.partials_x_jvp(net, theta, x, axes, t, c)

    def gram(self, net, theta, x, axes, r, c):
        return taylor.partials_x_gram(net, theta, x, axes, r, c)


@dataclasses.dataclass(frozen=True)
class _Autodiff:
    """Nested ``jax.jvp`` of any scalar network (``TwoLayerNet`` or ``MLP``)."""

    name: str = "autodiff"

    def _single(self, net, axes):
        dim = _nets.input_dim(net)

        def fn(theta, xp):
            n = functools.partial(_nets.apply_single, net, theta)
            return jnp.stack([partial_of(n, a, dim)(xp) for a in axes])

        return fn

    def values(self, net, theta, x, axes):
        return jax.vmap(self._single(net, axes), in_axes=(None, 0))(theta, x)

    def rows(self, net, theta, x, axes, c):
        one = self._single(net, axes)
        return jax.vmap(jax.grad(lambda t, xp, cp: one(t, xp) @ cp), (None, 0, 0))(theta, x, c)

    def vjp(self, net, theta, x, axes, c):
        return jax.grad(lambda t: jnp.sum(self.values(net, t, x, axes) * c))(theta)

    def jvp(self, net, theta, x, axes, t, c):
        fn = lambda th: jnp.sum(self.values(net, th, x, axes) * c, axis=1)  # noqa: E731
        return jax.jvp(fn, (theta,), (t,))[1]

    def gram(self, net, theta, x, axes, r, c):
        J = self.rows(net, theta, x, axes, c)
        return J.T @ J, J.T @ r


KERNELS = _Kernels()
AUTODIFF = _Autodiff()


# ---- the model --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class Block:
    """One residual block: ``fn(x, u, n, g)`` (one point: coordinates, ψ's Jet, normal,
    target) and the partials it needs. Static."""

    name: str
    fn: Callable
    fields: frozenset
    high: tuple  # partials of order 3-4 it reads
    psi: tuple  # partials of ψ it needs
    nparts: tuple  # partials of N that ψ's need (Leibniz closure when B is not 1)


class HighOrderData(NamedTuple):
    """Arrays of a :class:`HighOrderCollocation` (θ-independent, computed once)."""

    x: Array  # (P, D) interior points
    A: Jet  # jets of A at x: (P,), (P, D), (P, D, D), (P,), high {axes: (P,)}
    B: Jet  # jets of B at x
    xb: Array  # (Q, D) penalty points, the conditions one after another
    nb: Array  # (Q, D) outward normals
    gb: Array  # (Q,) targets
    wb: Array  # (Q,) weights
    Ab: Jet  # jets of A at xb
    Bb: Jet  # jets of B at xb


def _get(jet: Jet, alpha: tuple) -> Array:
    """∂^α of a batched Jet: (P,)."""
    if len(alpha) == 0:
        return jet.value
    if len(alpha) == 1:
        return jet.grad[:, alpha[0]]
    if len(alpha) == 2:
        return jet.hessian[:, alpha[0], alpha[1]]
    return jet.high[alpha]


def _psi_jet(blk: Block, N: Array, A: Jet, B: Jet, exact: bool, d: int) -> Jet:
    """ψ's Jet (batched) from N's partials (P, K) by Leibniz; fields not read are zeros."""
    Nd = {beta: N[:, k] for k, beta in enumerate(blk.nparts)}
    psi = {}
    for alpha in blk.psi:
        val = _get(A, alpha) if exact else 0
        for count, beta, gamma in leibniz(alpha):
            if exact or not gamma:
                val = val + count * (_get(B, gamma) if exact else 1) * Nd[beta]
        psi[alpha] = val
    n = N.shape[0]
    zero = jnp.zeros((n,), N.dtype)
    value = psi.get((), zero)
    grad = jnp.stack([psi[(i,)] for i in range(d)], 1) if "grad" in blk.fields else \
        jnp.zeros((n, d), N.dtype)  # fmt: skip
    hess = jnp.zeros((n, d, d), N.dtype)
    if "hessian" in blk.fields:
        rows = [[psi[tuple(sorted((i, j)))] for j in range(d)] for i in range(d)]
        hess = jnp.stack([jnp.stack(r, 1) for r in rows], 1)
    lap = sum(psi[(i, i)] for i in range(d)) if "laplacian" in blk.fields else zero
    return Jet(value, grad, hess, lap, {a: psi[a] for a in blk.high})


def _weights(blk: Block, dF: Jet, B: Jet, exact: bool, d: int) -> Array:
    """c (P, K): ∂r/∂(∂^β N) for the block's partials β of N (module docstring)."""
    f, cpsi = blk.fields, {}  # F_α = ∂r/∂(∂^α ψ)
    if "value" in f:
        cpsi[()] = dF.value
    for i in range(d):
        if "grad" in f:
            cpsi[(i,)] = dF.grad[:, i]
        for j in range(i, d):  # ∂²ψ/∂x_i∂x_j enters hessian[i, j], hessian[j, i] and Δψ
            terms = [dF.hessian[:, i, j]] if "hessian" in f else []
            if "hessian" in f and j != i:
                terms.append(dF.hessian[:, j, i])
            if i == j and "laplacian" in f:
                terms.append(dF.laplacian)
            if terms:
                cpsi[(i, j)] = sum(terms)
    for alpha in blk.high:
        cpsi[alpha] = dF.high[alpha]
    zero = jnp.zeros_like(dF.value)
    cN = {beta: zero for beta in blk.nparts}
    for alpha, c in cpsi.items():
        for count, beta, gamma in leibniz(alpha):
            if exact or not gamma:
                cN[beta] = cN[beta] + count * c * (_get(B, gamma) if exact else 1)
    return jnp.stack([cN[b] for b in blk.nparts], axis=1)


@dataclasses.dataclass(frozen=True, eq=False)
class HighOrderCollocation:
    """Collocation whose residuals read partials up to fourth order (module docstring).

    The model interface of :mod:`nnpde.objective` (``residuals``, ``residuals_and_jacobian``,
    ``loss``, ``blocks``, ``linearize``, ``gram_with_residuals``, ``gram_diagonal``) and the
    attributes the solver reads (``problem``, ``net``, ``trial``, ``backend``). Hashable by
    identity; the arrays live in :class:`HighOrderData`."""

    problem: Problem
    net: object
    trial: TrialSolution | None
    strategy: object
    interior: Block
    penalties: tuple  # (Block, rows) per penalty condition, in the order of xb

    @property
    def backend(self) -> str:
        return self.strategy.name

    @property
    def penalty_blocks(self) -> tuple:
        return tuple((b.name, rows) for b, rows in self.penalties)

    def blocks(self, data: HighOrderData) -> tuple:
        """((name, size), ...): the interior points, then each penalty condition."""
        return (("interior", data.x.shape[0]),) + self.penalty_blocks

    def trial_factors(self, data: HighOrderData) -> tuple:
        """(B,): the one unknown's trial factor at the interior points, (P,)."""
        return (data.B.value,)

    # ---- the blocks' points and jets ------------------------------------------------------
    def _parts(self, data: HighOrderData):
        """[(Block, x, n, g, w, A, B)]: every residual block's arrays (static slices)."""
        n0 = jnp.zeros_like(data.x)
        out = [(self.interior, data.x, n0, n0[:, 0], None, data.A, data.B)]
        start = 0
        for blk, rows in self.penalties:
            sl = slice(start, start + rows)
            cut = functools.partial(jax.tree_util.tree_map, lambda a, sl=sl: a[sl])
            out.append((blk, data.xb[sl], data.nb[sl], data.gb[sl], data.wb[sl],
                        cut(data.Ab), cut(data.Bb)))  # fmt: skip
            start += rows
        return out

    def _block(self, theta, blk: Block, x, n, g, w, A: Jet, B: Jet):
        """(r (P,), c (P, K)) of one block: its residuals and their weights on N's partials."""
        exact = self.trial is not None
        if exact and any(len(a) > 2 for a in _closure(blk.psi)) and B.high is None:
            raise ValueError("adapt= does not support equations with partials of order 3 "
                             "or 4 yet")  # fmt: skip
        d = x.shape[1]
        N = self.strategy.values(self.net, theta, x, blk.nparts)
        u = _psi_jet(blk, N, A, B, exact, d)

        def one(xp, up, np_, gp, wp):
            r = jnp.asarray(blk.fn(xp, up, np_, gp)).astype(xp.dtype)
            return r if wp is None else wp * r

        w_axes = None if w is None else 0
        r, dF = jax.vmap(jax.value_and_grad(one, argnums=1), (0, 0, 0, 0, w_axes))(x, u, n, g, w)
        return r, _weights(blk, dF, B, exact, d)

    def _forward(self, theta, data: HighOrderData):
        """(r (R,), [(Block, x, c)]): all residuals and each block's weights."""
        rs, parts = [], []
        for blk, x, n, g, w, A, B in self._parts(data):
            if x.shape[0] == 0:
                continue
            r, c = self._block(theta, blk, x, n, g, w, A, B)
            rs.append(r)
            parts.append((blk, x, c))
        return jnp.concatenate(rs), parts

    # ---- residuals, Jacobian, loss --------------------------------------------------------
    def residuals(self, theta, data: HighOrderData) -> Array:
        """All residuals, interior then each penalty condition: (R,). With the kernels, the
        θ-gradient of anything built on them uses the hand-written VJP (``custom_vjp``)."""
        if isinstance(self.strategy, _Kernels):
            return _residuals_kernels(self, theta, data)
        return self._forward(theta, data)[0]

    def residuals_and_jacobian(self, theta, data: HighOrderData):
        """(r (R,), J (R, NT)): the exact Jacobian from the weighted rows of each block."""
        r, parts = self._forward(theta, data)
        J = [self.strategy.rows(self.net, theta, x, blk.nparts, c) for blk, x, c in parts]
        return r, jnp.concatenate(J, axis=0)

    def jacobian(self, theta, data: HighOrderData) -> Array:
        return self.residuals_and_jacobian(theta, data)[1]

    def loss(self, theta, data: HighOrderData) -> Array:
        """½·mean(r²)."""
        r = self.residuals(theta, data)
        return 0.5 * jnp.mean(r * r)

    def _vjp(self, theta, parts, u) -> Array:
        g, start = jnp.zeros_like(theta), 0
        for blk, x, c in parts:
            rows = x.shape[0]
            ub = u[start : start + rows]
            g = g + self.strategy.vjp(self.net, theta, x, blk.nparts, c * ub[:, None])
            start += rows
        return g

    def linearize(self, theta, data: HighOrderData):
        """(r, v ↦ J v, u ↦ Jᵀu), J never formed (the matrix-free LM step)."""
        r, parts = self._forward(theta, data)

        def jvp(v):
            return jnp.concatenate([self.strategy.jvp(self.net, theta, x, blk.nparts, v, c)
                                    for blk, x, c in parts])  # fmt: skip

        return r, jvp, lambda u: self._vjp(theta, parts, u)

    def jvp(self, theta, data, v) -> Array:
        return self.linearize(theta, data)[1](v)

    def vjp(self, theta, data, u) -> Array:
        return self.linearize(theta, data)[2](u)

    def gram_with_residuals(self, theta, data: HighOrderData):
        """(r (R,), JᵀJ (NT, NT), Jᵀr (NT,)), accumulated block by block of points."""
        r, parts = self._forward(theta, data)
        nt = theta.shape[0]
        JTJ, JTr, start = jnp.zeros((nt, nt), theta.dtype), jnp.zeros_like(theta), 0
        for blk, x, c in parts:
            rows = x.shape[0]
            G, g = self.strategy.gram(self.net, theta, x, blk.nparts, r[start : start + rows], c)
            JTJ, JTr, start = JTJ + G, JTr + g, start + rows
        return r, JTJ, JTr

    def gram(self, theta, data: HighOrderData):
        r, JTJ, JTr = self.gram_with_residuals(theta, data)
        return 0.5 * jnp.mean(r * r), JTJ, JTr

    def gram_diagonal(self, theta, data: HighOrderData) -> Array:
        """diag(JᵀJ) (NT,), from the rows."""
        J = self.jacobian(theta, data)
        return jnp.sum(J * J, axis=0)

    # ---- sharding over points -------------------------------------------------------------
    def shard_specs(self, data: HighOrderData, axis: str):
        """Interior points and their jets split over mesh axis ``axis``; penalty rows
        replicated (as :class:`nnpde.collocation.Collocation`)."""
        from jax.sharding import PartitionSpec

        split, whole = PartitionSpec(axis), PartitionSpec()
        tree = jax.tree_util.tree_map(lambda _: whole, data)
        return tree._replace(x=split, A=jax.tree_util.tree_map(lambda _: split, data.A),
                             B=jax.tree_util.tree_map(lambda _: split, data.B))  # fmt: skip

    def mask_replicated(self, data: HighOrderData, keep) -> HighOrderData:
        return data._replace(wb=jnp.where(keep, data.wb, jnp.zeros_like(data.wb)))


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _residuals_kernels(model: HighOrderCollocation, theta, data):
    return model._forward(theta, data)[0]


def _residuals_fwd(model, theta, data):
    r, parts = model._forward(theta, data)
    return r, (theta, [(x, c) for _, x, c in parts], data)


def _residuals_bwd(model, saved, ct):
    theta, xc, data = saved
    parts = [(blk, x, c) for blk, (x, c) in zip(_active_blocks(model, data), xc)]
    return model._vjp(theta, parts, ct), jax.tree_util.tree_map(jnp.zeros_like, data)


def _active_blocks(model, data) -> list:
    return [p[0] for p in model._parts(data) if p[1].shape[0] > 0]


_residuals_kernels.defvjp(_residuals_fwd, _residuals_bwd)


# ---- set-up ------------------------------------------------------------------------------------
def _trial_jets(trial: TrialSolution | None, x, partials: tuple, dtype):
    """(jet of A, jet of B) at x (n, D) with ``high`` holding their partials of order 3-4
    in ``partials``: by autodiff, once (zeros and ones without a trial solution)."""
    n, d = x.shape
    high = tuple(a for a in partials if len(a) > 2)
    if trial is None or n == 0:  # (no points: the block is skipped; only shapes matter)
        zero = jnp.zeros((n,), dtype)
        A = Jet(zero, jnp.zeros((n, d), dtype), jnp.zeros((n, d, d), dtype), zero,
                {a: zero for a in high})  # fmt: skip
        return A, A._replace(value=jnp.ones((n,), dtype))

    return _trial_jets_jit(trial, high, x)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _trial_jets_jit(trial: TrialSolution, high: tuple, x):
    """The jets of A and B by autodiff at x (n, D); compiled once per trial solution (kept
    per problem: :func:`nnpde.trial.kept_trial`), partials and shape, so the validation
    points reuse it."""
    d = x.shape[1]

    def one(p):
        out = []
        for fn in (trial.A, trial.B):
            f = lambda y, fn=fn: jnp.asarray(fn(y), y.dtype)  # noqa: E731
            out.append(jet_of(f, p)._replace(high={a: partial_of(f, a, d)(p) for a in high}))
        return tuple(out)

    return jax.vmap(one)(x)


def _make_block(name: str, fn, what: str, dim: int, dtype, exact: bool) -> Block:
    fields, high = reads(lambda x, u: fn(x, u, jnp.zeros_like(x), jnp.zeros((), x.dtype)), what,
                         dim, dtype)  # fmt: skip
    psi = psi_partials(fields, high, dim)
    return Block(name, fn, fields, high, psi, _closure(psi) if exact else psi)


def _penalty(problem: Problem, bc, n, key, dtype, exact: bool):
    """(Block, points, normals, targets, weights) of one penalty condition, at about ``n``
    points of its own faces (:mod:`nnpde.penalties`)."""
    from nnpde.penalties import condition_name, condition_points, penalty_condition

    d = problem.dim
    if isinstance(bc, OperatorBC):
        sample = condition_points(problem.domain, bc, n, key)
        pts, normals = sample.x, sample.normal
        values = np.zeros(len(pts))
        fn = lambda x, u, n, g, bc=bc: bc.residual(x, u)  # noqa: E731
    else:
        pts, normals, values, c0, c1 = penalty_condition(problem, bc, n, key, dtype)

        def fn(x, u, n, g, c0=c0, c1=c1):
            out = -g
            if c0:
                out = out + c0 * u.value
            if c1:
                out = out + c1 * jnp.dot(n, u.grad)
            return out

    blk = _make_block(condition_name(bc), fn, f"{describe(bc)} residual", d, dtype, exact)
    return blk, pts, normals, values, np.full(len(pts), float(bc.weight))


def _check_order(net, blocks) -> None:
    order = max(len(a) for b in blocks for a in b.nparts) + 1
    require_order(net.activation, order, f"the problem reads partials of order {order - 1}")


def make_high_order(problem: Problem, net, x, *, boundary_points: int | None = None, key=None,
                    backend: str = "kernels", dtype=None):  # fmt: skip
    """Builds the static :class:`HighOrderCollocation` and its :class:`HighOrderData`.

    Arguments as :func:`nnpde.collocation.make_collocation` (``backend`` "kernels" needs a
    ``TwoLayerNet``; "autodiff" takes an ``MLP`` too).
    """
    dtype = jnp.asarray(x).dtype if dtype is None else jnp.dtype(dtype)
    x = jnp.asarray(x, dtype)
    boundary_points = boundary_count(boundary_points, x.shape[0])
    d = problem.dim
    if backend == "kernels" and _nets.is_mlp(net):
        raise ValueError("the hand-written kernels exist for TwoLayerNet only; use "
                         "backend='autodiff' for an MLP")  # fmt: skip
    trial, rest = kept_trial(problem, "whole", problem)
    exact = trial is not None
    eq = lambda xp, u, n, g: problem.equation(xp, u)  # noqa: E731
    interior = _make_block("interior", eq, "the equation", d, dtype, exact)
    penalties, arrays = [], []
    if rest:
        for bc in rest:
            blk, *arr = _penalty(problem, bc, boundary_points, key, dtype, exact)
            penalties.append((blk, len(arr[0])))
            arrays.append(arr)
    _check_order(net, [interior] + [b for b, _ in penalties])
    every = _closure(tuple({a for b in [interior] + [b for b, _ in penalties] for a in b.psi}))
    A, B = _trial_jets(trial, x, every, dtype)

    def cat(i, shape):
        parts = [a[i] for a in arrays]
        return jnp.asarray(np.concatenate(parts) if parts else np.zeros(shape), dtype)

    xb, nb, gb, wb = cat(0, (0, d)), cat(1, (0, d)), cat(2, (0,)), cat(3, (0,))
    Ab, Bb = _trial_jets(trial, xb, every, dtype)
    _check_finite(problem, (A, B, Ab, Bb))
    data = HighOrderData(x, A, B, xb, nb, gb, wb, Ab, Bb)
    strategy = KERNELS if backend == "kernels" else AUTODIFF
    model = HighOrderCollocation(problem, net, trial, strategy, interior, tuple(penalties))
    return model, data


def _check_finite(problem: Problem, jets) -> None:
    leaves = jax.tree_util.tree_leaves(jets)
    if leaves and not all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in leaves):
        raise ValueError(f"the trial solution ψ = A + B·N of {problem.name!r} (A, B or their "
                         "derivatives up to the order the problem reads) is NaN or Inf at some "
                         "collocation point: check the Dirichlet/Initial data")  # fmt: skip

"""Collocation residuals, the loss ½·mean(r²), its θ-gradient and the residual Jacobian.

With the trial solution ψ = A + B·N (A = 0, B = 1 where no condition is imposed exactly), the
interior residual at x_p is r_p = F(x_p, ψ, ∇ψ, ∇²ψ, Δψ) for the problem's pointwise equation F.
By the chain rule and the product rule (A, B do not depend on θ),

    ∂r_p/∂θ = α_p ∂N/∂θ + β_p·∂∇N/∂θ + h_p:∂∇²N/∂θ + λ_p ∂ΔN/∂θ,
    α = F_u B + F_g·∇B + F_H:∇²B + F_Δ ΔB,   β = B F_g + (F_H + F_Hᵀ)∇B + 2 F_Δ ∇B,
    h = B F_H,   λ = B F_Δ,

where F_u, F_g, F_H, F_Δ are the derivatives of the small pointwise F (by autodiff) and the
θ-terms are the hand-written operator kernels (:func:`nnpde.kernels.operator_rows` for J,
:func:`nnpde.kernels.operator_vjp` for Jᵀr): never the (P, D, D, NT) tensor. Terms the
equation does not use (found by inspecting its jaxpr) are dropped. Penalty residuals
w (c0 ψ + c1 n·∇ψ - g) at boundary points are first-order operators of the same kind.

``backend="autodiff"`` builds the same residuals from ``jax.grad``/``jax.hessian`` of the
single-point ψ; the two agree to round-off.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.extend.core as jex_core
import jax.numpy as jnp
import numpy as np

from nnpde import _nets, kernels
from nnpde.activations import get_activation
from nnpde.problem import (
    Dirichlet,
    Jet,
    Neumann,
    Problem,
    Robin,
    check_pointwise,
    check_residual_type,
    describe,
    jet_of,
    traced,
)
from nnpde.trial import TrialSolution, build_trial

__all__ = ["Collocation", "CollocationData", "make_collocation"]

Array = jax.Array
BACKENDS = ("kernels", "autodiff")


class CollocationData(NamedTuple):
    """Arrays of a collocation problem (a pytree; everything θ-independent, computed once)."""

    x: Array  # (P, D) interior points
    A: Jet  # jet of A at x: (P,), (P, D), (P, D, D), (P,)
    B: Jet  # jet of B at x
    xb: Array  # (Q, D) boundary points with a penalty condition
    nb: Array  # (Q, D) outward normals
    gb: Array  # (Q,) target values g
    c0: Array  # (Q,) coefficient of ψ
    c1: Array  # (Q,) coefficient of n·∇ψ
    wb: Array  # (Q,) penalty weights
    Ab: Jet  # jet of A at xb
    Bb: Jet  # jet of B at xb


def check_equation(problem: Problem, dtype) -> None:
    """The equation returns one real scalar for one point (checked abstractly, before any
    compilation): None, complex values (which would be cut to their real part), vectors and
    NumPy calls on traced values are refused with a message naming the equation."""
    d = problem.dim
    x0 = jax.ShapeDtypeStruct((d,), dtype)
    u0 = Jet(*(jax.ShapeDtypeStruct(shape, dtype) for shape in ((), (d,), (d, d), ())))

    def call(x, u):
        out = problem.equation(x, u)
        check_residual_type(out)
        try:
            if isinstance(out, (str, bytes)):  # jnp.asarray("a") reads "a" as a dtype name
                raise TypeError(type(out).__name__)
            return jnp.asarray(out)
        except (TypeError, ValueError, Warning):
            raise TypeError(f"the equation must return a real scalar residual for one point, "
                            f"got a {type(out).__name__}") from None  # fmt: skip

    out = traced(call, "the equation", x0, u0)
    check_residual_type(out)
    if out.shape != ():
        raise ValueError(
            f"equation must return a scalar residual for one point, got shape {out.shape}"
        )


def _used_fields(problem: Problem, dtype) -> frozenset:
    """Which Jet fields the equation reads, from its jaxpr (unused ones are dropped)."""
    d = problem.dim
    x0 = jnp.zeros((d,), dtype)
    u0 = Jet(jnp.zeros((), dtype), jnp.zeros((d,), dtype), jnp.zeros((d, d), dtype),
             jnp.zeros((), dtype))  # fmt: skip
    closed = jax.make_jaxpr(problem.equation)(x0, u0)
    jaxpr = closed.jaxpr
    used = set()
    for eqn in jaxpr.eqns:
        used.update(v for v in eqn.invars if isinstance(v, jex_core.Var))
    used.update(v for v in jaxpr.outvars if isinstance(v, jex_core.Var))
    fields = Jet._fields
    return frozenset(f for f, v in zip(fields, jaxpr.invars[1:]) if v in used)


def _eval_equation(problem: Problem, x, u: Jet):
    """r and dF/du (a Jet of derivatives) at every point; checks the residual is a scalar."""

    def one(xp, up):
        r = problem.equation(xp, up)
        r = jnp.asarray(r)
        if r.shape != ():
            raise ValueError(
                f"equation must return a scalar residual for one point, got shape {r.shape}"
            )
        return r.astype(xp.dtype)

    return jax.vmap(jax.value_and_grad(one, argnums=1))(x, u)


def _psi_jet(A: Jet, B: Jet, N: Array, gN: Array, HN: Array) -> Jet:
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


def _operator_weights(dF: Jet, B: Jet, used: frozenset):
    """(α, β, h, λ) of the interior residuals' θ-derivative (see the module docstring)."""
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


@dataclasses.dataclass(frozen=True, eq=False)
class Collocation:
    """Static description of a collocation problem: the problem, network, trial solution and
    which Jet fields the equation uses. Hashable by identity (a static jit argument); the
    arrays live in :class:`CollocationData`."""

    problem: Problem
    net: object
    trial: TrialSolution | None
    used: frozenset
    backend: str = "kernels"
    penalty_blocks: tuple = ()  # ((name, rows), ...) of the penalty conditions, in order

    def blocks(self, data: CollocationData) -> tuple:
        """((name, size), ...) of the consecutive residual blocks: the interior points, then
        each penalty condition (their per-block losses are in the history)."""
        return (("interior", data.x.shape[0]),) + self.penalty_blocks

    # ---- the trial solution at one point (autodiff backend) -------------------------------
    def _psi_single(self, theta, x):
        n = _nets.apply_single(self.net, theta, x)
        if self.trial is None:
            return n
        return self.trial.A(x) + self.trial.B(x) * n

    # ---- residuals ------------------------------------------------------------------------
    def _jets(self, theta, data: CollocationData):
        """(interior ψ jet, boundary ψ jet) by the chosen backend."""
        if self.backend == "autodiff":
            psi = functools.partial(self._psi_single, theta)
            return jax.vmap(functools.partial(jet_of, psi))(data.x), jax.vmap(
                functools.partial(jet_of, psi)
            )(data.xb)
        jet_int = _psi_jet(data.A, data.B, *kernels.jet(self.net, theta, data.x))
        jet_b = _psi_jet(data.Ab, data.Bb, *kernels.jet(self.net, theta, data.xb))
        return jet_int, jet_b

    def _boundary_residual(self, jet_b: Jet, data: CollocationData):
        flux = jnp.sum(data.nb * jet_b.grad, axis=1)
        return data.wb * (data.c0 * jet_b.value + data.c1 * flux - data.gb)

    def _residuals_and_weights(self, theta, data: CollocationData):
        jet_int, jet_b = self._jets(theta, data)
        r_int, dF = _eval_equation(self.problem, data.x, jet_int)
        r_b = self._boundary_residual(jet_b, data)
        return jnp.concatenate([r_int, r_b]), dF

    def residuals(self, theta, data: CollocationData) -> Array:
        """All residuals, interior then weighted boundary penalties: (P + Q,).

        With the kernels backend, ``jax.grad``/``jax.vjp`` through it use the hand-written
        operator VJPs (a ``jax.custom_vjp``)."""
        if self.backend == "autodiff":
            return self._residuals_and_weights(theta, data)[0]
        return _residuals_kernels(self, theta, data)

    def boundary_weights(self, data: CollocationData):
        """(α_b, β_b) of the boundary penalty residuals' θ-derivative."""
        flux_b = jnp.sum(data.nb * data.Bb.grad, axis=1)
        alpha = data.wb * (data.c0 * data.Bb.value + data.c1 * flux_b)
        beta = (data.wb * data.c1 * data.Bb.value)[:, None] * data.nb
        return alpha, beta

    def jacobian(self, theta, data: CollocationData) -> Array:
        """The residual Jacobian ∂r/∂θ: (P + Q, NT)."""
        return self.residuals_and_jacobian(theta, data)[1]

    def residuals_and_jacobian(self, theta, data: CollocationData):
        """(r (P + Q,), J (P + Q, NT)) in one pass."""
        if self.backend == "autodiff":
            return self.residuals(theta, data), _autodiff_jacobian(self, theta, data)
        r, dF = self._residuals_and_weights(theta, data)
        alpha, beta, h, lap = _operator_weights(dF, data.B, self.used)
        J_int = kernels.operator_rows(
            self.net, theta, data.x, value=alpha, grad=beta, hessian=h, laplacian=lap
        )
        ab, bb = self.boundary_weights(data)
        J_b = kernels.operator_rows(self.net, theta, data.xb, value=ab, grad=bb)
        return r, jnp.concatenate([J_int, J_b], axis=0)

    def loss(self, theta, data: CollocationData) -> Array:
        """½·mean(r²) over all residuals (a scalar)."""
        r = self.residuals(theta, data)
        return 0.5 * jnp.mean(r * r)

    # ---- matrix-free products and the Gauss-Newton matrix ---------------------------------
    def linearize(self, theta, data: CollocationData):
        """(r, jvp, vjp): the residuals (R,) at θ and the linear maps v ↦ J v ((NT,) → (R,))
        and u ↦ Jᵀu ((R,) → (NT,)) of the residual Jacobian J at θ, never forming J.

        The pointwise weights (α, β, h, λ) are computed once here; each product is then one
        pass of :func:`nnpde.kernels.operator_jvp` / :func:`~nnpde.kernels.operator_vjp`
        (interior, then boundary penalty points). The autodiff backend uses
        ``jax.linearize`` and its transpose. Used by the matrix-free Gauss-Newton step
        (``method="gn-cg"``), which applies JᵀJ many times at one θ.
        """
        if self.backend == "autodiff":
            r, jvp = jax.linearize(lambda t: self._residuals_and_weights(t, data)[0], theta)
            transpose = jax.linear_transpose(jvp, theta)
            return r, jvp, lambda u: transpose(u)[0]
        r, dF = self._residuals_and_weights(theta, data)
        weights = _operator_weights(dF, data.B, self.used)
        ab, bb = self.boundary_weights(data)
        p = data.x.shape[0]
        alpha, beta, h, lap = weights

        def jvp(v):
            j_int = kernels.operator_jvp(self.net, theta, data.x, v, value=alpha, grad=beta,
                                         hessian=h, laplacian=lap)  # fmt: skip
            j_b = kernels.operator_jvp(self.net, theta, data.xb, v, value=ab, grad=bb)
            return jnp.concatenate([j_int, j_b])

        def vjp(u):
            return _weighted_vjp(self, theta, data, weights, u[:p], u[p:])

        return r, jvp, vjp

    def jvp(self, theta, data: CollocationData, v) -> Array:
        """J v: the residual Jacobian at θ times a direction v (NT,), shape (P + Q,).

        Equals ``jacobian(theta, data) @ v`` without forming J (:func:`kernels.operator_jvp`
        with the weights of :meth:`residuals_and_jacobian`, plus the boundary block)."""
        return self.linearize(theta, data)[1](v)

    def vjp(self, theta, data: CollocationData, u) -> Array:
        """Jᵀu for u of shape (P + Q,): shape (NT,), without forming J
        (:func:`kernels.operator_vjp`, as the loss's custom VJP)."""
        return self.linearize(theta, data)[2](u)

    def gram(self, theta, data: CollocationData):
        """(½·mean(r²), JᵀJ (NT, NT), Jᵀr (NT,)) at θ, in bounded memory.

        The kernels backend accumulates JᵀJ and Jᵀr over blocks of points
        (:func:`kernels.operator_gram`), so the (P, NT) Jacobian is never held: memory
        O(chunk·NT + NT²) for any P. The autodiff backend forms J. JᵀJ is exactly
        symmetric."""
        r, JTJ, JTr = self.gram_with_residuals(theta, data)
        return 0.5 * jnp.mean(r * r), JTJ, JTr

    def gram_with_residuals(self, theta, data: CollocationData):
        """(r (P + Q,), JᵀJ (NT, NT), Jᵀr (NT,)) at θ: :meth:`gram` with the residuals."""
        if self.backend == "autodiff":
            r, J = self.residuals_and_jacobian(theta, data)
            JTJ = J.T @ J
            return r, 0.5 * (JTJ + JTJ.T), J.T @ r
        r, dF = self._residuals_and_weights(theta, data)
        alpha, beta, h, lap = _operator_weights(dF, data.B, self.used)
        p = data.x.shape[0]
        JTJ, JTr = kernels.operator_gram(self.net, theta, data.x, r[:p], value=alpha,
                                         grad=beta, hessian=h, laplacian=lap)  # fmt: skip
        ab, bb = self.boundary_weights(data)
        JTJ_b, JTr_b = kernels.operator_gram(self.net, theta, data.xb, r[p:], value=ab, grad=bb)
        return r, JTJ + JTJ_b, JTr + JTr_b

    def gram_diagonal(self, theta, data: CollocationData) -> Array:
        """diag(JᵀJ) = Σ_p J_pk², the squared column norms of J: shape (NT,).

        The Jacobi preconditioner of the matrix-free step. The kernels backend forms the
        rows of J one block of points at a time and keeps only their squared column sums
        (memory O(chunk·NT)); the autodiff backend forms J."""
        if self.backend == "autodiff":
            J = self.jacobian(theta, data)
            return jnp.sum(J * J, axis=0)
        _, dF = self._residuals_and_weights(theta, data)
        alpha, beta, h, lap = _operator_weights(dF, data.B, self.used)
        ab, bb = self.boundary_weights(data)
        return _column_sq_sums(self.net, theta, data.x, alpha, beta, h, lap) + \
            _column_sq_sums(self.net, theta, data.xb, ab, bb, None, None)  # fmt: skip

    # ---- sharding over points (nnpde.distributed) -------------------------------------------
    def shard_specs(self, data: CollocationData, axis: str):
        """PartitionSpecs of ``data`` for a mesh run: the interior points and their jets are
        split over mesh axis ``axis``; the (few) boundary penalty points are replicated."""
        from jax.sharding import PartitionSpec

        split, whole = PartitionSpec(axis), PartitionSpec()
        tree = jax.tree_util.tree_map(lambda _: whole, data)
        return tree._replace(x=split, A=jax.tree_util.tree_map(lambda _: split, data.A),
                             B=jax.tree_util.tree_map(lambda _: split, data.B))  # fmt: skip

    def mask_replicated(self, data: CollocationData, keep) -> CollocationData:
        """``data`` with the replicated boundary rows' weights zeroed unless ``keep`` (a bool
        scalar): on all shards but the first they then give exact zeros (residuals, Jacobian
        rows), so sums over shards count each boundary point once."""
        return data._replace(wb=jnp.where(keep, data.wb, jnp.zeros_like(data.wb)))


def _autodiff_jacobian(col: Collocation, theta, data: CollocationData):
    """J by autodiff: each residual depends on θ and its own point only."""
    psi = col._psi_single

    def r_int(t, xp):
        u = jet_of(functools.partial(psi, t), xp)
        return jnp.asarray(col.problem.equation(xp, u)).astype(xp.dtype)

    def r_b(t, xp, n, g, c0, c1, w):
        u = jet_of(functools.partial(psi, t), xp)
        return w * (c0 * u.value + c1 * jnp.dot(n, u.grad) - g)

    J_int = jax.vmap(jax.grad(r_int), in_axes=(None, 0))(theta, data.x)
    J_b = jax.vmap(jax.grad(r_b), in_axes=(None, 0, 0, 0, 0, 0, 0))(
        theta, data.xb, data.nb, data.gb, data.c0, data.c1, data.wb
    )
    return jnp.concatenate([J_int, J_b], axis=0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _residuals_kernels(col: Collocation, theta, data: CollocationData):
    return col._residuals_and_weights(theta, data)[0]


def _residuals_fwd(col, theta, data):
    r, dF = col._residuals_and_weights(theta, data)
    return r, (theta, dF, data)


def _weighted_vjp(col: Collocation, theta, data: CollocationData, weights, ct_int, ct_b):
    """Jᵀ(ct_int, ct_b) from the interior operator weights (α, β, h, λ) (kernels backend)."""
    alpha, beta, h, lap = weights

    def scale(w, c):
        return None if w is None else w * c.reshape(c.shape + (1,) * (w.ndim - 1))

    g = kernels.operator_vjp(
        col.net, theta, data.x,
        value=scale(alpha, ct_int), grad=scale(beta, ct_int),
        hessian=scale(h, ct_int), laplacian=scale(lap, ct_int),
    )  # fmt: skip
    ab, bb = col.boundary_weights(data)
    return g + kernels.operator_vjp(col.net, theta, data.xb, value=ab * ct_b,
                                    grad=bb * ct_b[:, None])  # fmt: skip


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


def _residuals_bwd(col, saved, ct):
    theta, dF, data = saved
    p = data.x.shape[0]
    weights = _operator_weights(dF, data.B, col.used)
    g = _weighted_vjp(col, theta, data, weights, ct[:p], ct[p:])
    return g, jax.tree_util.tree_map(jnp.zeros_like, data)


_residuals_kernels.defvjp(_residuals_fwd, _residuals_bwd)


# Points per block of the set-up's trial jets: autodiff of A and B holds several (block, D, D)
# intermediates at once, so the set-up's peak memory is the jets themselves plus O(block).
SETUP_BLOCK = 1 << 14


def _trivial_jets(n: int, d: int, dtype, trial: TrialSolution | None, x):
    """Jets of A and B at the points x (n, D): zeros and ones without a trial solution, else
    by autodiff, ``SETUP_BLOCK`` points at a time (``lax.map``), so the set-up never holds the
    autodiff intermediates of all n points at once."""
    if trial is None or n == 0:
        zero = jnp.zeros((n,), dtype)
        A = Jet(zero, jnp.zeros((n, d), dtype), jnp.zeros((n, d, d), dtype), zero)
        B = Jet(jnp.ones((n,), dtype), A.grad, A.hessian, zero)
        return A, B
    return _trial_jets(trial, x)


def _trial_jets(trial: TrialSolution, x):
    return _trial_jets_blocked(trial, x, min(SETUP_BLOCK, x.shape[0]))


@functools.partial(jax.jit, static_argnums=(0, 2))
def _trial_jets_blocked(trial: TrialSolution, x, block: int):
    """(jet of A, jet of B) at x (n, D), ``block`` points at a time written in place into
    the (n, ...) outputs (a ``fori_loop`` of ``dynamic_update_slice``): peak memory is the
    outputs plus one block's autodiff intermediates. The last block starts at n - block, so
    no padding or remainder copy is needed (a few points are computed twice, identically)."""
    n = x.shape[0]
    jets = jax.vmap(lambda p: (jet_of(trial.A, p), jet_of(trial.B, p)))
    shapes = jax.eval_shape(jets, x[:block])
    out = jax.tree_util.tree_map(lambda s: jnp.zeros((n,) + s.shape[1:], s.dtype), shapes)

    def body(i, out):
        start = jnp.minimum(i * block, n - block)
        new = jets(jax.lax.dynamic_slice_in_dim(x, start, block))
        return jax.tree_util.tree_map(
            lambda o, v: jax.lax.dynamic_update_slice_in_dim(o, v, start, 0), out, new
        )

    return jax.lax.fori_loop(0, -(-n // block), body, out)


def check_trial_finite(problem: Problem, x, A: Jet, B: Jet) -> None:
    """A ValueError naming the condition imposed exactly whose data is NaN or Inf, if the
    trial solution's jets at the points x (P, D) are not all finite (before, such a point was
    blamed on the equation)."""
    if x.shape[0] == 0:
        return
    first_bad = int(_first_non_finite(A, B))
    if first_bad < x.shape[0]:
        from nnpde.trial import blame_exact_data

        raise ValueError(blame_exact_data(problem, np.asarray(x[first_bad])))


@jax.jit
def _first_non_finite(A: Jet, B: Jet):
    """Index of the first point where a jet is not finite, or P if none (one fused pass)."""
    ok = jnp.ones(A.value.shape, bool)
    for leaf in jax.tree_util.tree_leaves((A, B)):  # (Jet.high is None here)
        ok = ok & jnp.all(jnp.isfinite(leaf.reshape(leaf.shape[0], -1)), axis=1)
    return jnp.where(jnp.all(ok), ok.shape[0], jnp.argmin(ok))


def _select(domain, bc, sample):
    where = bc.where
    if where is None:
        return np.ones(len(sample.x), bool)
    if isinstance(where, str):
        return sample.face == domain.canonical_face(where)
    return np.array([bool(where(p)) for p in sample.x])


def penalty_condition(problem: Problem, bc, sample, dtype):
    """A condition imposed by penalty, at its boundary points of ``sample``: (points (Q, D),
    normals (Q, D), targets g (Q,), c0, c1) for residuals w (c0 ψ + c1 n·∇ψ - g)."""
    mask = _select(problem.domain, bc, sample)
    if not mask.any():
        raise ValueError(f"no boundary point satisfies where={bc.where!r} of {bc!r}")
    pts = sample.x[mask]
    if isinstance(bc, Dirichlet):
        fn, c0, c1, field = bc.value, 1.0, 0.0, "value"
    elif isinstance(bc, Neumann):
        fn, c0, c1, field = bc.flux, 0.0, 1.0, "flux"
    elif isinstance(bc, Robin):
        fn, c0, c1, field = bc.value, float(bc.alpha), float(bc.beta), "value"
    else:  # Initial on a domain without exact imposition
        raise ValueError(f"{type(bc).__name__} cannot be imposed on {problem.domain!r}")
    what = f"{describe(bc)} {field}"
    check_pointwise(fn, what, problem.dim, dtype)
    values = np.asarray(jax.jit(jax.vmap(lambda p: jnp.asarray(fn(p), dtype)))(
        jnp.asarray(pts, dtype)))  # fmt: skip
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{what} is NaN or Inf at {int(bad.sum())} of its {len(values)} "
                         f"boundary points, e.g. x = {pts[bad][0].tolist()}")  # fmt: skip
    return pts, sample.normal[mask], values, c0, c1


def make_collocation(
    problem: Problem,
    net,
    x: Array,
    *,
    boundary_points: int = 64,
    key=None,
    backend: str = "kernels",
    dtype=None,
) -> tuple[Collocation, CollocationData]:
    """Builds the static :class:`Collocation` and its :class:`CollocationData`.

    Args:
      problem: the problem.
      net: a ``TwoLayerNet`` of the problem's dimension.
      x: interior collocation points (P, D).
      boundary_points: points on the boundary for penalty conditions (Neumann, Robin, and
        Dirichlet that the trial solution does not impose).
      key: PRNG key for the boundary points (None: deterministic low-discrepancy points).
      backend: "kernels" (hand-written) or "autodiff".
      dtype: float dtype of the data (default: that of ``x``).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    dtype = jnp.asarray(x).dtype if dtype is None else jnp.dtype(dtype)
    from nnpde import high_order  # partials of order 3-4 or an OperatorBC (issue 18, item 2)

    if high_order.needs_high_order(problem, dtype):
        return high_order.make_high_order(problem, net, x, boundary_points=boundary_points,
                                          key=key, backend=backend, dtype=dtype)  # fmt: skip
    x = jnp.asarray(x, dtype)
    d = problem.dim
    trial, rest = build_trial(problem)
    check_equation(problem, dtype)
    used = _used_fields(problem, dtype)
    need = 3 if used & {"hessian", "laplacian"} else 2 if "grad" in used else 1
    act = get_activation(net.activation)
    if act.order < need:
        raise ValueError(
            f"the equation uses {sorted(used)} of the solution; its θ-derivatives need the "
            f"activation's derivative of order {need}, but {act.name!r} is valid only "
            f"up to order {act.order}; use a smooth activation such as 'tanh'"
        )
    A, B = _trivial_jets(x.shape[0], d, dtype, trial, x)
    if trial is not None:
        check_trial_finite(problem, x, A, B)

    xb, nb, gb, c0, c1, wb, names = [], [], [], [], [], [], []
    if rest:
        sample = problem.domain.sample_boundary(boundary_points, key=key)
        for bc in rest:
            pts, normals, values, a0, a1 = penalty_condition(problem, bc, sample, dtype)
            xb.append(pts)
            nb.append(normals)
            gb.append(values)
            c0.append(np.full(len(pts), a0))
            c1.append(np.full(len(pts), a1))
            wb.append(np.full(len(pts), float(bc.weight)))
            names.append((condition_name(bc), len(pts)))

    def cat(parts, shape):
        if not parts:
            return jnp.zeros(shape, dtype)
        return jnp.asarray(np.concatenate(parts), dtype)

    xb_a = cat(xb, (0, d))
    Ab, Bb = _trivial_jets(xb_a.shape[0], d, dtype, trial, xb_a)
    if trial is not None:
        check_trial_finite(problem, xb_a, Ab, Bb)
    data = CollocationData(
        x=x, A=A, B=B, xb=xb_a, nb=cat(nb, (0, d)), gb=cat(gb, (0,)), c0=cat(c0, (0,)),
        c1=cat(c1, (0,)), wb=cat(wb, (0,)), Ab=Ab, Bb=Bb,
    )  # fmt: skip
    return Collocation(problem, net, trial, used, backend, tuple(names)), data


def condition_name(bc) -> str:
    """A short name of a penalty condition for the history: ``"Neumann(x0_max)"``."""
    where = bc.where if isinstance(getattr(bc, "where", None), str) else \
        ("all" if getattr(bc, "where", None) is None else "where")  # fmt: skip
    return f"{type(bc).__name__}({where})"

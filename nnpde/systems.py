"""Collocation for systems, inverse problems, observations and periodic conditions.

The general model behind :func:`nnpde.solve` when a problem has K > 1 unknown functions,
unknown coefficients φ (``Problem(params=...)``), observations (``Problem(data=...)``) or a
:class:`~nnpde.Periodic` condition. Component k is ψ_k = A_k + B_k N(x, θ_k), one network per
component (the same :class:`~nnpde.TwoLayerNet` spec), and the unknowns are
Θ = (θ_1, ..., θ_K, φ).

Residuals, in this order:

- interior: r_{e,p} = F_e(x_p, ψ_1, ..., ψ_K; φ) for each equation e (e-major, (E·P,));
- penalties, per component: w (c0 ψ_k + c1 n·∇ψ_k - g) at boundary points (Dirichlet not
  imposed exactly, Neumann, Robin), observations w_d (ψ_k(x_obs) - u_obs), and periodic pairs
  w (ψ_k(x) - ψ_k(x')), w (∂_i ψ_k(x) - ∂_i ψ_k(x')) with x' = x + L_i e_i.

The Jacobian is exact and block structured: ∂r_e/∂θ_k is a row of the operator kernel with the
weights (α, β, h, λ) of ∂F_e/∂(ψ_k's jet) (as in :mod:`nnpde.collocation`, one
:func:`nnpde.kernels.operator_rows` call per component for all equations), ∂r_e/∂φ = ∂F_e/∂φ
comes from autodiff of the small pointwise F, and a penalty row of component k touches θ_k only.
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
from nnpde.collocation import (
    _operator_weights,
    _psi_jet,
    _trivial_jets,
    check_trial_finite,
    condition_name,
    penalty_condition,
)
from nnpde.problem import Jet, Periodic, Problem, check_residual_type, jet_of, traced
from nnpde.trial import TrialSolution, build_trial

__all__ = ["SystemCollocation", "SystemData", "make_system"]

Array = jax.Array


class Penalty(NamedTuple):
    """Penalty residuals of one component: w (c0 ψ + c1 n·∇ψ - s (c0 ψ' + c1 n·∇ψ') - g) with
    ψ' = ψ at the partner point x2 (periodic pairs: s = 1; otherwise s = 0)."""

    x: Array  # (Q, D)
    n: Array  # (Q, D) normal (or axis direction)
    g: Array  # (Q,)
    c0: Array  # (Q,)
    c1: Array  # (Q,)
    w: Array  # (Q,)
    s: Array  # (Q,) 1 for a periodic pair, else 0
    x2: Array  # (Q, D) partner point
    A: Jet  # jets of A, B at x and x2
    B: Jet
    A2: Jet
    B2: Jet


class SystemData(NamedTuple):
    """Arrays of a general collocation problem (θ-independent)."""

    x: Array  # (P, D)
    A: tuple  # K Jets of A_k at x
    B: tuple  # K Jets of B_k at x
    pen: tuple  # K Penalty blocks


def _as_jets(u, k: int):
    return u[0] if k == 1 else tuple(u)


@dataclasses.dataclass(frozen=True, eq=False)
class SystemCollocation:
    """Static part of a general problem (hashed by identity; a jit static argument)."""

    problem: Problem
    net: object
    trials: tuple  # K TrialSolution | None
    used: frozenset
    n_eq: int
    backend: str = "kernels"
    penalty_blocks: tuple = ()  # ((name, rows), ...) of every component's penalties, in order

    def blocks(self, data) -> tuple:
        """((name, size), ...): each equation's interior residuals, then the penalties."""
        p = data.x.shape[0]
        return tuple((f"interior[{e}]", p) for e in range(self.n_eq)) + self.penalty_blocks

    @property
    def k(self) -> int:
        return self.problem.components

    @property
    def n_net(self) -> int:
        return self.net.num_params

    def split(self, theta):
        """(θ_1, ..., θ_K), φ dict."""
        nt = self.n_net
        thetas = tuple(theta[i * nt:(i + 1) * nt] for i in range(self.k))
        phi = theta[self.k * nt:]
        return thetas, {n: phi[i] for i, n in enumerate(self.problem.param_names)}

    def _call(self, x, u, phi):
        r = (self.problem.equation(x, _as_jets(u, self.k), phi) if self.problem.params
             else self.problem.equation(x, _as_jets(u, self.k)))  # fmt: skip
        return jnp.atleast_1d(jnp.asarray(r)).astype(x.dtype)

    # ---- jets ----------------------------------------------------------------------------------
    def _psi_single(self, theta_k, k, x):
        n = _nets.apply_single(self.net, theta_k, x)
        t = self.trials[k]
        return n if t is None else t.A(x) + t.B(x) * n

    def _jets(self, theta_k, k, x, A: Jet, B: Jet) -> Jet:
        if self.backend == "autodiff":
            return jax.vmap(functools.partial(jet_of, functools.partial(self._psi_single,
                                                                        theta_k, k)))(x)
        return _psi_jet(A, B, *kernels.jet(self.net, theta_k, x))

    # ---- residuals -----------------------------------------------------------------------------
    def _penalty_residual(self, theta_k, k, pen: Penalty):
        u = self._jets(theta_k, k, pen.x, pen.A, pen.B)
        u2 = self._jets(theta_k, k, pen.x2, pen.A2, pen.B2)
        here = pen.c0 * u.value + pen.c1 * jnp.sum(pen.n * u.grad, axis=1)
        there = pen.c0 * u2.value + pen.c1 * jnp.sum(pen.n * u2.grad, axis=1)
        return pen.w * (here - pen.s * there - pen.g)

    def _interior(self, theta, data: SystemData):
        thetas, phi = self.split(theta)
        jets = tuple(self._jets(thetas[k], k, data.x, data.A[k], data.B[k]) for k in range(self.k))
        return thetas, phi, jets

    def residuals(self, theta, data: SystemData) -> Array:
        """All residuals: interior (E·P,), then each component's penalties."""
        thetas, phi, jets = self._interior(theta, data)
        r = jax.vmap(self._call, in_axes=(0, 0, None))(data.x, jets, phi)  # (P, E)
        parts = [r.T.reshape(-1)]
        parts += [self._penalty_residual(thetas[k], k, data.pen[k]) for k in range(self.k)]
        return jnp.concatenate(parts)

    def loss(self, theta, data: SystemData) -> Array:
        """½·mean(r²)."""
        r = self.residuals(theta, data)
        return 0.5 * jnp.mean(r * r)

    def residuals_and_jacobian(self, theta, data: SystemData):
        """(r (R,), J (R, K·NT + m)), the exact block Jacobian."""
        if self.backend == "autodiff":
            r = self.residuals(theta, data)
            return r, jax.jacrev(self.residuals)(theta, data)
        thetas, phi, jets = self._interior(theta, data)
        p, e, nt, m = data.x.shape[0], self.n_eq, self.n_net, len(phi)
        # r and its derivatives with respect to the jets and φ, per point: (P, E, ...)
        jac = jax.vmap(jax.jacrev(self._call, argnums=(1, 2)), in_axes=(0, 0, None))
        r = jax.vmap(self._call, in_axes=(0, 0, None))(data.x, jets, phi)
        d_jets, d_phi = jac(data.x, jets, phi)
        cols = []
        x_rep = jnp.tile(data.x, (e, 1))
        for k in range(self.k):
            # weights of all equations for component k, stacked e-major: (E·P, ...)
            dF = jax.tree_util.tree_map(lambda a: jnp.moveaxis(a, 1, 0).reshape((e * p,)
                                                                               + a.shape[2:]),
                                        d_jets[k])  # fmt: skip
            B = jax.tree_util.tree_map(lambda a: jnp.tile(a, (e,) + (1,) * (a.ndim - 1)),
                                       data.B[k])  # fmt: skip
            a, b, h, lap = _operator_weights(Jet(*dF), B, self.used)
            cols.append(kernels.operator_rows(self.net, thetas[k], x_rep, value=a, grad=b,
                                              hessian=h, laplacian=lap))  # fmt: skip
        if m:
            cols.append(jnp.stack([jnp.moveaxis(d_phi[n], 1, 0).reshape(e * p)
                                   for n in self.problem.param_names], axis=1))  # fmt: skip
        blocks = [jnp.concatenate(cols, axis=1)]
        rows = [r.T.reshape(-1)]
        for k in range(self.k):
            pen = data.pen[k]
            rows.append(self._penalty_residual(thetas[k], k, pen))
            Jk = _penalty_rows(self.net, thetas[k], pen)
            left = jnp.zeros((Jk.shape[0], k * nt), Jk.dtype)
            right = jnp.zeros((Jk.shape[0], (self.k - 1 - k) * nt + m), Jk.dtype)
            blocks.append(jnp.concatenate([left, Jk, right], axis=1))
        return jnp.concatenate(rows), jnp.concatenate(blocks, axis=0)


def _penalty_rows(net, theta_k, pen: Penalty):
    """θ_k-rows of penalty residuals: w[(c0 B + c1 n·∇B) ∂N + c1 B n·∂∇N] at x, minus s·(same)
    at x2."""

    def weights(B: Jet, scale):
        alpha = scale * (pen.c0 * B.value + pen.c1 * jnp.sum(pen.n * B.grad, axis=1))
        beta = (scale * pen.c1 * B.value)[:, None] * pen.n
        return alpha, beta

    a1, b1 = weights(pen.B, pen.w)
    a2, b2 = weights(pen.B2, -pen.w * pen.s)
    x = jnp.concatenate([pen.x, pen.x2])
    rows = kernels.operator_rows(net, theta_k, x, value=jnp.concatenate([a1, a2]),
                                 grad=jnp.concatenate([b1, b2]))  # fmt: skip
    q = pen.x.shape[0]
    return rows[:q] + rows[q:]


# ---- building ----------------------------------------------------------------------------------
def _used_and_equations(problem: Problem, dtype):
    """Union over components of the Jet fields the equation reads, and E."""
    d, k = problem.dim, problem.components
    x0 = jnp.zeros((d,), dtype)
    u0 = tuple(Jet(jnp.zeros((), dtype), jnp.zeros((d,), dtype), jnp.zeros((d, d), dtype),
                   jnp.zeros((), dtype)) for _ in range(k))  # fmt: skip
    p0 = {n: jnp.zeros((), dtype) for n in problem.param_names}

    def call(x, u, p):
        r = problem.equation(x, _as_jets(u, k), p) if problem.params else \
            problem.equation(x, _as_jets(u, k))  # fmt: skip
        check_residual_type(r)
        try:
            if isinstance(r, (str, bytes)):  # jnp.asarray("a") reads "a" as a dtype name
                raise TypeError(type(r).__name__)
            r = jnp.asarray(r)
        except (TypeError, ValueError, Warning):
            raise TypeError(f"the equation must return a scalar or a vector (E,) of real "
                            f"residuals for one point, got a {type(r).__name__}") from None
        check_residual_type(r)
        return jnp.atleast_1d(r)

    out = traced(call, "the equation", x0, u0, p0)
    closed = jax.make_jaxpr(call)(x0, u0, p0)
    if out.ndim != 1:
        raise ValueError(f"the equation must return a scalar or a vector (E,) of residuals for "
                         f"one point, got shape {out.shape}")  # fmt: skip
    jaxpr = closed.jaxpr
    used_vars = set()
    for eqn in jaxpr.eqns:
        used_vars.update(v for v in eqn.invars if isinstance(v, jex_core.Var))
    used_vars.update(v for v in jaxpr.outvars if isinstance(v, jex_core.Var))
    fields = Jet._fields
    jet_vars = jaxpr.invars[1:1 + 4 * k]
    used = frozenset(fields[i % 4] for i, v in enumerate(jet_vars) if v in used_vars)
    return used, int(out.shape[0])


def _component_problem(problem: Problem, k: int) -> Problem:
    bcs = [bc for bc in problem.boundary if bc.component == k and not isinstance(bc, Periodic)]
    bcs = [dataclasses.replace(bc, component=0) for bc in bcs]
    return Problem(problem.domain, lambda x, u: u.value, boundary=bcs, trial=None,
                   name=f"{problem.name}[{k}]")  # fmt: skip


def _periodic_points(domain, bc: Periodic, n: int, key):
    sample = domain.sample_boundary(n, key=key)
    face = domain.canonical_face(f"x{bc.axis}_min")
    x = sample.x[sample.face == face]
    if len(x) == 0:
        raise ValueError(f"no boundary points on the lower face of axis {bc.axis}")
    x2 = x.copy()
    x2[:, bc.axis] = domain.upper[bc.axis]
    return x, x2


def make_system(problem: Problem, net, x, *, boundary_points: int = 64, key=None,
                backend: str = "kernels", dtype=None):  # fmt: skip
    """Builds (:class:`SystemCollocation`, :class:`SystemData`, Θ's φ part (m,))."""
    dtype = jnp.asarray(x).dtype if dtype is None else jnp.dtype(dtype)
    x = jnp.asarray(x, dtype)
    d, kk = problem.dim, problem.components
    used, n_eq = _used_and_equations(problem, dtype)
    need = 3 if used & {"hessian", "laplacian"} else 2 if "grad" in used else 1
    act = get_activation(net.activation)
    if act.order < need:
        raise ValueError(f"the equation uses {sorted(used)}; its θ-derivatives need the "
                         f"activation's derivative of order {need}, but {act.name!r} is valid "
                         f"only up to order {act.order}")  # fmt: skip
    trials, A, B, pens, names = [], [], [], [], []
    sample = None
    for k in range(kk):
        sub = _component_problem(problem, k)
        trial, rest = build_trial(sub)
        trials.append(trial)
        a, b = _trivial_jets(x.shape[0], d, dtype, trial, x)
        if trial is not None:
            check_trial_finite(sub, x, a, b)
        A.append(a)
        B.append(b)
        rows = []  # (x, n, g, c0, c1, w, s, x2)
        for bc in rest:
            if sample is None:
                sample = problem.domain.sample_boundary(boundary_points, key=key)
            pts, normals, g, c0, c1 = penalty_condition(problem, bc, sample, dtype)
            rows.append((pts, normals, g, c0, c1, bc.weight, 0.0, pts))
            names.append((f"u{k}: {condition_name(bc)}", len(pts)))
        for bc in problem.boundary:
            if isinstance(bc, Periodic) and bc.component == k:
                p1, p2 = _periodic_points(problem.domain, bc, boundary_points, key)
                e = np.zeros_like(p1)
                e[:, bc.axis] = 1.0
                zero = np.zeros(len(p1))
                rows.append((p1, e, zero, 1.0, 0.0, bc.weight, 1.0, p2))
                names.append((f"u{k}: Periodic(x{bc.axis})", len(p1)))
                if bc.derivative:
                    rows.append((p1, e, zero, 0.0, 1.0, bc.weight, 1.0, p2))
                    names.append((f"u{k}: Periodic(x{bc.axis}, derivative)", len(p1)))
        if problem.data is not None:
            xo, uo = problem.data
            rows.append((xo, np.zeros_like(xo), uo[:, k], 1.0, 0.0, problem.data_weight, 0.0, xo))
            names.append((f"u{k}: data", len(xo)))
        pens.append(_penalty(rows, d, dtype, trial))
    col = SystemCollocation(problem, net, tuple(trials), used, n_eq, backend, tuple(names))
    data = SystemData(x, tuple(A), tuple(B), tuple(pens))
    phi = jnp.asarray([problem.params[n] for n in problem.param_names], dtype)
    return col, data, phi


def _penalty(rows, d, dtype, trial: TrialSolution | None) -> Penalty:
    def col(i, shape):
        if not rows:
            return np.zeros(shape)
        return np.concatenate(
            [np.broadcast_to(np.asarray(r[i], float), (len(r[0]),) + shape[1:]) for r in rows]
        )

    x = jnp.asarray(col(0, (0, d)), dtype)
    x2 = jnp.asarray(col(7, (0, d)), dtype)
    A, B = _trivial_jets(x.shape[0], d, dtype, trial, x)
    A2, B2 = _trivial_jets(x2.shape[0], d, dtype, trial, x2)
    arr = [jnp.asarray(col(i, (0,)), dtype) for i in (2, 3, 4, 5, 6)]
    return Penalty(x, jnp.asarray(col(1, (0, d)), dtype), *arr, x2, A, B, A2, B2)

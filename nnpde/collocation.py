"""The collocation model: residuals of a problem with K ≥ 1 unknowns, its loss and Jacobian.

Component k of the solution is ψ_k = A_k + B_k·N(x, θ_k) (A = 0, B = 1 where no condition
is imposed exactly), one network per component (the same spec), and the unknowns are
Θ = (θ_1, ..., θ_K, φ) with φ the problem's unknown coefficients (``Problem(params=...)``,
often none). K = 1 is the common case, not a separate model. The residuals, in this order:

- interior: r_{e,p} = F_e(x_p, ψ_1, ..., ψ_K; φ) for each equation e (e-major, (E·P,); one
  equation for K = 1);
- then, per component k: the point penalties w (c0 ψ_k + c1 n·∇ψ_k - g) (boundary conditions
  not imposed exactly, then observations, :mod:`nnpde.penalties`), and the periodic pairs
  w (c0 (ψ_k(x) - ψ_k(x')) + c1 n·(∇ψ_k(x) - ∇ψ_k(x'))), x' = x + L e_i.

How ψ and the θ-derivatives are computed is a strategy, :mod:`nnpde.derivatives`:
:class:`~nnpde.derivatives.Kernels` (the hand-written operator kernels of
:mod:`nnpde.kernels`; ``TwoLayerNet``) or :class:`~nnpde.derivatives.Autodiff` (``jax.grad``
/ ``jax.hessian`` at single points; any network). By the chain rule and the product rule
(A, B do not depend on θ),

    ∂r_p/∂θ_k = α_p ∂N/∂θ_k + β_p·∂∇N/∂θ_k + h_p:∂∇²N/∂θ_k + λ_p ∂ΔN/∂θ_k,
    α = F_u B + F_g·∇B + F_H:∇²B + F_Δ ΔB,   β = B F_g + (F_H + F_Hᵀ)∇B + 2 F_Δ ∇B,
    h = B F_H,   λ = B F_Δ,

where F_u, F_g, F_H, F_Δ are the derivatives of the small pointwise F with respect to the
fields of ψ_k's jet (by autodiff), and ∂r/∂φ = ∂F/∂φ. Jet fields the equation does not use
(found by inspecting its jaxpr) are dropped.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.extend.core as jex_core
import jax.numpy as jnp
import numpy as np

from nnpde import _nets
from nnpde.activations import require_order
from nnpde.derivatives import Autodiff, Kernels, for_backend
from nnpde.penalties import boundary_count, condition_name, penalty_condition, periodic_pairs
from nnpde.problem import Jet, Periodic, Problem, check_residual_type, traced
from nnpde.trial import TrialSolution, kept_trial

__all__ = ["Collocation", "CollocationData", "Pairs", "Penalty", "make_collocation"]

Array = jax.Array
BACKENDS = ("kernels", "autodiff")


class Penalty(NamedTuple):
    """Point penalties of one component: w (c0 ψ_k + c1 n·∇ψ_k - g) at x (boundary conditions
    imposed by penalty, then observations)."""

    x: Array  # (Q, D)
    n: Array  # (Q, D) outward normal (zero for observations)
    g: Array  # (Q,) targets
    c0: Array  # (Q,) coefficient of ψ
    c1: Array  # (Q,) coefficient of n·∇ψ
    w: Array  # (Q,) weights
    A: Jet  # jet of A_k at x: (Q,), (Q, D), (Q, D, D), (Q,)
    B: Jet  # jet of B_k at x


class Pairs(NamedTuple):
    """Periodic pairs of one component: w (c0 (ψ_k(x) - ψ_k(x2)) + c1 n·(∇ψ_k(x) - ∇ψ_k(x2)))."""

    x: Array  # (S, D) on the lower face
    x2: Array  # (S, D) the matching points on the upper face
    n: Array  # (S, D) the axis direction
    c0: Array  # (S,)
    c1: Array  # (S,)
    w: Array  # (S,)
    A: Jet  # jets of A_k, B_k at x and at x2
    B: Jet
    A2: Jet
    B2: Jet


class CollocationData(NamedTuple):
    """The arrays of a collocation problem (a pytree; θ-independent, computed once)."""

    x: Array  # (P, D) interior points
    A: tuple  # K Jets of A_k at x: (P,), (P, D), (P, D, D), (P,)
    B: tuple  # K Jets of B_k at x
    pen: tuple  # K Penalty blocks
    pairs: tuple  # K Pairs blocks


@dataclasses.dataclass(frozen=True)
class Collocation:
    """Static description of a collocation problem (a static jit argument); the arrays live
    in :class:`CollocationData`. Two models of the same problem object, network, trial
    solutions (kept per problem: :func:`nnpde.trial.kept_trial`) and block sizes are equal, so a
    second solve of a problem (another seed, ``starts``, the validation points) reuses the
    first one's compiled programs.

    Attributes:
      problem: the problem (K = ``problem.components`` unknowns).
      net: the network spec of every component.
      trials: K trial solutions (None where ψ_k = N).
      used: the Jet fields the equation reads (of any component).
      n_eq: E, the number of residuals per interior point.
      derivatives: the strategy (:class:`~nnpde.derivatives.Kernels` or
        :class:`~nnpde.derivatives.Autodiff`).
      penalty_blocks: ((name, rows), ...) of the penalty residuals, in order.
    """

    problem: Problem
    net: object
    trials: tuple
    used: frozenset
    n_eq: int = 1
    derivatives: Kernels | Autodiff = Kernels()  # noqa: RUF009 (frozen, hashable)
    penalty_blocks: tuple = ()

    # ---- static structure -----------------------------------------------------------------
    @property
    def k(self) -> int:
        """K, the number of unknown functions."""
        return self.problem.components

    @property
    def n_net(self) -> int:
        """NT of one component's network."""
        return self.net.num_params

    @property
    def backend(self) -> str:
        """The strategy's name: ``"kernels"`` or ``"autodiff"``."""
        return self.derivatives.name

    @property
    def trial(self):
        """The trial solution (K = 1) or the tuple of K trial solutions."""
        return self.trials[0] if self.k == 1 else self.trials

    def blocks(self, data: CollocationData) -> tuple:
        """((name, size), ...) of the consecutive residual blocks: the interior residuals
        (one block per equation), then each penalty condition and observation block."""
        p = data.x.shape[0]
        if self.n_eq == 1:
            return (("interior", p),) + self.penalty_blocks
        return tuple((f"interior[{e}]", p) for e in range(self.n_eq)) + self.penalty_blocks

    def trial_factors(self, data: CollocationData) -> tuple:
        """(B_1, ..., B_K): each component's trial factor at the interior points, (P,) each."""
        return tuple(b.value for b in data.B)

    def split(self, theta):
        """((θ_1, ..., θ_K), φ as a dict {name: scalar}) from Θ (K·NT + m,)."""
        nt = self.n_net
        thetas = tuple(theta[i * nt:(i + 1) * nt] for i in range(self.k))
        phi = theta[self.k * nt:]
        return thetas, {n: phi[i] for i, n in enumerate(self.problem.param_names)}

    # ---- pointwise pieces shared by the strategies ------------------------------------------
    def equation_at(self, x, u: tuple, phi: dict) -> Array:
        """F(x, ψ_1..ψ_K; φ) at one point x (D,) from K jets: the residuals (E,)."""
        jets = u[0] if self.k == 1 else tuple(u)
        r = self.problem.equation(x, jets, phi) if self.problem.params else \
            self.problem.equation(x, jets)  # fmt: skip
        return jnp.atleast_1d(jnp.asarray(r)).astype(x.dtype)

    def psi_point(self, theta_k, k: int, x):
        """ψ_k at one point x (D,): A_k(x) + B_k(x) N(x, θ_k), or N without a trial solution."""
        n = _nets.apply_single(self.net, theta_k, x)
        t = self.trials[k]
        return n if t is None else t.A(x) + t.B(x) * n

    def equation_derivatives(self, x, jets: tuple, phi: dict):
        """The interior residuals and their derivatives with respect to the jets and φ.

        Args:
          x: points (P, D); jets: K Jets of ψ_k at x; phi: the coefficients.

        Returns:
          (r (E·P,), dF: K Jets of ∂r/∂(ψ_k's jet) with leading axis E·P, dφ (E·P, m)),
          e-major (the rows of equation 0 first).
        """
        e, p, names = self.n_eq, x.shape[0], self.problem.param_names
        f = self.equation_at
        if e == 1:
            vg = jax.value_and_grad(lambda xp, up, ph: f(xp, up, ph)[0], argnums=(1, 2))
            r, (du, dph) = jax.vmap(vg, in_axes=(0, 0, None))(x, jets, phi)
        else:
            r = jax.vmap(f, in_axes=(0, 0, None))(x, jets, phi).T.reshape(e * p)
            du, dph = jax.vmap(jax.jacrev(f, argnums=(1, 2)), in_axes=(0, 0, None))(x, jets, phi)
            flat = lambda a: jnp.moveaxis(a, 1, 0).reshape((e * p,) + a.shape[2:])  # noqa: E731
            du, dph = jax.tree_util.tree_map(flat, (du, dph))
        dphi = jnp.stack([dph[n] for n in names], axis=1) if names else \
            jnp.zeros((e * p, 0), x.dtype)  # fmt: skip
        return r, tuple(Jet(*d) for d in du), dphi

    # ---- the model interface of nnpde.objective: delegated to the strategy -----------------
    def residuals(self, theta, data: CollocationData) -> Array:
        """All residuals (R,): interior (E·P,), then each component's penalties.

        With the kernels strategy, ``jax.grad``/``jax.vjp`` through it use the hand-written
        operator VJPs (a ``jax.custom_vjp``)."""
        return self.derivatives.residuals(self, theta, data)

    def residuals_and_jacobian(self, theta, data: CollocationData):
        """(r (R,), J (R, K·NT + m)) in one pass; J is exact and block structured (a penalty
        row of component k touches θ_k only)."""
        return self.derivatives.residuals_and_jacobian(self, theta, data)

    def jacobian(self, theta, data: CollocationData) -> Array:
        """The residual Jacobian ∂r/∂Θ: (R, K·NT + m)."""
        return self.residuals_and_jacobian(theta, data)[1]

    def loss(self, theta, data: CollocationData) -> Array:
        """½·mean(r²) over all residuals (a scalar)."""
        r = self.residuals(theta, data)
        return 0.5 * jnp.mean(r * r)

    def linearize(self, theta, data: CollocationData):
        """(r (R,), v ↦ J v ((K·NT + m,) → (R,)), u ↦ Jᵀu ((R,) → (K·NT + m,))) at θ, never
        forming J: the kernels strategy computes the pointwise weights (α, β, h, λ) once and
        each product is one pass of :func:`nnpde.kernels.operator_jvp` /
        :func:`~nnpde.kernels.operator_vjp` per component; autodiff uses ``jax.linearize``
        and its transpose. Used by the matrix-free step (``method="gn-cg"``)."""
        return self.derivatives.linearize(self, theta, data)

    def jvp(self, theta, data: CollocationData, v) -> Array:
        """J v for a direction v (K·NT + m,): shape (R,), without forming J."""
        return self.linearize(theta, data)[1](v)

    def vjp(self, theta, data: CollocationData, u) -> Array:
        """Jᵀu for u (R,): shape (K·NT + m,), without forming J."""
        return self.linearize(theta, data)[2](u)

    def gram(self, theta, data: CollocationData):
        """(½·mean(r²), JᵀJ (NT', NT'), Jᵀr (NT',)) at θ, NT' = K·NT + m: with the kernels
        strategy accumulated over blocks of points (memory O(chunk·NT' + NT'²) for any P),
        with autodiff from J. JᵀJ is exactly symmetric."""
        r, JTJ, JTr = self.gram_with_residuals(theta, data)
        return 0.5 * jnp.mean(r * r), JTJ, JTr

    def gram_with_residuals(self, theta, data: CollocationData):
        """(r (R,), JᵀJ, Jᵀr) at θ: :meth:`gram` with the residuals."""
        return self.derivatives.gram_with_residuals(self, theta, data)

    def gram_diagonal(self, theta, data: CollocationData) -> Array:
        """diag(JᵀJ), the squared column norms of J: shape (K·NT + m,). The Jacobi
        preconditioner of the matrix-free step; the kernels strategy forms the rows one block
        of points at a time (memory O(chunk·NT))."""
        return self.derivatives.gram_diagonal(self, theta, data)

    # ---- sharding over points (nnpde.distributed) -------------------------------------------
    def shard_specs(self, data: CollocationData, axis: str):
        """PartitionSpecs of ``data`` for a mesh run: the interior points and their jets are
        split over mesh axis ``axis``; the (few) penalty points are replicated."""
        from jax.sharding import PartitionSpec

        split, whole = PartitionSpec(axis), PartitionSpec()
        tree = jax.tree_util.tree_map(lambda _: whole, data)
        per_point = jax.tree_util.tree_map(lambda _: split, (data.x, data.A, data.B))
        return tree._replace(x=per_point[0], A=per_point[1], B=per_point[2])

    def mask_replicated(self, data: CollocationData, keep) -> CollocationData:
        """``data`` with the replicated penalty rows' weights zeroed unless ``keep`` (a bool
        scalar): on all shards but the first they then give exact zeros (residuals, Jacobian
        rows), so sums over shards count each penalty point once."""

        def mask(block):
            return block._replace(w=jnp.where(keep, block.w, jnp.zeros_like(block.w)))

        return data._replace(pen=tuple(map(mask, data.pen)), pairs=tuple(map(mask, data.pairs)))


# ---- building ----------------------------------------------------------------------------------
def _abstract_inputs(problem: Problem, dtype):
    d, k = problem.dim, problem.components
    x0 = jax.ShapeDtypeStruct((d,), dtype)
    jet = Jet(*(jax.ShapeDtypeStruct(s, dtype) for s in ((), (d,), (d, d), ())))
    return x0, (jet,) * k, {n: jax.ShapeDtypeStruct((), dtype) for n in problem.param_names}


def check_equation(problem: Problem, dtype) -> tuple[frozenset, int]:
    """(the Jet fields the equation reads, E) from its jaxpr, checked abstractly before any
    compilation: it must return one real scalar for one point (K = 1) or a scalar or vector
    (E,) (K > 1); None, complex values (which would be cut to their real part) and NumPy
    calls on traced values are refused with a message naming the equation."""
    k = problem.components
    what = "a real scalar residual" if k == 1 else "a scalar or a vector (E,) of real residuals"

    def call(x, u, p):
        jets = u[0] if k == 1 else tuple(u)
        out = problem.equation(x, jets, p) if problem.params else problem.equation(x, jets)
        check_residual_type(out)
        try:
            if isinstance(out, (str, bytes)):  # jnp.asarray("a") reads "a" as a dtype name
                raise TypeError(type(out).__name__)
            out = jnp.asarray(out)
        except (TypeError, ValueError, Warning):
            raise TypeError(f"the equation must return {what} for one point, got a "
                            f"{type(out).__name__}") from None  # fmt: skip
        check_residual_type(out)
        return out

    args = _abstract_inputs(problem, dtype)
    out = traced(call, "the equation", *args)
    if out.ndim > (0 if k == 1 else 1):
        raise ValueError(f"the equation must return {what} for one point, got shape "
                         f"{out.shape}")  # fmt: skip
    concrete = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), args)
    jaxpr = jax.make_jaxpr(call)(*concrete).jaxpr
    read = {v for eqn in jaxpr.eqns for v in eqn.invars if isinstance(v, jex_core.Var)}
    read |= {v for v in jaxpr.outvars if isinstance(v, jex_core.Var)}
    jet_vars = jaxpr.invars[1:1 + 4 * k]  # x, then the K jets' fields, then φ
    used = frozenset(Jet._fields[i % 4] for i, v in enumerate(jet_vars) if v in read)
    return used, int(np.prod(out.shape, dtype=int))


def _check_activation(net, used: frozenset) -> None:
    need = 3 if used & {"hessian", "laplacian"} else 2 if "grad" in used else 1
    require_order(net.activation, need, f"the equation uses {sorted(used)} of the solution")


def component_problem(problem: Problem, k: int) -> Problem:
    """The conditions of component k as a one-unknown problem (for its trial solution):
    component-k conditions other than periodic ones, renumbered to component 0; a
    one-unknown problem keeps its own ``trial``."""
    bcs = [dataclasses.replace(bc, component=0) for bc in problem.boundary
           if bc.component == k and not isinstance(bc, Periodic)]  # fmt: skip
    trial = problem.trial if problem.components == 1 else None
    return Problem(problem.domain, lambda x, u: u.value, boundary=bcs, trial=trial,
                   name=problem.name if problem.components == 1 else f"{problem.name}[{k}]")


@functools.partial(jax.jit, static_argnums=0)
def residuals_jit(model, theta, data):
    """``model.residuals(theta, data)`` compiled once per model (equal models share it)."""
    return model.residuals(theta, data)


def make_collocation(
    problem: Problem,
    net,
    x,
    *,
    boundary_points: int | None = None,
    key=None,
    backend: str = "kernels",
    dtype=None,
) -> tuple[Collocation, CollocationData]:
    """Builds the static :class:`Collocation` and its :class:`CollocationData`.

    Args:
      problem: the problem (any number of components, coefficients, observations).
      net: a ``TwoLayerNet`` (or, with ``backend="autodiff"``, a scalar ``MLP``) of the
        problem's dimension, used for every component.
      x: interior collocation points (P, D).
      boundary_points: points of each condition imposed by penalty (Neumann, Robin, and
        Dirichlet that the trial solution does not impose), spread over the condition's own
        faces, and point pairs of each periodic condition; a condition's ``points`` overrides
        it (:mod:`nnpde.penalties`). None: the boundary about as finely sampled as the
        interior, 64 … P/4 (:func:`nnpde.penalties.condition_count`).
      key: PRNG key for the boundary points (None: deterministic low-discrepancy points).
      backend: "kernels" (hand-written) or "autodiff": the :mod:`nnpde.derivatives` strategy.
      dtype: float dtype of the data (default: that of ``x``).

    Returns:
      (the model, its data). The coefficients' initial values are ``problem.params``.

    Example:
      >>> import jax.numpy as jnp, nnpde
      >>> from nnpde.collocation import make_collocation
      >>> problem = nnpde.problems.lagaris_pde1().problem
      >>> col, data = make_collocation(problem, nnpde.TwoLayerNet(2, (4, 4)), jnp.full((3, 2), 0.5))
      >>> col.blocks(data), col.used
      ((('interior', 3),), frozenset({'laplacian'}))
    """
    dtype = jnp.asarray(x).dtype if dtype is None else jnp.dtype(dtype)
    from nnpde import high_order  # partials of order 3-4 or an OperatorBC (issue 18, item 2)

    if high_order.needs_high_order(problem, dtype):
        return high_order.make_high_order(problem, net, x, boundary_points=boundary_points,
                                          key=key, backend=backend, dtype=dtype)  # fmt: skip
    derivatives = for_backend(backend, net)
    x = jnp.asarray(x, dtype)
    boundary_points = boundary_count(boundary_points, x.shape[0])
    used, n_eq = check_equation(problem, dtype)
    _check_activation(net, used)
    trials, A, B, pens, pairs, names = [], [], [], [], [], []
    for k in range(problem.components):
        sub = component_problem(problem, k)
        trial, rest = kept_trial(problem, k, sub)
        a, b = _trivial_jets(x.shape[0], problem.dim, dtype, trial, x)
        if trial is not None:
            check_trial_finite(sub, x, a, b)
        rows, pair_rows, block_names = _penalty_rows(problem, k, rest, boundary_points, key,
                                                     dtype)  # fmt: skip
        trials.append(trial)
        A.append(a)
        B.append(b)
        pens.append(_penalty(rows, sub, trial, dtype))
        pairs.append(_pairs(pair_rows, problem.dim, trial, dtype))
        names += block_names
    col = Collocation(problem, net, tuple(trials), used, n_eq, derivatives, tuple(names))
    return col, CollocationData(x, tuple(A), tuple(B), tuple(pens), tuple(pairs))


def _penalty_rows(problem: Problem, k: int, rest, n, key, dtype):
    """The rows of component k's penalties: ([(x, n, g, c0, c1, w)] of its conditions, then
    observations; [(x, x2, n, c0, c1, w)] of its periodic pairs; their block names)."""
    prefix = f"u{k}: " if problem.components > 1 else ""
    rows, pairs, names = [], [], []
    for bc in rest:
        pts, normals, g, c0, c1 = penalty_condition(problem, bc, n, key, dtype)
        rows.append((pts, normals, g, c0, c1, float(bc.weight)))
        names.append(f"{prefix}{condition_name(bc)}")
    for i, obs in enumerate(problem.observations):
        if obs.component == k:
            rows.append((obs.x, np.zeros_like(obs.x), obs.values, 1.0, 0.0, float(obs.weight)))
            names.append(f"{prefix}data[{i}]")
    sizes = [len(r[0]) for r in rows]
    for bc in problem.boundary:
        if isinstance(bc, Periodic) and bc.component == k:
            x1, x2 = periodic_pairs(problem.domain, bc, n, key)
            axis = np.zeros_like(x1)
            axis[:, bc.axis] = 1.0
            pairs.append((x1, x2, axis, 1.0, 0.0, float(bc.weight)))
            names.append(f"{prefix}Periodic(x{bc.axis})")
            sizes.append(len(x1))
            if bc.derivative:
                pairs.append((x1, x2, axis, 0.0, 1.0, float(bc.weight)))
                names.append(f"{prefix}Periodic(x{bc.axis}, derivative)")
                sizes.append(len(x1))
    return rows, pairs, list(zip(names, sizes))


def _column(rows, i: int, shape: tuple, dtype):
    """Field i of the rows stacked: (Σ rows, ...) (scalars broadcast to each row's points)."""
    if not rows:
        return jnp.zeros(shape, dtype)
    parts = [np.broadcast_to(np.asarray(r[i], float), (len(r[0]),) + shape[1:]) for r in rows]
    return jnp.asarray(np.concatenate(parts), dtype)


def _penalty(rows, sub: Problem, trial: TrialSolution | None, dtype) -> Penalty:
    d = sub.dim
    x = _column(rows, 0, (0, d), dtype)
    A, B = _trivial_jets(x.shape[0], d, dtype, trial, x)
    if trial is not None:
        check_trial_finite(sub, x, A, B)
    n, g, c0, c1, w = (_column(rows, i, s, dtype) for i, s in
                       ((1, (0, d)), (2, (0,)), (3, (0,)), (4, (0,)), (5, (0,))))  # fmt: skip
    return Penalty(x, n, g, c0, c1, w, A, B)


def _pairs(rows, d: int, trial: TrialSolution | None, dtype) -> Pairs:
    x, x2 = _column(rows, 0, (0, d), dtype), _column(rows, 1, (0, d), dtype)
    A, B = _trivial_jets(x.shape[0], d, dtype, trial, x)
    A2, B2 = _trivial_jets(x2.shape[0], d, dtype, trial, x2)
    n, c0, c1, w = (_column(rows, i, s, dtype) for i, s in
                    ((2, (0, d)), (3, (0,)), (4, (0,)), (5, (0,))))  # fmt: skip
    return Pairs(x, x2, n, c0, c1, w, A, B, A2, B2)


# Points per block of the set-up's trial jets: autodiff of A and B holds several (block, D, D)
# intermediates at once, so the set-up's peak memory is the jets themselves plus O(block).
SETUP_BLOCK = 1 << 14


def trial_jets(trial: TrialSolution | None, x):
    """Jets of A and B at the points x (n, D): zeros and ones without a trial solution."""
    return _trivial_jets(x.shape[0], x.shape[1], x.dtype, trial, x)


def _trivial_jets(n: int, d: int, dtype, trial: TrialSolution | None, x):
    """Jets of A and B at the points x (n, D): zeros and ones without a trial solution, else
    by autodiff, ``SETUP_BLOCK`` points at a time, so the set-up never holds the autodiff
    intermediates of all n points at once."""
    if trial is None or n == 0:
        zero = jnp.zeros((n,), dtype)
        A = Jet(zero, jnp.zeros((n, d), dtype), jnp.zeros((n, d, d), dtype), zero)
        B = Jet(jnp.ones((n,), dtype), A.grad, A.hessian, zero)
        return A, B
    return _trial_jets_blocked(trial, x, min(SETUP_BLOCK, x.shape[0]))


@functools.partial(jax.jit, static_argnums=(0, 2))
def _trial_jets_blocked(trial: TrialSolution, x, block: int):
    """(jet of A, jet of B) at x (n, D), ``block`` points at a time written in place into
    the (n, ...) outputs (a ``fori_loop`` of ``dynamic_update_slice``): peak memory is the
    outputs plus one block's autodiff intermediates. The last block starts at n - block, so
    no padding or remainder copy is needed (a few points are computed twice, identically).
    A and B are traced once (the outputs' shapes are those of a Jet of order 2)."""
    from nnpde.problem import jet_of

    n, d = x.shape
    jets = jax.vmap(lambda p: (jet_of(trial.A, p), jet_of(trial.B, p)))
    zeros = [jnp.zeros((n,) + s, x.dtype) for s in ((), (d,), (d, d), ())]
    out = (Jet(*zeros), Jet(*zeros))

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
    first_bad = _first_non_finite(A, B)
    if first_bad < x.shape[0]:
        from nnpde.trial import blame_exact_data

        raise ValueError(blame_exact_data(problem, np.asarray(x[first_bad])))


def _first_non_finite(A: Jet, B: Jet) -> int:
    """Index of the first point where a jet is not finite, or P if none: on the host (the
    jets are a few numbers per point; a compiled check cost ≈ 0.3 s of every solve's set-up)."""
    ok = None
    for leaf in jax.tree_util.tree_leaves((A, B)):  # (Jet.high is None here)
        arr = np.asarray(leaf)
        finite = np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
        ok = finite if ok is None else ok & finite
    return ok.shape[0] if ok.all() else int(np.argmin(ok))

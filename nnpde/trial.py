"""Lagaris trial solutions ψ(x) = A(x) + B(x) N(x) that satisfy Dirichlet and initial data exactly.

On a ``Box`` (or ``Interval``) each axis i is constrained on both faces, on one face, or on
none. With ξ_i = (x_i - lower_i)/(upper_i - lower_i), the distance factor is

    B(x) = Π_i b_i(ξ_i),   b_i = ξ(1-ξ) (both faces), ξ (lower), 1-ξ (upper), ξ² (lower, with an
                            initial derivative), ξ²(1-ξ) (both, with an initial derivative)

and A is the transfinite (Boolean-sum, Gordon-Hall) interpolant of the boundary data g,

    A = (I - Π_i (I - P_i)) g = Σ_{∅≠S} (-1)^{|S|+1} Π_{i∈S} P_i g,
    P_i g = (1-ξ_i) g|_{x_i=lower} + ξ_i g|_{x_i=upper}   (both faces; one term if one face),
    P_t g = g|_{t=t0} + (t - t0) ∂_t g|_{t=t0}          (initial value and derivative),
    P_t g = (1-ξ²) g|_{t0} + (t - t0)(1-ξ) ∂_t g|_{t0} + ξ² g|_{t1}   (and data at t1, e.g. an
                                                        Interval's right end: Hermite),

which equals g on every constrained face when the data agree where faces meet (Lagaris et al.,
IEEE TNN 9 (1998) 987, eqs. (18), (22) are its 2-D cases). A and B do not depend on θ: their
jets at the collocation points are computed once, by autodiff.

On any other domain with an approximate distance function (``Disk``, ``Polygon``, set
operations of domains; :mod:`nnpde.geometry`), Dirichlet data are imposed exactly by
ψ = A + φ·N (Sukumar & Srivastava, CMAME 389 (2022) 114333):

- data on the whole boundary (``Dirichlet(g)``, or conditions whose faces cover it): φ is the
  domain's ``distance`` and A = g. The value g must therefore be a smooth function defined in
  the whole domain (it is evaluated, with its first and second derivatives, at the interior
  points), not only on the boundary;
- data on some faces, the other conditions by penalty: φ = the R_m-equivalence of the ADFs of
  the Dirichlet faces only (``Polygon``, and differences and intersections of polygons, 2-D
  boxes and disks; on a union all conditions are penalties);
- different values on different faces: A = Σ_k g_k φ_k^{-2} / Σ_j φ_j^{-2}, the transfinite
  interpolation of the values by the ADFs φ_k of their faces (as in Sukumar & Srivastava, with
  exponent μ = 2), which equals g_k on the faces of condition k.
- on a union, φ of a polygon operand is signed across its hidden edges inside the union and is
  only once continuously differentiable there (ψ's Laplacian may jump): expect less accuracy.
- not where the faces imposed exactly meet at a kink of φ (a re-entrant corner of a polygon, a
  hole with corners, operands whose boundaries cross: :func:`nnpde.geometry.kinked_faces`):
  φ is a cone there and N = (u - A)/φ has a kink no smooth network matches (the L-shaped
  polygon, 2×20: 9.4e-5 … 1.7e-4 exact, 2.2e-8 … 2.7e-8 by penalty), so all the conditions are
  penalties. ``Problem(trial=(g, domain.distance))`` still imposes them exactly.

A ``Dirichlet`` with a predicate ``where``, ``Neumann`` and ``Robin`` remain penalties; so do
all conditions where the domain gives no face ADF.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import weakref
from collections.abc import Callable

import jax
import jax.numpy as jnp

from nnpde.problem import Dirichlet, Initial, Problem, check_pointwise, describe, named_faces

__all__ = ["TrialSolution", "build_trial"]

_MAX_TERMS = 4096

# The trial solutions built for a problem, kept while the problem lives: a solve builds its
# model twice (training and validation points) and a notebook solves one problem for many
# seeds; with the same TrialSolution object the jitted set-up of its jets is traced and
# compiled once (a fresh one per model cost ≈3 s of a 13 s solve: trace + XLA of A's Hessian).
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def kept_trial(owner: Problem, key, problem: Problem) -> tuple[TrialSolution | None, list]:
    """``build_trial(problem)``, built once per (``owner``, ``key``) while ``owner`` lives:
    ``problem`` is ``owner`` itself or a part of it (a component's conditions) named by
    ``key``. Its conditions are frozen, so the same objects are returned each time."""
    per_owner = _KEPT.setdefault(owner, {})
    if key not in per_owner:
        trial, rest = build_trial(problem)
        per_owner[key] = (trial, tuple(rest))
    trial, rest = per_owner[key]
    return trial, list(rest)


@dataclasses.dataclass(frozen=True, eq=False)
class TrialSolution:
    """ψ = A + B·N with A, B callables of one point (D,) -> scalar."""

    A: Callable
    B: Callable
    exact_faces: tuple[str, ...]  # faces whose Dirichlet/initial data ψ meets exactly


def _dirichlet_faces(domain, bc: Dirichlet) -> tuple[str, ...]:
    """The faces a Dirichlet condition with a face (or list of faces) ``where`` names, or the
    spatial faces for ``where=None``."""
    faces = named_faces(domain, bc.where)
    return domain.spatial_faces if faces is None else faces


def initial_axis(domain) -> int | None:
    """The axis an ``Initial`` condition is imposed on: the last one, t, of a
    ``Box(..., time=True)`` or of a 1-D box (an ``Interval``); None where the domain has no
    time coordinate (an ``Initial`` there is an error, :func:`_face_data`)."""
    if hasattr(domain, "face_axis") and (domain.time or domain.dim == 1):
        return domain.dim - 1
    return None


def _face_data(problem: Problem):
    """{(axis, side): value callable} for Dirichlet/initial data imposed exactly, plus the
    initial derivative (or None) and the conditions left to penalties."""
    domain = problem.domain
    exact: dict[tuple[int, int], Callable] = {}
    derivative = None
    rest = []
    for bc in problem.boundary:
        if isinstance(bc, Initial):
            axis = initial_axis(domain)
            if axis is not None:
                exact[(axis, 0)] = bc.value
                derivative = bc.derivative
            else:
                raise ValueError(
                    "Initial conditions need a time coordinate: use Box(..., time=True) (t is "
                    "the last coordinate) or an Interval"
                )
        elif isinstance(bc, Dirichlet) and not callable(bc.where):
            for face in _dirichlet_faces(domain, bc):
                exact[domain.face_axis(face)] = bc.value
        else:
            rest.append(bc)
    return exact, derivative, rest


def build_trial(problem: Problem) -> tuple[TrialSolution | None, list]:
    """The trial solution for ``problem`` and the boundary conditions left to penalties.

    Uses ``problem.trial`` = (A, B) when the user gave one, the Lagaris trial solution on a
    ``Box``/``Interval``, and ψ = A + φ·N with an approximate distance function φ on domains
    that have one (:func:`_distance_trial`); else returns (None, all conditions).
    """
    domain = problem.domain
    dtype = jnp.zeros((), float).dtype
    if problem.trial is not None:
        for name, fn in zip("AB", problem.trial):
            check_pointwise(fn, f"Problem.trial: {name}", problem.dim, dtype)
        rest = [bc for bc in problem.boundary if not isinstance(bc, (Dirichlet, Initial))]
        return TrialSolution(*problem.trial, exact_faces=()), rest
    if not hasattr(domain, "face_axis"):
        if hasattr(domain, "distance"):
            return _distance_trial(problem)
        return None, list(problem.boundary)
    exact, derivative, rest = _face_data(problem)
    for bc in problem.boundary:  # the data imposed exactly: real scalars of one point
        if isinstance(bc, (Dirichlet, Initial)) and not any(bc is r for r in rest):
            check_pointwise(bc.value, f"{describe(bc)} value", problem.dim, dtype)
            if getattr(bc, "derivative", None) is not None:
                check_pointwise(bc.derivative, f"{describe(bc)} derivative", problem.dim, dtype)
    if not exact:
        return None, rest
    d = domain.dim
    lo = jnp.asarray(domain.lower)
    hi = jnp.asarray(domain.upper)
    sides = {i: tuple(s for s in (0, 1) if (i, s) in exact) for i in range(d)}
    axes = [i for i in range(d) if sides[i]]
    t_axis = d - 1 if derivative is not None else None
    n_terms = math.prod(1 + len(sides[i]) for i in axes) - 1
    if n_terms > _MAX_TERMS:
        raise ValueError(
            f"the transfinite interpolant of Dirichlet data on {len(axes)} constrained axes "
            f"has {n_terms} terms; pass Problem(trial=(A, B)) or impose the conditions by penalty"
        )

    # The data called through jax.jit: each term of the interpolant calls a g at a projection
    # of x (8 terms on a rectangle) and autodiff differentiates every call; a jitted g is
    # traced once and its derivatives reused (Kovasznay's three trials: tracing 4.1 -> 2.8 s,
    # compilation 5.6 -> 4.9 s; the jets bit for bit the same).
    jitted = {face: _jitted(g) for face, g in exact.items()}

    def xi(x, i):
        return (x[i] - lo[i].astype(x.dtype)) / (hi[i] - lo[i]).astype(x.dtype)

    def B(x):
        out = jnp.ones((), x.dtype)
        for i in axes:
            z = xi(x, i)
            if sides[i] == (0, 1):
                out = out * (z * z if i == t_axis else z) * (1 - z)
            elif sides[i] == (0,):
                out = out * (z * z if i == t_axis else z)
            else:
                out = out * (1 - z)
        return out

    def A(x):
        total = jnp.zeros((), x.dtype)
        for r in range(1, len(axes) + 1):
            for subset in itertools.combinations(axes, r):
                sign = 1.0 if r % 2 else -1.0
                for choice in itertools.product(*(sides[i] for i in subset)):
                    total = total + sign * _corner_term(x, subset, choice)
        return total

    def _corner_term(x, subset, choice):
        """Π_{i∈S} φ_i(x) · g(x with x_i at the chosen faces) (with the t-derivative term)."""
        y = x
        weight = jnp.ones((), x.dtype)
        for i, s in zip(subset, choice):
            y = y.at[i].set((lo, hi)[s][i].astype(x.dtype))
            if len(sides[i]) == 2 and i != t_axis:
                z = xi(x, i)
                weight = weight * (z if s else 1 - z)
        # Data of a spatial face in the subset if there is one (its t-derivative comes from
        # autodiff), else the initial data.
        spatial = [(i, s) for i, s in zip(subset, choice) if i != t_axis]
        g = jitted[spatial[0]] if spatial else jitted[(subset[0], choice[0])]
        value = jnp.asarray(g(y), x.dtype)
        if t_axis is not None and t_axis in subset:
            value = _hermite(value, lambda: _initial_slope(g, y, spatial), x, subset, choice)
        return weight * value

    def _initial_slope(g, y, spatial):
        """∂_t g at t0: by autodiff of a spatial face's data, else the initial derivative."""
        if spatial:
            return jax.grad(lambda yy: jnp.asarray(g(yy), y.dtype))(y)[t_axis]
        return jnp.asarray(derivative(y), y.dtype)

    def _hermite(value, slope, x, subset, choice):
        """P_t's term for the t face chosen: value + (t - t0)·slope at t0 with data at t0
        only; with data at t1 too, the quadratic Hermite basis of (g(t0), ∂_t g(t0), g(t1)):
        (1 - z²)·g(t0) + (t - t0)(1 - z)·∂_t g(t0) at t0, z²·g(t1) at t1 (z = ξ_t)."""
        at_t1 = choice[subset.index(t_axis)] == 1
        z = xi(x, t_axis)
        if at_t1:
            return z * z * value
        dt = (x[t_axis] - lo[t_axis]) * slope()
        if len(sides[t_axis]) == 2:
            return (1 - z * z) * value + (1 - z) * dt
        return value + dt

    names = tuple(domain.faces[2 * i + s] for (i, s) in exact)
    return TrialSolution(A, B, exact_faces=names), rest


def _jitted(g: Callable) -> Callable:
    """``g`` called through ``jax.jit``, by way of a closure: jax.jit keeps a weak reference
    to what it wraps, which a callable object with ``__slots__`` does not allow."""

    def call(y):
        return g(y)

    return jax.jit(call)


def blame_exact_data(problem: Problem, point) -> str:
    """Why the trial solution is not finite at ``point`` (D,): the first condition imposed
    exactly whose value (or first/second derivative) is NaN or Inf where A reads it (``point``
    moved onto the condition's face), as a sentence for an error message."""
    import numpy as np

    point = np.asarray(point, dtype=float)
    at = f"x = {point.tolist()}"
    if problem.trial is not None:
        return (f"the trial solution of Problem.trial = (A, B) is NaN or Inf at {at} (A, B or "
                "their first or second derivatives): check A and B")  # fmt: skip
    domain = problem.domain
    checks = []
    for bc in problem.boundary:
        if isinstance(bc, Initial):
            faces = [domain.faces[2 * (domain.dim - 1)]]
            fns = [("value", bc.value)] + ([("derivative", bc.derivative)] if bc.derivative
                                            else [])  # fmt: skip
        elif isinstance(bc, Dirichlet) and not callable(bc.where):
            faces = _dirichlet_faces(domain, bc)
            fns = [("value", bc.value)]
        else:
            continue
        for face in faces:
            axis, side = domain.face_axis(face)
            y = point.copy()
            y[axis] = (domain.lower, domain.upper)[side][axis]
            checks += [(bc, name, fn, y) for name, fn in fns]
    for bc, name, fn, y in checks:
        z = jnp.asarray(y)
        g = lambda v, fn=fn: jnp.asarray(fn(v), v.dtype)  # noqa: E731
        parts = (g(z), jax.grad(g)(z), jax.hessian(g)(z))
        if not all(bool(jnp.all(jnp.isfinite(p))) for p in parts):
            return (f"{describe(bc)} {name} (or its first or second derivative) is NaN or Inf at "
                    f"x = {y.tolist()}, where the trial solution ψ = A + B·N imposes it exactly")
    return (f"the trial solution ψ = A + B·N built from the Dirichlet/Initial data is NaN or Inf "
            f"at {at}: check those conditions' values")


def _distance_trial(problem: Problem) -> tuple[TrialSolution | None, list]:
    """ψ = A + φ·N on a domain with a ``distance`` (see the module docstring).

    A later condition on a face overrides an earlier one there, as on a box.
    """
    from nnpde.geometry import face_distance, kinked_faces

    domain = problem.domain
    owner: dict[str, int] = {}  # face -> index of the Dirichlet condition imposed there
    dirichlet, rest = [], []
    for bc in problem.boundary:
        if isinstance(bc, Dirichlet) and not callable(bc.where):
            faces = _dirichlet_faces(domain, bc)
            owner.update({f: len(dirichlet) for f in faces})
            dirichlet.append(bc)
        else:
            rest.append(bc)
    if not dirichlet:
        return None, rest
    groups = {i: tuple(f for f in domain.faces if owner.get(f) == i) for i in set(owner.values())}
    groups = {i: faces for i, faces in groups.items() if faces}
    exact = tuple(f for f in domain.faces if f in owner)
    if kinked_faces(domain, exact):  # φ a cone at a corner: penalties (see kinked_faces)
        return None, list(problem.boundary)
    try:
        B = domain.distance if len(exact) == len(domain.faces) else face_distance(domain, exact)
        if len(groups) == 1:
            A = _value(dirichlet[next(iter(groups))].value)
        else:
            A = _blend([(dirichlet[i].value, face_distance(domain, f)) for i, f in groups.items()])
    except NotImplementedError:  # no face ADF (a union): every condition by penalty
        return None, list(problem.boundary)
    return TrialSolution(A, B, exact_faces=exact), rest


def _value(g: Callable) -> Callable:
    def A(x):
        return jnp.asarray(g(x), x.dtype)

    return A


def _blend(parts) -> Callable:
    """A = Σ_k g_k w_k with w_k = φ_k^{-2} / Σ_j φ_j^{-2}: g_k on the faces of φ_k (φ_k = 0).

    Computed as w_k = (c/φ_k)² / Σ_j (c/φ_j)² with c = min_j φ_j held constant (the weights do
    not depend on c), finite where one φ_k vanishes.
    """

    def A(x):
        phis = jnp.stack([jnp.asarray(phi(x), x.dtype) for _, phi in parts])
        c = jax.lax.stop_gradient(jnp.min(phis))
        r = (c / phis) ** 2
        values = jnp.stack([jnp.asarray(g(x), x.dtype) for g, _ in parts])
        return jnp.sum(r * values) / jnp.sum(r)

    return A

"""The points and targets of penalty residuals: boundary conditions, periodic pairs, observations.

A condition that the trial solution does not impose exactly (a ``Neumann`` or ``Robin``
condition, a ``Dirichlet`` one with a predicate ``where`` or on a domain without an exact
trial solution) becomes weighted residuals w (c0 ψ + c1 n·∇ψ - g) at boundary points of its
own faces. Each condition gets about ``points`` of them (its ``points`` field, else ``solve``'s
``boundary_points``), spread over its faces in proportion to their size: the boundary is
sampled so that the condition's share of it holds that many (:func:`condition_sample`), so a
condition on one face of a square gets all of them rather than a quarter. A periodic condition
gets as many point pairs on the lower face of its axis; observations (:class:`nnpde.Data`)
bring their own points.

Everything here is θ-independent and runs once, in NumPy, before training.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from nnpde.domains import BoundarySample
from nnpde.problem import (
    Dirichlet,
    Neumann,
    Periodic,
    Problem,
    Robin,
    check_pointwise,
    describe,
    named_faces,
)

__all__ = ["condition_name", "condition_sample", "penalty_condition", "periodic_pairs"]

# The largest boundary sample drawn to find a condition's share (a face that is 1/1000 of
# the boundary still gets its points; beyond that, fewer).
MAX_BOUNDARY_SAMPLE = 1 << 20


def _select(domain, where, sample: BoundarySample) -> np.ndarray:
    """Mask (n,) of the sample's points where a condition holds: all of them for None, those
    on its faces for a face or a list of faces, those where the predicate is true."""
    if where is None:
        return np.ones(len(sample.x), bool)
    faces = named_faces(domain, where)
    if faces is not None:
        return np.isin(sample.face, faces)
    return np.array([bool(where(p)) for p in sample.x], dtype=bool).reshape(len(sample.x))


def condition_sample(domain, where, n: int, key=None) -> BoundarySample:
    """About ``n`` boundary points (with normals and faces) where a condition holds.

    Args:
      domain: the problem's domain.
      where: the condition's ``where``: None (the whole boundary), a face, a tuple of faces or
        a predicate of one point (D,).
      n: the number of points wanted on the condition's part of the boundary.
      key: PRNG key of the boundary sample (None: deterministic low-discrepancy points).

    Returns:
      A :class:`~nnpde.BoundarySample` of the points of ``domain.sample_boundary`` that lie
      where the condition holds. The boundary is sampled once with ``n`` points; when its
      share on the condition is smaller, once more with ``n / share`` (up to
      ``MAX_BOUNDARY_SAMPLE``), so that share holds about ``n`` (exactly ``n`` on a face of a
      ``Box`` when ``n`` is divisible accordingly; a predicate's share is estimated from the
      first sample).

    Raises:
      ValueError: no boundary point satisfies ``where``.
    """
    sample = domain.sample_boundary(n, key=key)
    mask = _select(domain, where, sample)
    kept = int(mask.sum())
    if kept < n and len(sample.x) < MAX_BOUNDARY_SAMPLE:
        total = len(sample.x) * (16 if kept == 0 else n / kept)
        bigger = domain.sample_boundary(min(math.ceil(total), MAX_BOUNDARY_SAMPLE), key=key)
        more = _select(domain, where, bigger)
        if int(more.sum()) > kept:
            sample, mask = bigger, more
    if not mask.any():
        raise ValueError(f"no boundary point satisfies where={where!r}")
    return BoundarySample(sample.x[mask], sample.normal[mask], sample.face[mask])


def penalty_condition(problem: Problem, bc, n: int, key, dtype):
    """A condition imposed by penalty at about ``n`` points of its faces (``bc.points`` when
    set): (points (Q, D), normals (Q, D), targets g (Q,), c0, c1) for residuals
    w (c0 ψ + c1 n·∇ψ - g).

    Raises:
      ValueError: no boundary point satisfies ``where``; the target is NaN or Inf at some
        point (naming the condition); an ``Initial`` condition on a domain without a time
        axis.
    """
    if isinstance(bc, Dirichlet):
        fn, c0, c1, field = bc.value, 1.0, 0.0, "value"
    elif isinstance(bc, Neumann):
        fn, c0, c1, field = bc.flux, 0.0, 1.0, "flux"
    elif isinstance(bc, Robin):
        fn, c0, c1, field = bc.value, float(bc.alpha), float(bc.beta), "value"
    else:  # Initial on a domain without exact imposition
        raise ValueError(f"{type(bc).__name__} cannot be imposed on {problem.domain!r}")
    try:
        sample = condition_sample(problem.domain, bc.where, bc.points or n, key)
    except ValueError as err:
        raise ValueError(f"{err} of {bc!r}") from None
    what = f"{describe(bc)} {field}"
    check_pointwise(fn, what, problem.dim, dtype)
    values = np.asarray(jax.jit(jax.vmap(lambda p: jnp.asarray(fn(p), dtype)))(
        jnp.asarray(sample.x, dtype)))  # fmt: skip
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{what} is NaN or Inf at {int(bad.sum())} of its {len(values)} "
                         f"boundary points, e.g. x = {sample.x[bad][0].tolist()}")  # fmt: skip
    return sample.x, sample.normal, values, c0, c1


def periodic_pairs(domain, bc: Periodic, n: int, key):
    """Matched points (x (S, D) on the lower face of ``bc.axis``, x' = x + L e_axis on the
    upper face), about ``n`` of them (``bc.points`` when set)."""
    lower = domain.faces[2 * bc.axis]  # a Box's faces: (axis 0 min, axis 0 max, axis 1 min, ...)
    x = condition_sample(domain, lower, bc.points or n, key).x
    x2 = x.copy()
    x2[:, bc.axis] = domain.upper[bc.axis]
    return x, x2


def condition_name(bc) -> str:
    """A short name of a penalty condition for the history: ``"Neumann(x0_max)"``,
    ``"Robin(x0_max,x1_min)"``, ``"Dirichlet(where)"`` for a predicate."""
    where = getattr(bc, "where", None)
    if isinstance(where, str):
        label = where
    elif isinstance(where, tuple):
        label = ",".join(where)
    else:
        label = "all" if where is None else "where"
    return f"{type(bc).__name__}({label})"

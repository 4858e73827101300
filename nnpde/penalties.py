"""The points and targets of penalty residuals: boundary conditions, periodic pairs, observations.

A condition that the trial solution does not impose exactly (a ``Neumann`` or ``Robin``
condition, a ``Dirichlet`` one with a predicate ``where`` or on a domain without an exact
trial solution) becomes weighted residuals w (c0 ψ + c1 n·∇ψ - g) at boundary points of its
own faces. Each condition gets about ``points`` of them (its ``points`` field, else ``solve``'s
``boundary_points``, by default matched to the interior points' spacing: :func:`condition_count`),
spread over its faces in proportion to their size: the boundary is sampled so that the
condition's share of it holds that many (:func:`condition_sample`), so a condition on one face
of a square gets all of them rather than a quarter. A periodic condition
gets as many point pairs on the lower face of its axis; observations (:class:`nnpde.Data`)
bring their own points.

Everything here is θ-independent and runs once, in NumPy, before training.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from nnpde.domains import BoundarySample, Box
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

__all__ = ["AutoCount", "boundary_count", "condition_count", "condition_name",
           "condition_points", "condition_sample", "penalty_condition", "periodic_pairs",
           "spatial_where"]

# The largest boundary sample drawn to find a condition's share (a face that is 1/1000 of
# the boundary still gets its points; beyond that, fewer).
MAX_BOUNDARY_SAMPLE = 1 << 20
# The automatic count of a penalty condition's points (boundary_points=None): at least this
# many, at most this fraction of the interior points.
MIN_BOUNDARY_POINTS = 64
MAX_BOUNDARY_SHARE = 0.25
SHARE_SAMPLE = 4096  # points of the samples that measure a condition's share and the volume


@dataclasses.dataclass(frozen=True)
class AutoCount:
    """``boundary_points=None`` for P = ``interior`` interior points: each condition's count
    is chosen from its share of the boundary (:func:`condition_count`)."""

    interior: int


def boundary_count(n: int | None, interior: int) -> int | AutoCount:
    """The caller's ``boundary_points`` ``n`` (an int), or for None the automatic count for
    ``interior`` interior points, resolved per condition by :func:`condition_count`."""
    return AutoCount(int(interior)) if n is None else int(n)


def condition_count(n: int | AutoCount, domain, where) -> int:
    """The points of one penalty condition: ``n`` when an int, else the condition's part of
    the boundary sampled about as finely as the interior.

    P interior points in a domain of volume V lie h ≈ (V/P)^{1/D} apart; a part of the boundary
    of measure S holds S / h^{D-1} = S (P/V)^{(D-1)/D} points at that spacing. That count, at
    least ``MIN_BOUNDARY_POINTS`` and at most ``MAX_BOUNDARY_SHARE`` · P, is the default (V
    from the bounding box and the share of it inside, S from the boundary's measure and the
    condition's share of a boundary sample). Why: with a fixed 64 points, Dirichlet data
    imposed by penalty on the ten faces of [0, 1]⁵ (P = 2048, 2×20 net: S (P/V)^{4/5} = 4450,
    so 512) gave rel-L2 1.4e-6 … 4.9e-4 over 10 seeds at a loss of 1e-12 … 1e-15 (the net had
    not been shown the boundary between its points); with 512, 1.4e-9 … 3.5e-8 on all 10;
    2048 were no better and 1.4× slower (``benchmarks/results/robustness-boundary-cpu.md``).
    A face of the unit square with P = 1024 gets 32, so 64, as before; the whole square's
    boundary 128.

    Args:
      n: an int (the caller's count) or an :class:`AutoCount`.
      domain: the problem's domain.
      where: the condition's ``where`` (None: the whole boundary).

    Returns:
      A positive int.
    """
    if not isinstance(n, AutoCount):
        return int(n)
    dim, interior = domain.dim, n.interior
    where = spatial_where(domain, where)
    share = 1.0 if where is None else float(
        _select(domain, where, domain.sample_boundary(SHARE_SAMPLE)).mean())  # fmt: skip
    spacing_count = domain.boundary_measure * (interior / _volume(domain)) ** ((dim - 1) / dim)
    matched = math.ceil(share * spacing_count)
    return max(MIN_BOUNDARY_POINTS, min(int(MAX_BOUNDARY_SHARE * interior), matched))


def _volume(domain) -> float:
    """The domain's volume: its bounding box's times the share of a fixed uniform sample of the
    box that lies in the domain (exactly the box's for a ``Box``)."""
    lower, upper = (np.asarray(b, float) for b in domain.bounds)
    box = float(np.prod(upper - lower))
    if isinstance(domain, Box):  # an Interval too
        return box
    u = np.random.default_rng(0).random((SHARE_SAMPLE, domain.dim))
    return box * max(float(np.mean(domain.contains(lower + u * (upper - lower)))), 1e-3)


def spatial_where(domain, where):
    """``where``, with None on a ``Box`` with a time axis (and a space axis) read as its
    spatial faces: the whole boundary of an evolution problem is the space boundary over all
    times, as for :class:`~nnpde.Dirichlet`'s trial solution. t = t0 belongs to the
    ``Initial`` condition and t = t1 is not a boundary: a ``Neumann(lambda x: 0.0)`` on the
    whole boundary of [0, 1] × [0, 0.5] would otherwise also ask u_t = 0 there (the heat
    equation with insulated ends then ended at rel-L2 5.9e-4 … 0.22 over seeds 0-4, now
    1.4e-7 … 1.8e-6; ``benchmarks/results/heldout-round2-cpu.md``)."""
    if where is None and isinstance(domain, Box) and domain.time and domain.dim > 1:
        return domain.spatial_faces
    return where


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
    asked, where = where, spatial_where(domain, where)
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
        raise ValueError(f"no boundary point satisfies where={asked!r}")
    return BoundarySample(sample.x[mask], sample.normal[mask], sample.face[mask])


def condition_points(domain, bc, n, key) -> BoundarySample:
    """The boundary points of penalty condition ``bc``: ``bc.points`` of them when it sets
    them, else :func:`condition_count` (``n`` an int or an :class:`AutoCount`), on its
    ``where`` (:func:`condition_sample`).

    Raises:
      ValueError: no boundary point satisfies ``bc.where`` (the message names ``bc``).
    """
    try:
        count = getattr(bc, "points", None) or condition_count(n, domain, bc.where)
        return condition_sample(domain, bc.where, count, key)
    except ValueError as err:
        raise ValueError(f"{err} of {bc!r}") from None


def penalty_condition(problem: Problem, bc, n, key, dtype):
    """A condition imposed by penalty at about ``n`` points of its faces (``bc.points`` when
    set; ``n`` an int or an :class:`AutoCount`): (points (Q, D), normals (Q, D), targets g (Q,),
    c0, c1) for residuals w (c0 ψ + c1 n·∇ψ - g).

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
    sample = condition_points(problem.domain, bc, n, key)
    what = f"{describe(bc)} {field}"
    check_pointwise(fn, what, problem.dim, dtype)
    values = np.asarray(jax.jit(jax.vmap(lambda p: jnp.asarray(fn(p), dtype)))(
        jnp.asarray(sample.x, dtype)))  # fmt: skip
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{what} is NaN or Inf at {int(bad.sum())} of its {len(values)} "
                         f"boundary points, e.g. x = {sample.x[bad][0].tolist()}")  # fmt: skip
    return sample.x, sample.normal, values, c0, c1


def periodic_pairs(domain, bc: Periodic, n, key):
    """Matched points (x (S, D) on the lower face of ``bc.axis``, x' = x + L e_axis on the
    upper face), about ``n`` of them (``bc.points`` when set; ``n`` an int or an
    :class:`AutoCount`, resolved on the lower face)."""
    lower = domain.faces[2 * bc.axis]  # a Box's faces: (axis 0 min, axis 0 max, axis 1 min, ...)
    x = condition_sample(domain, lower, bc.points or condition_count(n, domain, lower), key).x
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

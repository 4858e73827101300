"""Polygons and set operations on domains, with approximate distance functions.

``Polygon(vertices)`` is a simple polygon in D = 2; ``a - b``, ``a | b`` and ``a & b`` of any two
domains of one dimension (``Box``, ``Disk``, ``Polygon`` or set operations of them) are
:class:`Difference`, :class:`Union` and :class:`Intersection`. Every one is a frozen, hashable
spec holding only Python floats (and other specs), with the methods a ``Box`` has: ``contains``,
``sample`` (rejection from the bounding box: Sobol', Halton or uniform), ``grid``, ``test_grid``,
``sample_boundary`` (points, outward normals, face names), ``on_face`` and ``distance``.

``distance(x)`` is an approximate distance function (ADF) φ: φ = 0 on the boundary, φ > 0
inside, φ < 0 outside, normalized (|∇φ| = 1 on the boundary away from corners) and smooth
inside the domain, so that the trial solution ψ = A + φ·N meets Dirichlet data exactly
(:mod:`nnpde.trial`). For a polygon it joins the trimmed ADFs of its edges; set operations
compose their operands' ADFs with R-functions.

References:
  N. Sukumar and A. Srivastava, "Exact imposition of boundary conditions with distance
  functions in physics-informed deep neural networks", Comput. Methods Appl. Mech. Engrg. 389
  (2022) 114333: R-functions (R₀ conjunction and disjunction), the ADF of a line segment
  with trimming, and the R_m-equivalence joining several. (Equation numbers are not cited:
  they were not checked against the paper here.)
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nnpde.domains import (
    BoundarySample,
    Box,
    Disk,
    _check_boundary_args,
    _check_face,
    _check_n,
    _check_tol,
    _check_total,
    _check_x,
    _fold,
    _r_and,
    _r_or,
    _SetOperations,
)
from nnpde.sampling import MAX_POINTS, unit_cube

__all__ = ["Difference", "Intersection", "Polygon", "Union"]

#: m of the R_m-equivalence φ = (Σ_i φ_i^{-m})^{-1/m} joining the edges' ADFs (Sukumar &
#: Srivastava 2022): φ is normalized to order m on each edge. m = 1 keeps φ ≈ product of
#: the two edge distances over their sum near a corner.
JOIN_M = 1
_INNER = 1e-9  # sample/grid keep points at least this far inside (relative to the size)
_PROBE = 1e-7  # step (relative to the size) across a boundary point to classify it
_PILOT = 4096  # points of the emptiness check and of the boundary-measure estimate
_MAX_TRIES = 1 << 22  # rejection sampling gives up past this many candidates without a hit


# ---- the ADF of segments, and joins ---------------------------------------------------------
def _lead(a, ndim: int):
    """``a`` with leading axes of size 1 up to rank ``ndim`` (explicit broadcasting: the
    library runs with rank promotion off)."""
    return jnp.reshape(a, (1,) * (ndim - a.ndim) + a.shape)


def _edge_coords(x, v, w):
    """Coordinates of points x (..., 2) relative to each segment v_i → w_i (v, w: (E, 2)),
    each (..., E): f the signed distance to the segment's line, ``along`` the position along
    it (0 at v, L at w), t = ((L/2)² - |x - c|²)/L the segment's disk function (c the
    midpoint; t > 0 in the disk on the segment), and L = |w - v| (1, E) broadcastable.

    ``_trim(f, t)`` is then Sukumar & Srivastava's (2022) trimmed segment ADF: 0 exactly on
    the segment, ≈ |f| near it and positive elsewhere; ``_trim(f, along)`` the ray's from v.
    """
    p = x[..., None, :]
    v, w = _lead(v, p.ndim), _lead(w, p.ndim)
    d = w - v
    length = jnp.sqrt(jnp.sum(d * d, axis=-1))
    rel = p - v
    f = (rel[..., 0] * d[..., 1] - rel[..., 1] * d[..., 0]) / length
    along = jnp.sum(rel * d, axis=-1) / length
    q = p - (v + w) / 2
    t = ((length / 2) ** 2 - jnp.sum(q * q, axis=-1)) / length
    return f, along, t, length


def _trim(f, t):
    """Sukumar & Srivastava's trimming of a line's distance f by a function t > 0 on the part
    kept: sqrt(f² + ((sqrt(t² + f⁴) - t)/2)²), 0 exactly where f = 0 and t ≥ 0, ≈ |f| where
    t ≫ f², smooth except where f = t = 0. For a segment t is its disk function, for a ray the
    distance along it from its vertex."""
    tiny = jnp.finfo(f.dtype).tiny  # keeps gradients finite where a square root vanishes
    varphi = jnp.sqrt(t * t + f**4 + tiny)
    return jnp.sqrt(f * f + ((varphi - t) / 2) ** 2 + tiny)


def _ray_meets(origin, step, a, b, scale: float) -> bool:
    """Whether the ray origin + s·step (s > 0) touches any segment a_j → b_j (numpy (m, 2))."""
    e = b - a
    den = step[0] * e[:, 1] - step[1] * e[:, 0]
    rel = a - origin
    tol = 1e-12 * scale
    par = np.abs(den) <= 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (rel[:, 0] * e[:, 1] - rel[:, 1] * e[:, 0]) / den
        u = (rel[:, 0] * step[1] - rel[:, 1] * step[0]) / den
    hit = ~par & (s > tol) & (u >= -1e-12) & (u <= 1 + 1e-12)
    # a parallel segment on the ray's line (collinear) counts if any part lies ahead
    cross = np.abs(rel[:, 0] * step[1] - rel[:, 1] * step[0])
    ahead = np.maximum(rel @ step, (b - origin) @ step) > tol
    return bool(np.any(hit | (par & (cross <= tol) & ahead)))


def _join(phis, m: int | None = None):
    """R_m-equivalence (Σ_i φ_i^{-m})^{-1/m} over the last axis of φ > 0: (...).

    Computed as c (Σ (c/φ_i)^m)^{-1/m} with c = min φ held constant (stop_gradient): the value
    does not depend on c, so every derivative is the exact one, with no overflow at φ_i → 0.
    """
    m = JOIN_M if m is None else m
    c = jax.lax.stop_gradient(jnp.min(phis, axis=-1, keepdims=True))
    return c[..., 0] * jnp.sum((c / phis) ** m, axis=-1) ** (-1.0 / m)


def _inside_polygon(x, v, w, xp=jnp):
    """Crossing-number test (even-odd rule) of points x (..., 2) against edges v → w (E, 2):
    bool (...). ``xp`` is jax.numpy (traceable) or numpy (float64 whatever the JAX dtype)."""
    px, py = x[..., 0:1], x[..., 1:2]
    shape = (1,) * (x.ndim - 1) + (v.shape[0],)
    vx, vy = xp.reshape(v[:, 0], shape), xp.reshape(v[:, 1], shape)
    wx, wy = xp.reshape(w[:, 0], shape), xp.reshape(w[:, 1], shape)
    cond = (vy > py) != (wy > py)
    dy = xp.where(cond, wy - vy, 1.0)
    xint = vx + (py - vy) * (wx - vx) / dy
    return xp.sum(cond & (px < xint), axis=-1) % 2 == 1


# ---- checks ---------------------------------------------------------------------------------
def _check_vertices(vertices) -> np.ndarray:
    """The vertices (n, 2) of a simple polygon, or ValueError naming ``vertices``."""
    try:
        v = np.asarray(vertices)
        ok = v.ndim == 2 and v.shape[1] == 2 and v.dtype.kind in "iuf"
    except (TypeError, ValueError):  # ragged sequences
        ok = False
    if not ok:
        raise ValueError(f"Polygon: vertices must be a sequence of (x, y) pairs, shape (n, 2), "
                         f"got {_short(vertices)}")  # fmt: skip
    v = v.astype(np.float64)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"Polygon: vertices must be finite, got {_short(vertices)}")
    n = len(v)
    if n < 3:
        raise ValueError(f"Polygon: vertices must hold at least 3 points, got {n}")
    with np.errstate(over="ignore", invalid="ignore"):
        scale = float(np.max(np.ptp(v, axis=0)))
    if not math.isfinite(scale):
        raise ValueError("Polygon: vertices must span a finite extent")
    gap = np.linalg.norm(v[:, None, :] - v[None, :, :], axis=-1) + np.eye(n) * (scale + 1)
    if scale == 0 or np.min(gap) <= 1e-12 * scale:
        i, j = np.unravel_index(np.argmin(gap), gap.shape)
        raise ValueError(f"Polygon: vertices {min(i, j)} and {max(i, j)} coincide "
                         f"({v[i].tolist()})")  # fmt: skip
    e_in = v - np.roll(v, 1, axis=0)
    e_out = np.roll(v, -1, axis=0) - v
    cross = e_in[:, 0] * e_out[:, 1] - e_in[:, 1] * e_out[:, 0]
    bad = np.abs(cross) <= 1e-12 * np.linalg.norm(e_in, axis=1) * np.linalg.norm(e_out, axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"Polygon: vertices {(i - 1) % n}, {i}, {(i + 1) % n} are "
                         f"collinear (a vertex on a straight edge, or a spike): remove vertex "
                         f"{i}")  # fmt: skip
    _check_simple(v, scale)
    area = _signed_area(v)
    if abs(area) <= 1e-12 * scale * scale:
        raise ValueError(f"Polygon: vertices enclose zero area, got {_short(vertices)}")
    return v


def _check_simple(v: np.ndarray, scale: float) -> None:
    """ValueError if two edges that are not neighbours touch or cross."""
    n = len(v)
    i, j = np.triu_indices(n, k=2)
    keep = ~((i == 0) & (j == n - 1))  # the first and last edges are neighbours
    i, j = i[keep], j[keep]
    if not len(i):
        return
    p1, p2 = v[i], v[(i + 1) % n]
    q1, q2 = v[j], v[(j + 1) % n]

    def orient(a, b, c):
        return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])

    eps = 1e-12 * scale * scale
    o1, o2, o3, o4 = orient(p1, p2, q1), orient(p1, p2, q2), orient(q1, q2, p1), orient(q1, q2, p2)
    straddle = (o1 * o2 <= eps * eps) & (o3 * o4 <= eps * eps)
    lo_p, hi_p = np.minimum(p1, p2), np.maximum(p1, p2)
    lo_q, hi_q = np.minimum(q1, q2), np.maximum(q1, q2)
    overlap = np.all((lo_p <= hi_q + 1e-12 * scale) & (lo_q <= hi_p + 1e-12 * scale), axis=1)
    hit = straddle & overlap
    if hit.any():
        k = int(np.argmax(hit))
        raise ValueError(f"Polygon: vertices describe a self-intersecting polygon: edges "
                         f"{i[k]} and {j[k]} touch or cross")  # fmt: skip


def _signed_area(v: np.ndarray) -> float:
    w = np.roll(v, -1, axis=0)
    return 0.5 * float(np.sum(v[:, 0] * w[:, 1] - w[:, 0] * v[:, 1]))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_domain(domain, name: str, owner: str):
    needed = ("_member", "distance", "sample_boundary", "bounds", "dim", "faces")
    if not all(hasattr(domain, m) for m in needed):
        raise TypeError(f"{owner}: {name} must be a domain (Box, Disk, Polygon or a set operation "
                        f"of them), got {type(domain).__name__}")  # fmt: skip
    if getattr(domain, "time", False):
        raise ValueError(f"{owner}: {name} has a time axis (time=True); set operations take "
                         "spatial domains only")  # fmt: skip


# ---- what Polygon and the set operations share ----------------------------------------------
class _Region(_SetOperations):
    """``contains``, ``sample``, ``grid`` and ``test_grid`` from ``_member`` and ``bounds``."""

    time = False

    @property
    def spatial_faces(self) -> tuple[str, ...]:
        """All faces (there is no time axis)."""
        return self.faces

    @property
    def _size(self) -> float:
        lo, hi = self.bounds
        return float(np.max(np.subtract(hi, lo)))

    def contains(self, x, *, tol: float = 1e-9) -> np.ndarray:
        """Boolean mask (n,) of points x (n, D) in the closed domain (relative tolerance
        ``tol``)."""
        x = _check_x(x, self.dim, "contains")
        return self._member(x, _check_tol(tol, "contains"))

    def sample(self, n: int, *, key=None, method: str = "sobol") -> np.ndarray:
        """``n`` interior points by ``method`` ("sobol", "halton" or "uniform"): (n, D).

        Rejection sampling: the first ``n`` points of the bounding box's sequence (shifted at
        random with ``key``) that lie inside, so the result is deterministic per key.
        """
        n = _check_n(n)
        if n > MAX_POINTS:
            raise ValueError(f"n = {n} is more than nnpde.sampling.MAX_POINTS = {MAX_POINTS}")
        lo, hi = (np.asarray(b) for b in self.bounds)
        m = max(64, 2 * n)
        while True:
            x = lo + (hi - lo) * unit_cube(m, self.dim, key=key, method=method)
            x = x[self._member(x, -_INNER)]
            if len(x) >= n:
                return x[:n]
            if m >= min(MAX_POINTS, _MAX_TRIES) and not len(x):
                raise ValueError(f"sample: no point of {m} inside {self!r}; is it empty?")
            if m >= MAX_POINTS:
                raise ValueError(f"sample(n={n}) needs more than nnpde.sampling.MAX_POINTS = "
                                 f"{MAX_POINTS} candidates in the bounding box")  # fmt: skip
            grow = 4.0 if not len(x) else 1.2 * n / len(x)
            m = min(MAX_POINTS, int(m * grow) + 64)

    def _box_grid(self, n: int, closed: bool, what: str) -> np.ndarray:
        n = _check_n(n)
        _check_total(n, self.dim, what)
        lo, hi = self.bounds
        axes = [np.linspace(a, b, n) if closed else np.linspace(a, b, n + 2)[1:-1]
                for a, b in zip(lo, hi)]  # fmt: skip
        g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        g = g[self._closed(g) if closed else self._member(g, -_INNER)]
        if not len(g):
            raise ValueError(f"{what}(n={n}): no grid point lies inside {self!r}; use a larger n")
        return g

    def _closed(self, x: np.ndarray) -> np.ndarray:
        """The points of x (n, D) in the closed domain (within 1e-9 of its size): (n,) bool."""
        return self._member(x, 1e-9)

    def grid(self, n: int) -> np.ndarray:
        """The points of the bounding box's interior grid (``n`` per axis, ends excluded) that
        lie strictly inside: (P, D), P <= n^D."""
        return self._box_grid(n, False, "grid")

    def test_grid(self, n: int) -> np.ndarray:
        """The points of the bounding box's grid with ends (``n`` per axis) in the closed
        domain: (P, D); for error measurement."""
        return self._box_grid(n, True, "test_grid")


# ---- Polygon --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Polygon(_Region):
    """A simple polygon in D = 2, its vertices in either orientation (not repeated at the end).

    Edge i joins vertex i to vertex i + 1 (the last to the first); its face name is
    ``"edge{i}"``. ``distance`` joins the edge ADFs (Sukumar & Srivastava 2022: trimmed
    segment ADFs and the R-equivalence) and carries the sign of the even-odd inside test.

    Raises:
      ValueError: ``vertices`` not an (n, 2) real finite array, fewer than 3, two coinciding,
        three consecutive collinear (a vertex on a straight edge, or a spike), edges that touch
        or cross, or zero area; in the methods, the count, method, key and ``x`` errors of
        :class:`~nnpde.Box`.

    Example:
      >>> L = Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
      >>> L.faces[:2], L.area
      (('edge0', 'edge1'), 3.0)
      >>> L.contains([[0.5, 1.5], [1.5, 1.5]]).tolist()
      [True, False]
      >>> abs(float(L.distance(np.array([1.5, 1.0])))) < 1e-12  # on edge 2
      True
      >>> float(L.distance(np.array([0.5, 0.5]))) > 0
      True
    """

    vertices: tuple[tuple[float, float], ...]

    def __post_init__(self):
        v = _check_vertices(self.vertices)
        object.__setattr__(self, "vertices", tuple((float(a), float(b)) for a, b in v))

    dim = 2

    @property
    def _v(self) -> np.ndarray:
        return np.asarray(self.vertices)

    @property
    def faces(self) -> tuple[str, ...]:
        """``"edge0"``, ``"edge1"``, ...: edge i runs from vertex i to vertex i + 1."""
        return tuple(f"edge{i}" for i in range(len(self.vertices)))

    def canonical_face(self, face: str) -> str:
        """``face`` itself if it names an edge (else ValueError listing the faces)."""
        _check_face(face, "Polygon")
        if face not in self.faces:
            raise ValueError(f"Polygon has no face {face!r}; its faces are {list(self.faces)}")
        return face

    @property
    def area(self) -> float:
        """The enclosed area (positive for either orientation)."""
        return abs(_signed_area(self._v))

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(lower, upper) corners of the bounding box."""
        v = self._v
        return tuple(v.min(axis=0).tolist()), tuple(v.max(axis=0).tolist())

    @property
    def boundary_measure(self) -> float:
        """The perimeter."""
        return float(np.sum(np.linalg.norm(np.roll(self._v, -1, axis=0) - self._v, axis=1)))

    def _edge_distance(self, x: np.ndarray) -> np.ndarray:
        """Euclidean distance of points (n, 2) to each edge: (n, E)."""
        v = self._v
        d = np.roll(v, -1, axis=0) - v
        s = np.einsum("ned,ed->ne", x[:, None, :] - v, d) / np.sum(d * d, axis=1)
        foot = v + np.clip(s, 0.0, 1.0)[..., None] * d
        return np.linalg.norm(x[:, None, :] - foot, axis=-1)

    def _member(self, x: np.ndarray, tol: float) -> np.ndarray:
        """Inside, or within tol·size of the boundary (tol >= 0); strictly inside by more than
        -tol·size (tol < 0): (n,) bool."""
        v = self._v
        inside = _inside_polygon(x, v, np.roll(v, -1, axis=0), np)
        near = np.min(self._edge_distance(x), axis=1) <= abs(tol) * self._size
        return (inside | near) if tol >= 0 else (inside & ~near)

    def _normals(self) -> np.ndarray:
        """Outward unit normals of the edges: (E, 2)."""
        d = np.roll(self._v, -1, axis=0) - self._v
        n = np.stack([d[:, 1], -d[:, 0]], axis=1) / np.linalg.norm(d, axis=1, keepdims=True)
        return n if _signed_area(self._v) > 0 else -n  # counter-clockwise: outward is right

    def sample_boundary(self, n: int, *, key=None, method: str = "sobol") -> BoundarySample:
        """About ``n`` points on the edges in proportion to their lengths (at least one each),
        with outward unit normals and face names ``"edge{i}"``."""
        n = _check_boundary_args(n, key, method)
        v = self._v
        d = np.roll(v, -1, axis=0) - v
        lengths = np.linalg.norm(d, axis=1)
        counts = np.maximum(1, np.round(n * lengths / lengths.sum()).astype(int))
        normals = self._normals()
        xs, ns, names = [], [], []
        for i, count in enumerate(counts):
            u = unit_cube(int(count), 1, key=None if key is None else _fold(key, i), method=method)
            xs.append(v[i] + u * d[i])
            ns.append(np.broadcast_to(normals[i], (int(count), 2)))
            names.extend([f"edge{i}"] * int(count))
        return BoundarySample(np.concatenate(xs), np.concatenate(ns), np.array(names))

    def on_face(self, x, face: str, *, tol: float = 1e-9) -> np.ndarray:
        """Boolean mask (n,) of points within ``tol`` (relative to the size) of edge ``face``."""
        i = self.faces.index(self.canonical_face(face))
        x = _check_x(x, 2, "on_face")
        tol = _check_tol(tol, "on_face")
        return self._edge_distance(np.asarray(x, float))[:, i] <= tol * self._size

    @functools.cached_property
    def _trimmed_ends(self) -> np.ndarray:
        """(E, 2) bool: whether edge i's line, extended past its start (column 0) or its end
        (column 1), may enter the polygon, so that its ADF must be trimmed at that vertex.

        An extension leaves the polygon for good when the vertex is convex and the ray beyond
        it meets no other edge (tested conservatively: any contact counts). Every edge of a
        convex polygon has both ends open; an L-shape's two inner edges are trimmed only at
        the re-entrant corner.
        """
        v = self._v
        n = len(v)
        w = np.roll(v, -1, axis=0)
        d = (w - v) / np.linalg.norm(w - v, axis=1)[:, None]
        turn = np.roll(d, 1, axis=0)[:, 0] * d[:, 1] - np.roll(d, 1, axis=0)[:, 1] * d[:, 0]
        convex = turn * _signed_area(v) > 0  # at vertex i, between edges i - 1 and i
        trim = np.zeros((n, 2), bool)
        for i in range(n):
            rays = ((v[i], -d[i], i), (w[i], d[i], (i + 1) % n))  # (origin, direction, vertex)
            for col, (origin, step, vertex) in enumerate(rays):
                others = [j for j in range(n) if j not in (vertex, (vertex - 1) % n)]
                trim[i, col] = not convex[vertex] or _ray_meets(origin, step, v[others],
                                                                w[others], self._size)
        return trim

    def _edge_adfs(self, x, edges, outside: bool):
        """Unsigned ADFs of the listed edges at x (..., 2): (..., len(edges)).

        The trimmed segment ADF (``outside=True``, as set operations need outside the
        polygon); inside the polygon (``outside=False``) the edge is trimmed only at the ends
        whose extension may enter the polygon (``_trimmed_ends``): the distance to the line
        where neither may (near a convex corner φ ≈ ab/(a + b) for the distances a, b to the
        two edges, smooth for the network), a ray ADF trimmed at one vertex where one may.
        """
        x = jnp.asarray(x)
        x = x.astype(jnp.result_type(x.dtype, jnp.float32))
        idx = np.asarray(edges, dtype=int)
        v = jnp.asarray(self._v, x.dtype)
        w = jnp.roll(v, -1, axis=0)
        f, along, disk, length = _edge_coords(x, v[idx], w[idx])
        if outside:
            return _trim(f, disk)
        ends = _lead(jnp.asarray(self._trimmed_ends[idx]), x.ndim + 1)  # (..., E, 2)
        start, end = ends[..., 0], ends[..., 1]
        # t of the kept part: the segment's disk (both ends trimmed), the ray from the one
        # trimmed vertex; an edge trimmed at neither end is its line's distance.
        t = jnp.where(start & end, disk, jnp.where(start, along, length - along))
        line = jnp.abs(f) + jnp.finfo(x.dtype).tiny  # > 0 for the join
        return jnp.where(start | end, _trim(f, t), line)

    def _adf(self, x, outside: bool):
        x = jnp.asarray(x)
        x = x.astype(jnp.result_type(x.dtype, jnp.float32))
        v = jnp.asarray(self._v, x.dtype)
        phi = _join(self._edge_adfs(x, range(len(self.vertices)), outside))
        return jnp.where(_inside_polygon(x, v, jnp.roll(v, -1, axis=0)), phi, -phi)

    def distance(self, x):
        """ADF φ(x): 0 on the edges, > 0 inside, ≤ 0 outside: (...) for x (..., 2).

        φ = (Σ_i φ_i^{-m})^{-1/m} over the edges' ADFs φ_i (m = ``JOIN_M``): each edge's
        line distance, trimmed only at the ends where the line may enter the polygon
        (``_edge_adfs``); negated outside the polygon (even-odd test). Smooth inside except
        at re-entrant corners (a JAX function, used inside ``jit``/``vmap``/``grad``).
        Outside, φ is 0 on the untrimmed extensions of edges; set operations use the
        everywhere-trimmed variant where they need φ outside an operand.
        """
        return self._adf(x, False)

    def face_distance(self, faces, outside: bool = False) -> Any:
        """φ of the listed edges only (0 on them, > 0 elsewhere in the polygon): a callable of
        points (..., 2); the B of a trial solution with Dirichlet data on some edges."""
        edges = tuple(self.faces.index(self.canonical_face(f)) for f in faces)
        return lambda x: _join(self._edge_adfs(x, edges, outside))


def _rectangle(box: Box) -> Polygon:
    """A 2-D box as a polygon, counter-clockwise from the lower left corner: its edges are the
    faces x1_min, x0_max, x1_max, x0_min."""
    (a0, a1), (b0, b1) = box.lower, box.upper
    return Polygon([(a0, a1), (b0, a1), (b0, b1), (a0, b1)])


_RECT_FACES = ("x1_min", "x0_max", "x1_max", "x0_min")


def face_distance(domain, faces, outside: bool = False):
    """An unsigned ADF of the listed faces of ``domain`` (0 on them, > 0 in the domain off
    them, and with ``outside`` also off them outside it): a callable of points (..., D).

    Raises:
      NotImplementedError: the domain cannot give one (a union, a Box in D != 2).
    """
    if isinstance(domain, Box):
        if domain.dim != 2:
            raise NotImplementedError("face distances of a Box need D = 2")
        edges = [f"edge{_RECT_FACES.index(domain.canonical_face(f))}" for f in faces]
        return _rectangle(domain).face_distance(edges, outside)
    if isinstance(domain, Disk):
        return lambda x: jnp.abs(domain.distance(x))
    if hasattr(domain, "face_distance"):
        return domain.face_distance(faces, outside)
    raise NotImplementedError(f"no face distance for {type(domain).__name__}")


def kinked_faces(domain, faces) -> str | None:
    """Why ψ = A + φ·N with the ADF φ of ``faces`` (all of them: the domain's ``distance``)
    would need a network N with a kink, or None where it does not.

    Near a corner where φ is not the product form ab/(a + b) of two smooth distances — a
    polygon edge trimmed at a re-entrant vertex (or where its line re-enters), the corners of
    a hole with corners, operand boundaries that cross (an R₀ join) — φ is a cone, ~r·h(θ),
    and for smooth data the exact N = (u - A)/φ is ~r·k(θ): its second derivatives grow like
    1/r and no smooth network matches it. Measured (2×20 tanh, 1024 points, seeds 0-1,
    ``benchmarks/results/corners-cpu.md``), rel-L2 with φ against the data as a penalty: the
    L-shaped polygon 9.4e-5 … 1.7e-4 against 2.2e-8 … 2.7e-8; a square cut by a quarter disk
    3.3e-7 … 3.5e-7 against 5.7e-9 … 1.1e-8; a square with a round hole (no corner, φ kept)
    6.4e-9 … 6.5e-9.
    """
    if isinstance(domain, Polygon):
        edges = [domain.faces.index(domain.canonical_face(f)) for f in faces]
        if domain._trimmed_ends[edges].any():
            return "an exactly imposed edge ends at a re-entrant corner"
        return None
    if not isinstance(domain, _SetOperation):
        return None  # a Box (product form) or a Disk (smooth)
    if any(0.0 < f < 1.0 for f in domain._fractions):
        return "the operands' boundaries cross (corners)"
    names = [domain.canonical_face(f) for f in faces]
    for op in ("a", "b"):
        mine = [f.partition(".")[2] for f in names if f.startswith(op + ".")]
        if not mine:
            continue
        inner = getattr(domain, op)
        if op == "b" and isinstance(domain, Difference) and not isinstance(inner, Disk):
            return "the hole has corners (re-entrant for the difference)"
        reason = kinked_faces(inner, mine)
        if reason:
            return reason
    return None


def _adf(domain, x, outside: bool):
    """The domain's signed ADF; with ``outside``, one whose zero set is the boundary outside
    the domain too (what an R-function needs of an operand whose exterior matters)."""
    if hasattr(domain, "_adf"):
        return domain._adf(x, outside)
    if isinstance(domain, Box) and outside:
        return domain._slab_distance(x)
    return domain.distance(x)


# ---- set operations -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _SetOperation(_Region):
    a: Any
    b: Any

    _symbol = "?"

    def __post_init__(self):
        name = type(self).__name__
        _check_domain(self.a, "a", name)
        _check_domain(self.b, "b", name)
        if self.a.dim != self.b.dim:
            raise ValueError(f"{name}: a and b must have the same dimension, got D = "
                             f"{self.a.dim} and D = {self.b.dim}")  # fmt: skip
        lo, hi = self.bounds
        if not all(x < y for x, y in zip(lo, hi)):
            raise ValueError(f"{name}: a {self._symbol} b is empty: {self.a!r} and {self.b!r} "
                             "do not overlap")  # fmt: skip
        x = np.asarray(lo) + np.subtract(hi, lo) * unit_cube(_PILOT, self.dim)
        if not self._member(x, -_INNER).any():
            raise ValueError(f"{name}: a {self._symbol} b is empty (or thinner than {_PILOT} "
                             f"points of its bounding box resolve), a = {self.a!r}, "
                             f"b = {self.b!r}")  # fmt: skip

    @property
    def dim(self) -> int:
        """D, the number of coordinates."""
        return self.a.dim

    @property
    def faces(self) -> tuple[str, ...]:
        """The operands' faces, prefixed ``"a."`` and ``"b."`` (some may not reach the
        boundary of the result)."""
        return tuple("a." + f for f in self.a.faces) + tuple("b." + f for f in self.b.faces)

    def canonical_face(self, face: str) -> str:
        """``"a.<face of a>"`` or ``"b.<face of b>"``, with the operand's aliases resolved."""
        _check_face(face, type(self).__name__)
        head, _, rest = face.partition(".")
        if head in ("a", "b") and rest:
            try:
                return head + "." + getattr(self, head).canonical_face(rest)
            except ValueError:
                pass
        raise ValueError(f"{type(self).__name__} has no face {face!r}; its faces are "
                         f"{list(self.faces)}")  # fmt: skip

    def on_face(self, x, face: str, *, tol: float = 1e-9) -> np.ndarray:
        """Boolean mask (n,) of points within ``tol`` of ``face`` and in the closed domain."""
        head, _, rest = self.canonical_face(face).partition(".")
        x = _check_x(x, self.dim, "on_face")
        tol = _check_tol(tol, "on_face")
        return getattr(self, head).on_face(x, rest, tol=tol) & self._member(x, tol)

    def _kept(self, operand: str, n: int, key, method: str):
        """The operand's boundary points that lie on this boundary, with this domain's outward
        normals: a BoundarySample (face names prefixed), found by stepping ± a small distance
        along the operand's normal and asking which side is inside."""
        dom = getattr(self, operand)
        s = dom.sample_boundary(n, key=key, method=method)
        eps = _PROBE * self._size
        inner, outer = s.x - eps * s.normal, s.x + eps * s.normal
        keep_in, keep_out = self._member(inner, 0.0), self._member(outer, 0.0)
        keep = keep_in != keep_out
        if operand == "b":  # a coinciding piece of a's boundary is taken from a
            other = self.a
            keep &= other._member(inner, 0.0) == other._member(outer, 0.0)
        normal = np.where(keep_in[:, None], s.normal, -s.normal)
        names = np.char.add(operand + ".", s.face.astype(str))
        return BoundarySample(s.x[keep], normal[keep], names[keep]), float(keep.mean())

    @functools.cached_property
    def _fractions(self) -> tuple[float, float]:
        """Fractions of a's and b's boundary on this one (from a pilot sample)."""
        return tuple(self._kept(op, _PILOT, None, "sobol")[1] for op in ("a", "b"))

    @property
    def boundary_measure(self) -> float:
        """The boundary's measure, estimated from a pilot sample of the operands' boundaries."""
        fa, fb = self._fractions
        return fa * self.a.boundary_measure + fb * self.b.boundary_measure

    def sample_boundary(self, n: int, *, key=None, method: str = "sobol") -> BoundarySample:
        """About ``n`` boundary points (in proportion to the pieces' measures), with outward
        unit normals and the operands' face names prefixed ``"a."``/``"b."``."""
        n = _check_boundary_args(n, key, method)
        total = self.boundary_measure
        parts = []
        for i, (op, frac) in enumerate(zip(("a", "b"), self._fractions)):
            if frac == 0:
                continue
            want = max(1, math.ceil(n * getattr(self, op).boundary_measure / total))
            sub = None if key is None else _fold(key, i)
            parts.append(self._kept(op, min(want, MAX_POINTS), sub, method)[0])
        return BoundarySample(*(np.concatenate(f) for f in zip(*parts)))

    _b_outside = True  # the exterior of b matters (difference) or not (intersection)

    def _closed(self, x: np.ndarray) -> np.ndarray:
        """The points of x (n, D) in the closure of the domain's interior: ``_member`` within
        1e-9 of the size, less the slivers an operation leaves — a piece of a's boundary inside
        b (``Box((-1, -1), (1, 1)) - Box((0, 0), (1, 1))`` keeps the segments x = 1, 0 < y < 1
        and y = 1, 0 < x < 1 in ``_member``, though no interior point is near them). A point is
        kept when a probe at 1e-6 of the size along an axis or a diagonal is strictly inside;
        corners sharper than the probes' 45° spacing may be dropped (measure zero)."""
        keep = self._member(x, 1e-9)
        d = self.dim
        probes = [np.eye(d)[i] * s for i in range(d) for s in (-1.0, 1.0)]
        if d <= 6:
            corners = itertools.product((-1.0, 1.0), repeat=d)
            probes += [np.asarray(c) / math.sqrt(d) for c in corners]
        near = np.zeros(len(x), bool)
        step = 1e-6 * self._size
        for e in probes:
            near |= self._member(x + step * e, -1e-9)
        return keep & near

    def distance(self, x):
        """Signed ADF (R-function of the operands' ADFs): 0 on the boundary, > 0 inside,
        < 0 outside: (...) for x (..., D)."""
        return self._adf(x, False)

    def face_distance(self, faces, outside: bool = False):
        """Unsigned ADF of the listed faces: the R_m-equivalence of the operands' face ADFs.
        Valid for a difference or an intersection (where an operand's face outside the result
        lies outside the domain too); a union raises NotImplementedError."""
        if isinstance(self, Union):
            raise NotImplementedError("a union gives no face distance")
        names = [self.canonical_face(f) for f in faces]
        fns = []
        for op in ("a", "b"):
            mine = [f.partition(".")[2] for f in names if f.startswith(op + ".")]
            if mine:
                out = outside or (op == "b" and self._b_outside)
                fns.append(face_distance(getattr(self, op), mine, out))

        def phi(x):
            x = jnp.asarray(x)
            return _join(jnp.stack([fn(x) for fn in fns], axis=-1))

        return phi


@dataclasses.dataclass(frozen=True)
class Union(_SetOperation):
    """a | b: the points in a or in b. ``distance`` is the R₀-disjunction of the operands'.

    Example:
      >>> from nnpde.domains import Box, Disk
      >>> u = Box((0.0, 0.0), (2.0, 1.0)) | Disk((2.0, 0.5), 0.5)
      >>> u.contains([[2.4, 0.5], [2.6, 0.5]]).tolist()
      [True, False]
    """

    _symbol = "|"

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        (la, ha), (lb, hb) = self.a.bounds, self.b.bounds
        return tuple(np.minimum(la, lb).tolist()), tuple(np.maximum(ha, hb).tolist())

    def _member(self, x, tol):
        return self.a._member(x, tol) | self.b._member(x, tol)

    def _adf(self, x, outside: bool):
        """a ∨ b = φ_a + φ_b + sqrt(φ_a² + φ_b²): each operand's exterior matters."""
        return _r_or(_adf(self.a, x, True), _adf(self.b, x, True))


@dataclasses.dataclass(frozen=True)
class Intersection(_SetOperation):
    """a & b: the points in both. ``distance`` is the R₀-conjunction of the operands'.

    Raises:
      ValueError: a and b do not overlap (empty intersection).

    Example:
      >>> from nnpde.domains import Disk
      >>> lens = Disk((0.0, 0.0), 1.0) & Disk((1.0, 0.0), 1.0)
      >>> lens.contains([[0.5, 0.0], [-0.5, 0.0]]).tolist()
      [True, False]
    """

    _symbol = "&"

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        (la, ha), (lb, hb) = self.a.bounds, self.b.bounds
        return tuple(np.maximum(la, lb).tolist()), tuple(np.minimum(ha, hb).tolist())

    def _member(self, x, tol):
        return self.a._member(x, tol) & self.b._member(x, tol)

    _b_outside = False

    def _adf(self, x, outside: bool):
        """a ∧ b = φ_a + φ_b - sqrt(φ_a² + φ_b²)."""
        return _r_and(_adf(self.a, x, outside), _adf(self.b, x, outside))


@dataclasses.dataclass(frozen=True)
class Difference(_SetOperation):
    """a - b: the points of a not in the interior of b (a hole, a notch).

    Raises:
      ValueError: b covers a (empty difference).

    Example:
      >>> from nnpde.domains import Box, Disk
      >>> ring = Box((0.0, 0.0), (1.0, 1.0)) - Disk((0.5, 0.5), 0.25)
      >>> ring.contains([[0.5, 0.5], [0.1, 0.1]]).tolist()
      [False, True]
      >>> ring.faces[-1]
      'b.boundary'
    """

    _symbol = "-"

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.a.bounds

    def _member(self, x, tol):
        return self.a._member(x, tol) & ~self.b._member(x, -tol)

    def _adf(self, x, outside: bool):
        """a ∧ ¬b = φ_a - φ_b - sqrt(φ_a² + φ_b²): b's exterior is the domain."""
        return _r_and(_adf(self.a, x, outside), -_adf(self.b, x, True))

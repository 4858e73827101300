"""Domains and their collocation points: ``Interval``, ``Box`` (any D, optionally with time as the
last coordinate) and ``Disk``. Polygons and set operations (``a - b``, ``a | b``, ``a & b``) are
in :mod:`nnpde.geometry`.

Every domain is a frozen, hashable dataclass holding only Python floats. Points are returned as
numpy float64 arrays (cast them to your dtype); they are made once, outside the jitted hot path.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from nnpde.sampling import MAX_POINTS, _check_sampling, unit_cube

__all__ = ["BoundarySample", "Box", "Disk", "Interval"]


class BoundarySample(NamedTuple):
    """Points on a domain's boundary with their outward unit normals and face names."""

    x: np.ndarray  # shape=(n, D)
    normal: np.ndarray  # shape=(n, D), outward, unit length
    face: np.ndarray  # shape=(n,), str: the face each point lies on


def _floats(name: str, value) -> tuple[float, ...]:
    try:
        arr = np.atleast_1d(np.asarray(value))
        ok = arr.ndim == 1 and arr.size > 0 and arr.dtype.kind in "iuf"
    except (TypeError, ValueError):  # ragged sequences
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a real number or a 1-D sequence of them, got {value!r}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return tuple(float(v) for v in arr)


def _check_n(n, what: str = "n") -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return int(n)


def _check_total(n: int, dim: int, method: str) -> None:
    """A grid of n points per axis in D = dim stays within MAX_POINTS (checked before n^D)."""
    digits = dim * math.log10(n)
    limit = math.log10(MAX_POINTS)
    if digits > limit + 1e-6 or (digits > limit - 1e-6 and n**dim > MAX_POINTS):
        raise ValueError(
            f"{method}(n={n}) in D={dim} would make n^D ≈ 10^{digits:.1f} points, more than "
            f"nnpde.sampling.MAX_POINTS = {MAX_POINTS}; use sample(n) in high dimensions"
        )


def _check_boundary_args(n, key, method) -> int:
    """``sample_boundary``'s arguments, checked even where a domain does not use them all."""
    n = _check_n(n)
    if n > MAX_POINTS:
        raise ValueError(f"n = {n} is more than nnpde.sampling.MAX_POINTS = {MAX_POINTS}")
    _check_sampling(method, key)
    return n


def _check_x(x, dim: int, method: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != dim or x.dtype.kind not in "iuf":
        raise ValueError(
            f"{method}: x must be a real array of shape (n, {dim}), got "
            f"{getattr(x, 'dtype', '?')} of shape {x.shape}"
        )
    return x


def _check_tol(tol, method: str) -> float:
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, (int, float, np.integer,
                                                                    np.floating)):  # fmt: skip
        raise ValueError(f"{method}: tol must be a number >= 0, got {tol!r}")
    if not tol >= 0:
        raise ValueError(f"{method}: tol must be a number >= 0, got {tol!r}")
    return float(tol)


def _check_face(face, owner: str) -> None:
    if not isinstance(face, str):
        raise TypeError(f"{owner}: face must be a face name (str), got {type(face).__name__}")


class _SetOperations:
    """``a - b``, ``a | b`` and ``a & b`` of two domains (:mod:`nnpde.geometry`)."""

    def __sub__(self, other):
        from nnpde.geometry import Difference

        return Difference(self, other)

    def __or__(self, other):
        from nnpde.geometry import Union

        return Union(self, other)

    def __and__(self, other):
        from nnpde.geometry import Intersection

        return Intersection(self, other)


def _r_and(a, b):
    """R₀-conjunction a ∧ b = a + b - sqrt(a² + b²): > 0 where both are, 0 on either zero set
    (normalized to first order there), smooth except where a = b = 0. Sukumar & Srivastava
    (2022)."""
    import jax.numpy as jnp

    tiny = jnp.finfo(jnp.result_type(a, b)).tiny  # keeps the gradient finite at a = b = 0
    return a + b - jnp.sqrt(a * a + b * b + tiny)


def _r_or(a, b):
    """R₀-disjunction a ∨ b = a + b + sqrt(a² + b²) (Sukumar & Srivastava (2022))."""
    import jax.numpy as jnp

    tiny = jnp.finfo(jnp.result_type(a, b)).tiny
    return a + b + jnp.sqrt(a * a + b * b + tiny)


@dataclasses.dataclass(frozen=True)
class Box(_SetOperations):
    """The box [lower_0, upper_0] x ... x [lower_{D-1}, upper_{D-1}].

    Faces are named ``"x{i}_min"`` / ``"x{i}_max"`` for axis i. With ``time=True`` the last axis
    is time t: its faces are ``"t_min"`` (alias ``"initial"``) and ``"t_max"``, and
    ``spatial_faces`` excludes them.

    Raises:
      ValueError: ``lower``/``upper`` not real, not finite, of different lengths, not
        ``lower < upper`` on every axis, or with an infinite width; in the methods, a count that
        is not a positive int or that would exceed ``nnpde.sampling.MAX_POINTS`` points (a grid
        of ``n`` per axis has n^D), an unknown ``method``, or ``x`` not of shape (n, D).
      TypeError: ``time`` not a bool, a face name that is not a str, or a ``key`` that is not a
        PRNG key.

    Example:
      >>> box = Box((0.0, 0.0), (1.0, 2.0))
      >>> box.grid(3).shape
      (9, 2)
      >>> box.faces
      ('x0_min', 'x0_max', 'x1_min', 'x1_max')
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    time: bool = False

    def __post_init__(self):
        lo, hi = _floats("lower", self.lower), _floats("upper", self.upper)
        if len(lo) != len(hi):
            raise ValueError(f"lower and upper must have the same length, got {lo} and {hi}")
        if not all(a < b for a, b in zip(lo, hi)):
            raise ValueError(f"need lower < upper on every axis, got lower={lo}, upper={hi}")
        with np.errstate(over="ignore"):
            width = np.subtract(hi, lo)
        if not np.all(np.isfinite(width)):
            raise ValueError(f"upper - lower must be finite on every axis, got lower={lo}, "
                             f"upper={hi}")  # fmt: skip
        if not isinstance(self.time, (bool, np.bool_)):
            raise TypeError(f"time must be a bool, got {self.time!r}")
        object.__setattr__(self, "time", bool(self.time))
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    @property
    def dim(self) -> int:
        """D, the number of coordinates (time included)."""
        return len(self.lower)

    def _axis_name(self, i: int) -> str:
        return "t" if (self.time and i == self.dim - 1) else f"x{i}"

    @property
    def faces(self) -> tuple[str, ...]:
        """Face names, two per axis (min then max)."""
        return tuple(f"{self._axis_name(i)}_{s}" for i in range(self.dim) for s in ("min", "max"))

    @property
    def spatial_faces(self) -> tuple[str, ...]:
        """Faces that are not t = t_min or t = t_max."""
        return tuple(f for f in self.faces if not f.startswith("t_"))

    def canonical_face(self, face: str) -> str:
        """Resolves aliases ("initial", "left", "right", ...) to a name in ``faces``."""
        _check_face(face, type(self).__name__)
        aliases = {"initial": "t_min", "final": "t_max"}
        if self.dim - (1 if self.time else 0) >= 1:
            aliases.update(left="x0_min", right="x0_max")
        if self.dim - (1 if self.time else 0) >= 2:
            aliases.update(bottom="x1_min", top="x1_max")
        name = aliases.get(face, face)
        if name not in self.faces:
            raise ValueError(
                f"{type(self).__name__} has no face {face!r}; its faces are {list(self.faces)}"
                + (" (plus aliases " + ", ".join(sorted(aliases)) + ")" if aliases else "")
            )
        return name

    def face_axis(self, face: str) -> tuple[int, int]:
        """(axis, side) of a face: side 0 for lower, 1 for upper."""
        name = self.canonical_face(face)
        return self.faces.index(name) // 2, self.faces.index(name) % 2

    def _scale(self, u: np.ndarray) -> np.ndarray:
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        return lo + (hi - lo) * u

    def grid(self, n, *, closed: tuple[str, ...] = ()) -> np.ndarray:
        """Equidistant grid of collocation points: (n_0 · ... · n_{D-1}, D), axis 0 slowest.

        By default the grid is interior: on axis i, the n_i points strictly between its
        faces, spaced (upper_i - lower_i)/(n_i + 1) (the faces themselves are left to the
        boundary conditions). Faces named in ``closed`` are reached: an axis with one closed
        face has n_i points from the open end's first interior point to the closed face
        (spacing (upper_i - lower_i)/n_i), one with both closed has n_i points from face to
        face. Use it for faces the equation must hold on that no condition constrains, such
        as the final time ``"t_max"``, or a face with only a Neumann condition.

        Args:
          n: points per axis: one positive int for all axes, or a tuple of D of them.
          closed: face names (``"x0_max"``, ``"t_max"`` or aliases such as ``"right"``,
            ``"final"``) that the grid reaches.

        Example:
          >>> Box((0.0, 0.0), (1.0, 1.0), time=True).grid((2, 2), closed=("t_max",))[:, 1]
          array([0.5, 1. , 0.5, 1. ])
        """
        counts = self._axis_counts(n, "grid")
        if isinstance(closed, str) or not isinstance(closed, (tuple, list)):
            raise TypeError(f"grid: closed must be a tuple of face names, got {closed!r}")
        ends = {self.face_axis(face) for face in closed}  # (axis, side); checks the names
        axes = []
        for i, (a, b, m) in enumerate(zip(self.lower, self.upper, counts)):
            lo, hi = (i, 0) in ends, (i, 1) in ends
            t = np.linspace(a, b, m + 2 - lo - hi)
            axes.append(t[(0 if lo else 1) : (len(t) if hi else -1)])
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)

    def _axis_counts(self, n, method: str) -> tuple[int, ...]:
        """``n`` (an int, or D of them) as D counts, within ``MAX_POINTS`` in all."""
        if isinstance(n, (tuple, list)):
            bad = len(n) != self.dim or not all(
                isinstance(m, (int, np.integer)) and not isinstance(m, (bool, np.bool_)) and m >= 1
                for m in n
            )
            if bad:
                raise ValueError(f"n must be a positive int or {self.dim} of them (one per "
                                 f"axis), got {n!r}")  # fmt: skip
            counts = tuple(int(m) for m in n)
            if math.prod(counts) > MAX_POINTS:
                raise ValueError(f"{method}(n={counts}) would make {math.prod(counts)} points, "
                                 f"more than nnpde.sampling.MAX_POINTS = {MAX_POINTS}")
            return counts
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int or {self.dim} of them (one per axis), "
                             f"got {n!r}")  # fmt: skip
        n = int(n)
        _check_total(n, self.dim, method)
        return (n,) * self.dim

    def test_grid(self, n: int) -> np.ndarray:
        """Grid with the ends included, ``n`` points per axis: (n^D, D); for error measurement."""
        n = _check_n(n)
        _check_total(n, self.dim, "test_grid")
        axes = [np.linspace(a, b, n) for a, b in zip(self.lower, self.upper)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)

    def sample(self, n: int, *, key=None, method: str = "sobol") -> np.ndarray:
        """``n`` interior points by ``method`` ("sobol", "halton" or "uniform"): (n, D)."""
        return self._scale(unit_cube(_check_n(n), self.dim, key=key, method=method))

    def sample_boundary(self, n: int, *, key=None, method: str = "sobol") -> BoundarySample:
        """About ``n`` boundary points spread over the faces in proportion to their areas.

        Each face gets at least one point. In D = 1 the two end points are returned.
        """
        n = _check_boundary_args(n, key, method)
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        d = self.dim
        if d == 1:
            x = np.array([[lo[0]], [hi[0]]])
            return BoundarySample(x, np.array([[-1.0], [1.0]]), np.array(list(self.faces)))
        areas = np.array([np.prod(np.delete(hi - lo, i)) for i in range(d) for _ in (0, 1)])
        counts = np.maximum(1, np.round(n * areas / areas.sum()).astype(int))
        xs, normals, names = [], [], []
        for f, (name, count) in enumerate(zip(self.faces, counts)):
            axis, side = divmod(f, 2)
            sub = key if key is None else _fold(key, f)
            u = unit_cube(int(count), d - 1, key=sub, method=method)
            pts = np.insert(lo[np.arange(d) != axis] + (hi - lo)[np.arange(d) != axis] * u,
                            axis, (lo, hi)[side][axis], axis=1)  # fmt: skip
            normal = np.zeros((int(count), d))
            normal[:, axis] = 1.0 if side else -1.0
            xs.append(pts)
            normals.append(normal)
            names.extend([name] * int(count))
        return BoundarySample(np.concatenate(xs), np.concatenate(normals), np.array(names))

    def on_face(self, x, face: str, *, tol: float = 1e-9) -> np.ndarray:
        """Boolean mask (n,) of points within ``tol`` (relative to the box size) of ``face``."""
        axis, side = self.face_axis(face)
        x = _check_x(x, self.dim, "on_face")
        tol = _check_tol(tol, "on_face")
        scale = self.upper[axis] - self.lower[axis]
        return np.abs(x[:, axis] - (self.lower, self.upper)[side][axis]) <= tol * scale

    def contains(self, x, *, tol: float = 1e-9) -> np.ndarray:
        """Boolean mask (n,) of points in the closed box (with relative tolerance ``tol``)."""
        x = _check_x(x, self.dim, "contains")
        return self._member(x, _check_tol(tol, "contains"))

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(lower, upper) corners of the bounding box."""
        return self.lower, self.upper

    @property
    def boundary_measure(self) -> float:
        """The boundary's (D-1)-dimensional measure (2 in D = 1: two end points)."""
        w = np.subtract(self.upper, self.lower)
        return float(sum(2 * np.prod(np.delete(w, i)) for i in range(self.dim)))

    def _member(self, x: np.ndarray, tol: float) -> np.ndarray:
        """In the box grown (tol > 0) or shrunk (tol < 0) by tol times its widths: (n,) bool."""
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        slack = tol * (hi - lo)
        return np.all((x >= lo - slack) & (x <= hi + slack), axis=-1)

    def distance(self, x):
        """Approximate distance function φ(x): > 0 inside, 0 on the faces, ≤ 0 outside.

        φ = (Σ_faces 1/φ_f)^{-1} over the distances φ_f = x_i - lower_i, upper_i - x_i to the
        faces' planes, the R₁-equivalence of Sukumar & Srivastava (2022), CMAME 389, 114333,
        normalized (|∇φ| = 1 on the faces away from edges); near a corner
        φ ≈ ab/(a + b) for the distances a, b to its two faces. Negated outside the box.

        Args:
          x: points (..., D), a JAX or numpy array.

        Returns:
          φ (...): a JAX array, differentiable (for set operations of :mod:`nnpde.geometry`).
        """
        import jax.numpy as jnp

        from nnpde.geometry import _join

        x = jnp.asarray(x)
        x = x.astype(jnp.result_type(x.dtype, jnp.float32))
        lo = jnp.reshape(jnp.asarray(self.lower, x.dtype), (1,) * (x.ndim - 1) + (self.dim,))
        hi = jnp.reshape(jnp.asarray(self.upper, x.dtype), (1,) * (x.ndim - 1) + (self.dim,))
        tiny = jnp.finfo(x.dtype).tiny
        faces = jnp.abs(jnp.concatenate([x - lo, hi - x], axis=-1)) + tiny
        inside = jnp.all((x >= lo) & (x <= hi), axis=-1)
        phi = _join(faces)
        return jnp.where(inside, phi, -phi)

    def _slab_distance(self, x):
        """A signed ADF whose zero set is exactly the boundary, outside the box too: the
        R₀-conjunction (:func:`_r_and`) over the axes of the slabs
        (x_i - lower_i)(upper_i - x_i)/(upper_i - lower_i). Sukumar & Srivastava (2022)."""
        import jax.numpy as jnp

        x = jnp.asarray(x)
        x = x.astype(jnp.result_type(x.dtype, jnp.float32))
        lo = jnp.reshape(jnp.asarray(self.lower, x.dtype), (1,) * (x.ndim - 1) + (self.dim,))
        hi = jnp.reshape(jnp.asarray(self.upper, x.dtype), (1,) * (x.ndim - 1) + (self.dim,))
        slabs = (x - lo) * (hi - x) / (hi - lo)
        out = slabs[..., 0]
        for i in range(1, self.dim):
            out = _r_and(out, slabs[..., i])
        return out


def _fold(key, i: int):
    import jax

    return jax.random.fold_in(key, i)


@dataclasses.dataclass(frozen=True, init=False)
class Interval(Box):
    """The interval [a, b] (D = 1): a ``Box`` with faces ``"left"`` (x = a) and ``"right"``.

    With ``time=True`` the coordinate is t and ``"left"`` is the initial face.

    Example:
      >>> Interval(0.0, 1.0).grid(4).ravel().round(12).tolist()
      [0.2, 0.4, 0.6, 0.8]
    """

    def __init__(self, a: float, b: float, time: bool = False):
        for name, value in (("a", a), ("b", b)):
            arr = np.asarray(value) if not isinstance(value, (str, bytes)) else None
            if arr is None or arr.shape != () or arr.dtype.kind not in "iuf":
                raise ValueError(f"Interval: {name} must be a real number, got {value!r}")
        super().__init__((a,), (b,), time)

    @property
    def a(self) -> float:
        return self.lower[0]

    @property
    def b(self) -> float:
        return self.upper[0]

    @property
    def faces(self) -> tuple[str, ...]:
        return ("left", "right")

    def canonical_face(self, face: str) -> str:
        _check_face(face, "Interval")
        aliases = {"x0_min": "left", "x0_max": "right", "t_min": "left", "t_max": "right"}
        if self.time:
            aliases.update(initial="left", final="right")
        name = aliases.get(face, face)
        if name not in self.faces:
            raise ValueError(
                f"Interval has no face {face!r}; its faces are ['left', 'right'] "
                f"(aliases: {', '.join(sorted(aliases))})"
            )
        return name

    def __repr__(self) -> str:
        return f"Interval({self.a}, {self.b}" + (", time=True)" if self.time else ")")


@dataclasses.dataclass(frozen=True)
class Disk(_SetOperations):
    """The closed disk |x - center| <= radius in D = 2; its boundary face is ``"boundary"``.

    Raises:
      ValueError: ``center`` not two finite reals, ``radius`` not a positive finite real;
        in the methods, the same count, method and ``x`` errors as :class:`Box`.

    Example:
      >>> Disk((0.0, 0.0), 1.0).sample(5).shape
      (5, 2)
    """

    center: tuple[float, float] = (0.0, 0.0)
    radius: float = 1.0

    def __post_init__(self):
        c = _floats("center", self.center)
        if len(c) != 2:
            raise ValueError(f"Disk center must have 2 coordinates, got {self.center!r}")
        radius = self.radius
        arr = np.asarray(radius) if not isinstance(radius, (str, bytes)) else None
        if arr is None or arr.shape != () or arr.dtype.kind not in "iuf":
            raise ValueError(f"Disk radius must be a positive number, got {radius!r}")
        r = float(arr)
        if not (math.isfinite(r) and r > 0):
            raise ValueError(f"Disk radius must be a positive number, got {radius!r}")
        if not all(math.isfinite(ci - r) and math.isfinite(ci + r) for ci in c):
            raise ValueError(f"Disk center ± radius must be finite, got {c} and {r}")
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "radius", r)

    dim = 2
    time = False
    faces = ("boundary",)
    spatial_faces = ("boundary",)

    def canonical_face(self, face: str) -> str:
        _check_face(face, "Disk")
        if face not in ("boundary", "circle"):
            raise ValueError(f"Disk has no face {face!r}; its face is 'boundary'")
        return "boundary"

    def grid(self, n: int) -> np.ndarray:
        """Points of the n x n grid over the bounding square strictly inside the disk."""
        n = _check_n(n)
        _check_total(n, 2, "grid")
        u = np.linspace(-1.0, 1.0, n + 2)[1:-1]
        g = np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2)
        g = g[np.sum(g * g, axis=1) < 1.0]
        return np.asarray(self.center) + self.radius * g

    def test_grid(self, n: int) -> np.ndarray:
        """Points of the n x n grid over the bounding square in the closed disk."""
        n = _check_n(n)
        _check_total(n, 2, "test_grid")
        u = np.linspace(-1.0, 1.0, n)
        g = np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2)
        g = g[np.sum(g * g, axis=1) <= 1.0 + 1e-12]
        return np.asarray(self.center) + self.radius * g

    def sample(self, n: int, *, key=None, method: str = "sobol") -> np.ndarray:
        """``n`` points in the disk, area-uniform (r = R sqrt(u1), phi = 2 pi u2): (n, 2)."""
        u = unit_cube(_check_n(n), 2, key=key, method=method)
        r = self.radius * np.sqrt(u[:, 0])
        phi = 2 * np.pi * u[:, 1]
        return np.asarray(self.center) + np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)

    def sample_boundary(self, n: int, *, key=None, method: str = "sobol") -> BoundarySample:
        """``n`` equally spaced points on the circle (randomly rotated with ``key``)."""
        n = _check_boundary_args(n, key, method)
        shift = 0.0 if key is None else float(unit_cube(1, 1, key=key, method="uniform")[0, 0])
        phi = 2 * np.pi * (np.arange(n) + shift) / n
        normal = np.stack([np.cos(phi), np.sin(phi)], axis=1)
        x = np.asarray(self.center) + self.radius * normal
        return BoundarySample(x, normal, np.array(["boundary"] * n))

    def on_face(self, x, face: str, *, tol: float = 1e-9) -> np.ndarray:
        self.canonical_face(face)
        x = _check_x(x, 2, "on_face")
        tol = _check_tol(tol, "on_face")
        r = np.linalg.norm(x - np.asarray(self.center), axis=-1)
        return np.abs(r - self.radius) <= tol * self.radius

    def contains(self, x, *, tol: float = 1e-9) -> np.ndarray:
        x = _check_x(x, 2, "contains")
        return self._member(x, _check_tol(tol, "contains"))

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(lower, upper) corners of the bounding square."""
        c, r = self.center, self.radius
        return (c[0] - r, c[1] - r), (c[0] + r, c[1] + r)

    @property
    def boundary_measure(self) -> float:
        """The circumference 2πR."""
        return 2 * math.pi * self.radius

    def _member(self, x: np.ndarray, tol: float) -> np.ndarray:
        """In the disk of radius R(1 + tol) (tol < 0: strictly inside by -tol R): (n,) bool."""
        return np.linalg.norm(x - np.asarray(self.center), axis=-1) <= self.radius * (1 + tol)

    def distance(self, x):
        """Signed approximate distance φ = (R² - |x - c|²)/(2R): > 0 inside, 0 on the circle
        (where ∇φ is the inward unit normal), < 0 outside. Sukumar & Srivastava (2022).

        Args:
          x: points (..., 2).

        Returns:
          φ (...), a JAX array.
        """
        import jax.numpy as jnp

        x = jnp.asarray(x)
        x = x.astype(jnp.result_type(x.dtype, jnp.float32))
        d = x - jnp.reshape(jnp.asarray(self.center, x.dtype), (1,) * (x.ndim - 1) + (2,))
        return (self.radius**2 - jnp.sum(d * d, axis=-1)) / (2 * self.radius)

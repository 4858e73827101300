"""The catalogue's entry type (:class:`Benchmark`) and its registry.

An entry bundles a :class:`~nnpde.Problem` that has an exact solution with a *recipe* for
solving it (network, collocation points, solver settings) and the accuracy that recipe
reaches, so that a problem can be solved, tested and benchmarked in one line:

    >>> import nnpde.problems as catalogue
    >>> bench = catalogue.get("lagaris_ode2")
    >>> bench.problem.dim, bench.recipe.hidden, bench.recipe.points
    (1, (10, 10), Points(kind='grid', n=400, closed=()))
    >>> "lagaris_pde1" in catalogue.catalogue()
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from nnpde.network import TwoLayerNet
from nnpde.problem import Problem

__all__ = ["Benchmark", "Points", "Recipe", "Reference", "catalogue", "get", "register"]

_POINT_KINDS = ("grid", "sobol", "halton")


@dataclasses.dataclass(frozen=True)
class Points:
    """How the interior collocation points are made from the problem's domain.

    ``kind="grid"``: ``domain.grid(n)``, n equidistant interior points per axis (n^D in all; on
    a ``Disk`` the grid points inside it). ``kind="sobol"``/``"halton"``: ``domain.sample(n,
    method=kind)``, n low-discrepancy points in all (unscrambled, so deterministic).

    ``closed`` names faces of a ``Box`` whose coordinate the grid reaches (n points per axis
    still; it is ``Box.grid(n, closed=...)``): faces that no condition constrains, such as the
    final time ``"t_max"``, or a face with only a Neumann condition, where the equation must
    hold too and where a grid that stops one spacing short leaves the network to extrapolate.
    """

    kind: str
    n: int
    closed: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in _POINT_KINDS:
            raise ValueError(f"Points: kind must be one of {_POINT_KINDS}, got {self.kind!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"Points: n must be a positive int, got {self.n!r}")
        if isinstance(self.closed, str) or not all(isinstance(f, str) for f in self.closed):
            raise ValueError(f"Points: closed must be a tuple of face names, got {self.closed!r}")
        if self.closed and self.kind != "grid":
            raise ValueError("Points: closed faces apply to kind='grid' only")
        object.__setattr__(self, "closed", tuple(self.closed))

    def make(self, domain) -> np.ndarray:
        """The points (P, D) as a float64 numpy array."""
        if self.kind != "grid":
            return domain.sample(self.n, method=self.kind)
        if not self.closed:
            return domain.grid(self.n)
        if not hasattr(domain, "face_axis"):
            raise ValueError(f"Points: closed faces need a Box or Interval, got {domain!r}")
        return domain.grid(self.n, closed=self.closed)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A network, collocation points and solver settings, with the accuracy they reach.

    Attributes:
      hidden: (M1, M2) of the ``TwoLayerNet``.
      points: the interior collocation :class:`Points`.
      steps: solver steps (LM iterations, rejected ones included).
      max_abs: documented max-abs error on the default test set (``Solution.errors()``: a fine
        grid with the boundary, or 10⁴ Sobol' points in D > 3): an upper bound, 2-10 times
        the value measured with this recipe (seed 0, float64) on this project's 2-core CPU
        (jax 0.10.2) and on the GPU machine's CPU (jax 0.11.2), which
        ``tests/test_catalogue.py`` asserts for the quick recipes. LM's path through a
        nonconvex loss depends on round-off, so other seeds or versions can land elsewhere.
      rel_l2: the same for the relative L2 error.
      method: "lm", "adam" or "lbfgs".
      activation: the activation's name.
      boundary_points: boundary points of each penalty condition, on its own faces
        (``solve``'s argument). 64, the count the recipes were measured with, rather than
        ``solve``'s automatic count (``None``, :func:`nnpde.penalties.condition_count`).
      seed: ``solve``'s ``key`` is ``jax.random.key(seed)``.
    """

    hidden: tuple[int, int]
    points: Points
    steps: int
    max_abs: float
    rel_l2: float
    method: str = "lm"
    activation: str = "tanh"
    boundary_points: int = 64
    seed: int = 0

    def net(self, dim: int) -> TwoLayerNet:
        """The recipe's ``TwoLayerNet`` for a D = ``dim`` problem."""
        return TwoLayerNet(dim, self.hidden, self.activation)

    def solve_kwargs(self) -> dict:
        """Keyword arguments of ``nnpde.solve`` (solver, steps, key, boundary_points)."""
        import jax

        return {
            "solver": self.method,
            "steps": self.steps,
            "key": jax.random.key(self.seed),
            "boundary_points": self.boundary_points,
        }


@dataclasses.dataclass(frozen=True)
class Reference:
    """A published figure for the problem, with its citation.

    Attributes:
      citation: the paper (authors, year, title, journal, volume, pages) and where in it.
      max_abs: the published max-abs deviation from the exact solution, or None where the
        paper shows it only in a plot that we could not read off reliably.
      note: what exactly the figure is (read from which table or plot, on which points).
      short: a short label for tables, e.g. "Lagaris et al. (1998), Problem 5".
    """

    citation: str
    max_abs: float | None = None
    note: str = ""
    short: str = ""


@dataclasses.dataclass(frozen=True, eq=False)
class Benchmark:
    """A catalogue entry: a problem with an exact solution and how to solve it.

    Attributes:
      name: the registry name (``nnpde.problems.get(name)``).
      problem: the :class:`~nnpde.Problem`, with ``exact``.
      recipe: the recommended :class:`Recipe` (network, points, settings, accuracy).
      quick: a small :class:`Recipe` for tests (a few seconds on a 2-core CPU), with its own
        documented accuracy.
      reference: the published figure, where there is one.
      smooth: True if the exact solution is smooth on the closed domain (all are, so far).
      summary: one line: the equation, domain and conditions.
    """

    name: str
    problem: Problem
    recipe: Recipe
    quick: Recipe
    reference: Reference | None = None
    smooth: bool = True
    summary: str = ""

    @property
    def dim(self) -> int:
        """D, the problem's number of coordinates."""
        return self.problem.dim

    def net(self, quick: bool = False) -> TwoLayerNet:
        """The recommended (or quick) network."""
        return (self.quick if quick else self.recipe).net(self.dim)

    def points(self, quick: bool = False) -> np.ndarray:
        """The recommended (or quick) interior collocation points (P, D)."""
        return (self.quick if quick else self.recipe).points.make(self.problem.domain)

    def solve(self, quick: bool = False, **overrides):
        """Solves the problem with the recommended (or quick) recipe.

        Args:
          quick: use the small recipe.
          **overrides: any keyword of :func:`nnpde.solve` (``method``, ``steps``,
            ``time_limit``, ...), plus ``net`` and ``points`` to replace the recipe's.

        Returns:
          A :class:`~nnpde.Solution`; ``.errors()`` compares it with the exact solution.
        """
        from nnpde.solvers import solve

        recipe = self.quick if quick else self.recipe
        net = overrides.pop("net", None) or recipe.net(self.dim)
        points = overrides.pop("points", None)
        if points is None:
            points = recipe.points.make(self.problem.domain)
        kwargs = recipe.solve_kwargs()
        if "method" in overrides:  # solver='s older name replaces the recipe's solver
            overrides["solver"] = overrides.pop("method")
        return solve(self.problem, net, points, **(kwargs | overrides))


_REGISTRY: dict[str, Callable[[], Benchmark]] = {}


def register(fn: Callable[[], Benchmark]) -> Callable[[], Benchmark]:
    """Adds a function returning a :class:`Benchmark` to the catalogue under its own name."""
    if fn.__name__ in _REGISTRY:
        raise ValueError(f"a catalogue entry named {fn.__name__!r} is already registered")
    _REGISTRY[fn.__name__] = fn
    return fn


def catalogue() -> dict[str, Callable[[], Benchmark]]:
    """All entries: name → the function that builds its :class:`Benchmark` (a fresh dict)."""
    return dict(_REGISTRY)


def get(name: str) -> Benchmark:
    """The :class:`Benchmark` called ``name``.

    Raises:
      KeyError: naming the unknown entry and listing the known ones.
    """
    if name not in _REGISTRY:
        raise KeyError(f"no catalogue entry {name!r}; the entries are {sorted(_REGISTRY)}")
    return _REGISTRY[name]()

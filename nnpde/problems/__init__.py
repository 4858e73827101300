"""Ready-to-run problems with exact solutions (the catalogue), and the problem classes.

Each catalogue function returns a :class:`Benchmark`: the :class:`~nnpde.Problem` (with its
exact solution), a recommended network, collocation points and solver settings (a
:class:`Recipe`), the accuracy they reach, a small ``quick`` recipe for tests, and the
published reference where there is one. ``catalogue()`` maps names to these functions and
``get(name)`` builds one:

    >>> import nnpde.problems
    >>> bench = nnpde.problems.lagaris_pde1()
    >>> bench.recipe.hidden, bench.recipe.points.n, bench.recipe.max_abs
    ((10, 10), 24, 1e-08)
    >>> sorted(nnpde.problems.catalogue())[:3]
    ['allen_cahn', 'beam', 'biharmonic']

``bench.solve()`` solves it (``bench.solve(quick=True)`` with the small recipe; any keyword of
:func:`nnpde.solve` overrides the recipe) and returns a :class:`~nnpde.Solution`, whose
``errors()`` compares it with the exact solution.

The classes (:class:`~nnpde.Problem`, :class:`~nnpde.Dirichlet`, ...) live in
:mod:`nnpde.problem` and are re-exported here, so ``from nnpde.problems import Problem`` works.
"""

from nnpde.problem import Dirichlet, Initial, Jet, Neumann, OperatorBC, Problem, Robin, jet_of
from nnpde.problems.catalogue import (
    Benchmark,
    Points,
    Recipe,
    Reference,
    catalogue,
    get,
    register,
)
from nnpde.problems.flows import kovasznay_pinned
from nnpde.problems.geometric import poisson_holes, poisson_lshape
from nnpde.problems.higher_order import beam, biharmonic, kdv
from nnpde.problems.lagaris import (
    lagaris_ode1,
    lagaris_ode2,
    lagaris_ode3_bvp,
    lagaris_ode3_ivp,
    lagaris_ode4,
    lagaris_pde1,
    lagaris_pde2,
    lagaris_pde3,
    lagaris_pde4,
)
from nnpde.problems.manufactured import (
    allen_cahn,
    burgers,
    heat,
    helmholtz,
    poisson_2d,
    poisson_5d,
    poisson_10d,
    poisson_disk,
)

__all__ = [
    "Benchmark",
    "Dirichlet",
    "Initial",
    "Jet",
    "Neumann",
    "OperatorBC",
    "Points",
    "Problem",
    "Recipe",
    "Reference",
    "Robin",
    "allen_cahn",
    "beam",
    "biharmonic",
    "burgers",
    "catalogue",
    "get",
    "heat",
    "helmholtz",
    "jet_of",
    "kdv",
    "kovasznay_pinned",
    "lagaris_ode1",
    "lagaris_ode2",
    "lagaris_ode3_bvp",
    "lagaris_ode3_ivp",
    "lagaris_ode4",
    "lagaris_pde1",
    "lagaris_pde2",
    "lagaris_pde3",
    "lagaris_pde4",
    "poisson_2d",
    "poisson_5d",
    "poisson_10d",
    "poisson_disk",
    "poisson_holes",
    "poisson_lshape",
    "register",
]

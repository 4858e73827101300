"""Ready-to-run problems with exact solutions (the catalogue), and the problem classes.

The classes (:class:`~nnpde.Problem`, :class:`~nnpde.Dirichlet`, ...) live in
:mod:`nnpde.problem` and are re-exported here, so ``from nnpde.problems import Problem`` works.
"""

from nnpde.problem import Dirichlet, Initial, Jet, Neumann, Problem, Robin, jet_of

__all__ = ["Dirichlet", "Initial", "Jet", "Neumann", "Problem", "Robin", "jet_of"]

"""nnpde: differential equations solved by small neural networks with exact derivative kernels.

The network is the two-hidden-layer N(x, θ) of seed 000; :mod:`nnpde.kernels` holds its
hand-written derivatives and :mod:`nnpde.autodiff` their ``jax.grad``/``jax.hessian`` twins.
"""

from nnpde import adaptive, autodiff, backprop, distributed, kernels, problems
from nnpde._jit import compiler_options
from nnpde.activations import Activation, get_activation, list_activations, register_activation
from nnpde.domains import BoundarySample, Box, Disk, Interval
from nnpde.fit import FitResult, fit
from nnpde.geometry import Difference, Intersection, Polygon, Union
from nnpde.matfree import CGConfig
from nnpde.mlp import MLP
from nnpde.network import Params, TwoLayerNet
from nnpde.problem import Dirichlet, Initial, Jet, Neumann, Periodic, Problem, Robin
from nnpde.solution import FileFormatError, Solution, load
from nnpde.solvers import LMConfig, solve

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "Activation",
    "BoundarySample",
    "Box",
    "CGConfig",
    "Difference",
    "Dirichlet",
    "Disk",
    "FileFormatError",
    "FitResult",
    "Initial",
    "Intersection",
    "Interval",
    "Jet",
    "LMConfig",
    "Neumann",
    "Params",
    "Periodic",
    "Polygon",
    "Problem",
    "Robin",
    "Solution",
    "TwoLayerNet",
    "Union",
    "__version__",
    "adaptive",
    "autodiff",
    "backprop",
    "compiler_options",
    "distributed",
    "fit",
    "get_activation",
    "kernels",
    "list_activations",
    "load",
    "problems",
    "register_activation",
    "solve",
]

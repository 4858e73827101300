"""nnpde: differential equations solved by small neural networks with exact derivative kernels.

The network is the two-hidden-layer N(x, θ) of seed 000; :mod:`nnpde.kernels` holds its
hand-written derivatives and :mod:`nnpde.autodiff` their ``jax.grad``/``jax.hessian`` twins.
"""

from nnpde import autodiff, kernels
from nnpde._jit import compiler_options
from nnpde.activations import Activation, get_activation, list_activations, register_activation
from nnpde.domains import BoundarySample, Box, Disk, Interval
from nnpde.network import Params, TwoLayerNet
from nnpde.problem import Dirichlet, Initial, Jet, Neumann, Problem, Robin
from nnpde.solution import Solution, load
from nnpde.solvers import LMConfig, solve

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "BoundarySample",
    "Box",
    "Dirichlet",
    "Disk",
    "Initial",
    "Interval",
    "Jet",
    "LMConfig",
    "Neumann",
    "Params",
    "Problem",
    "Robin",
    "Solution",
    "TwoLayerNet",
    "__version__",
    "autodiff",
    "compiler_options",
    "get_activation",
    "kernels",
    "list_activations",
    "load",
    "register_activation",
    "solve",
]

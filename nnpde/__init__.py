"""nnpde: differential equations solved by small neural networks with exact derivative kernels.

The network is the two-hidden-layer N(x, θ) of seed 000; :mod:`nnpde.kernels` holds its
hand-written derivatives and :mod:`nnpde.autodiff` their ``jax.grad``/``jax.hessian`` twins.
"""

from nnpde import (
    adaptive,
    autodiff,
    backprop,
    compile_cache,
    distributed,
    kernels,
    native,
    problems,
)
from nnpde._jit import compiler_options
from nnpde.activations import Activation, get_activation, list_activations, register_activation
from nnpde.compile_cache import use_compilation_cache
from nnpde.domains import BoundarySample, Box, Disk, Interval
from nnpde.files import FileFormatError, load
from nnpde.first_order import LBFGS, Optax
from nnpde.fit import FitResult, fit
from nnpde.geometry import Difference, Intersection, Polygon, Union
from nnpde.lm import LM, GaussNewtonCG
from nnpde.matfree import CGConfig
from nnpde.mlp import MLP
from nnpde.network import Params, TwoLayerNet
from nnpde.problem import (
    Data,
    Dirichlet,
    Initial,
    Jet,
    Neumann,
    OperatorBC,
    Periodic,
    Problem,
    Robin,
)
from nnpde.results import (
    RESULTS,
    UnderdeterminedWarning,
    UnderResolvedWarning,
    UnidentifiableWarning,
)
from nnpde.settings import ModelOptions, RunOptions
from nnpde.solution import Solution
from nnpde.solvers import solve

__version__ = "0.1.0"

__all__ = [
    "LBFGS",
    "LM",
    "MLP",
    "RESULTS",
    "Activation",
    "BoundarySample",
    "Box",
    "CGConfig",
    "Data",
    "Difference",
    "Dirichlet",
    "Disk",
    "FileFormatError",
    "FitResult",
    "GaussNewtonCG",
    "Initial",
    "Intersection",
    "Interval",
    "Jet",
    "ModelOptions",
    "Neumann",
    "OperatorBC",
    "Optax",
    "Params",
    "Periodic",
    "Polygon",
    "Problem",
    "Robin",
    "RunOptions",
    "Solution",
    "TwoLayerNet",
    "UnderResolvedWarning",
    "UnderdeterminedWarning",
    "UnidentifiableWarning",
    "Union",
    "__version__",
    "adaptive",
    "autodiff",
    "backprop",
    "compile_cache",
    "compiler_options",
    "distributed",
    "fit",
    "get_activation",
    "kernels",
    "list_activations",
    "load",
    "native",
    "problems",
    "register_activation",
    "solve",
    "use_compilation_cache",
]

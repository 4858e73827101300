"""nnpde: differential equations solved by small neural networks with exact derivative kernels.

The network is the two-hidden-layer N(x, θ) of seed 000; :mod:`nnpde.kernels` holds its
hand-written derivatives and :mod:`nnpde.autodiff` their ``jax.grad``/``jax.hessian`` twins.
"""

from nnpde import autodiff, kernels
from nnpde._jit import compiler_options
from nnpde.activations import Activation, get_activation, list_activations, register_activation
from nnpde.network import Params, TwoLayerNet

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "Params",
    "TwoLayerNet",
    "__version__",
    "autodiff",
    "compiler_options",
    "get_activation",
    "kernels",
    "list_activations",
    "register_activation",
]

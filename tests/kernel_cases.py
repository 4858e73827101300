"""Helpers shared by the kernel tests: input generation, the catalogue of public kernels, and a
cache that evaluates many kernels of one configuration in a single compiled program.

XLA compilation dominates the run time of these tiny networks (~0.3 s per function), so all
cases of one (activation, D, M1, M2, P, dtype) configuration are traced into ONE ``jax.jit``
program (the public jitted kernels inline into it) and the results are cached; each
parametrised test then only compares arrays. If that combined program fails to build, every
case is retried on its own so that a broken kernel fails only its own tests.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools

import jax
import jax.numpy as jnp
import numpy as np

import nnpde
from nnpde import autodiff, kernels

MODULES = {"kernels": kernels, "autodiff": autodiff}

# Public per-point kernels and the activation derivative order each needs.
POINTWISE = {
    "value": 0,
    "grad_theta": 1,
    "grad_x": 1,
    "hessian_x": 2,
    "laplacian_x": 2,
    "grad_x_theta": 2,
    "hessian_x_theta": 3,
    "laplacian_x_theta": 3,
}
# Named VJPs: the operator weight they correspond to and the order they need.
VJPS = {
    "value_vjp": ("value", 1),
    "grad_x_vjp": ("grad", 2),
    "hessian_x_vjp": ("hessian", 3),
    "laplacian_x_vjp": ("laplacian", 3),
}
WEIGHTS = ("value", "grad", "hessian", "laplacian")
WEIGHT_ORDER = {"value": 1, "grad": 2, "hessian": 3, "laplacian": 3}
# Every non-empty subset of the operator weights.
WEIGHT_SUBSETS = [s for r in range(1, 5) for s in itertools.combinations(WEIGHTS, r)]

# Scale of θ relative to ``net.init``: pre-activations of size ~3 leave the linear range of
# tanh/sigmoid/softplus so that f'' and f''' terms are not negligible.
THETA_SCALE = 3.0
X_SCALE = 1.5


def operator_case(fn: str, subset) -> str:
    return f"{fn}[{'+'.join(subset)}]"


ALL_CASES = (
    list(POINTWISE)
    + list(VJPS)
    + [operator_case(fn, WEIGHTS) for fn in ("operator_vjp", "operator_rows")]
)
# Cases that relu (order 1) supports.
LOW_ORDER_CASES = ["value", "grad_theta", "grad_x", "value_vjp"] + [
    operator_case(fn, ("value",)) for fn in ("operator_vjp", "operator_rows")
]


def parse_operator_case(case: str):
    fn, rest = case.split("[")
    return fn, tuple(rest.rstrip("]").split("+"))


def case_order(case: str) -> int:
    if case in POINTWISE:
        return POINTWISE[case]
    if case in VJPS:
        return VJPS[case][1]
    _, subset = parse_operator_case(case)
    return max(WEIGHT_ORDER[w] for w in subset)


def case_shape(case: str, net: nnpde.TwoLayerNet, points: int) -> tuple:
    """The documented output shape, written out independently of the library."""
    d, nt = net.dim, net.num_params
    shapes = {
        "value": (points,),
        "grad_theta": (points, nt),
        "grad_x": (points, d),
        "hessian_x": (points, d, d),
        "laplacian_x": (points,),
        "grad_x_theta": (points, d, nt),
        "hessian_x_theta": (points, d, d, nt),
        "laplacian_x_theta": (points, nt),
    }
    if case in shapes:
        return shapes[case]
    if case in VJPS:
        return (nt,)
    fn, _ = parse_operator_case(case)
    return (nt,) if fn == "operator_vjp" else (points, nt)


def is_pure_second_order(case: str) -> bool:
    """True when the case involves only second x-derivatives (zero for a network linear in x)."""
    if case in POINTWISE:
        return case in ("hessian_x", "laplacian_x", "hessian_x_theta", "laplacian_x_theta")
    if case in VJPS:
        return case in ("hessian_x_vjp", "laplacian_x_vjp")
    _, subset = parse_operator_case(case)
    return set(subset) <= {"hessian", "laplacian"}


def call_case(module, case: str, net, theta, x, weights: dict, chunk_size=None):
    """Calls the public function named by ``case`` on ``module`` (kernels or autodiff)."""
    if case in POINTWISE:
        return getattr(module, case)(net, theta, x, chunk_size=chunk_size)
    if case in VJPS:
        return getattr(module, case)(net, theta, x, weights[VJPS[case][0]], chunk_size=chunk_size)
    fn, subset = parse_operator_case(case)
    kw = {w: weights[w] for w in subset}
    return getattr(module, fn)(net, theta, x, chunk_size=chunk_size, **kw)


@dataclasses.dataclass(frozen=True)
class Config:
    activation: str
    dim: int
    m1: int
    m2: int
    points: int
    dtype: str = "float64"

    @property
    def net(self) -> nnpde.TwoLayerNet:
        return nnpde.TwoLayerNet(self.dim, (self.m1, self.m2), self.activation)

    @property
    def id(self) -> str:
        suffix = "" if self.dtype == "float64" else f"-{self.dtype}"
        return f"{self.activation}-D{self.dim}-M{self.m1}x{self.m2}-P{self.points}{suffix}"


def make_inputs(net: nnpde.TwoLayerNet, points: int, dtype=jnp.float64, seed: int = 0):
    """θ (scaled out of the activations' linear range), x (P, D) and random operator weights.

    The Hessian weights are deliberately NOT symmetric.
    """
    kt, kx, ka, kg, kh, kl = jax.random.split(jax.random.key(seed), 6)
    theta = net.init(kt, dtype=dtype) * THETA_SCALE
    d = net.dim
    x = X_SCALE * jax.random.normal(kx, (points, d), dtype)
    weights = {
        "value": jax.random.normal(ka, (points,), dtype),
        "grad": jax.random.normal(kg, (points, d), dtype),
        "hessian": jax.random.normal(kh, (points, d, d), dtype),
        "laplacian": jax.random.normal(kl, (points,), dtype),
    }
    return theta, x, weights


class Results:
    """Outputs of ``cases`` for each variant (module name, chunk_size) of one configuration.

    ``how`` records which evaluation strategy of :func:`evaluate` produced them.
    """

    def __init__(self, values: dict, how: str):
        self._values = values
        self.how = how

    def __getitem__(self, key):
        out = self._values[key]
        if isinstance(out, Exception):
            raise out
        return out


def _raw(fn):
    """The undecorated Python function behind a public (jitted) nnpde function."""
    return inspect.unwrap(fn)


class RawModule:
    """``module`` with every public function replaced by its undecorated implementation."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return _raw(getattr(self._module, name))


@functools.cache
def evaluate(cfg: Config, cases: tuple, variants: tuple):
    """Evaluates every (variant, case) of ``cfg``; cached. Keys are ``(module, chunk, case)``.

    Strategies, in order (the first that works is used):
      1. "jit": the public functions, all traced into one outer ``jax.jit`` (one compilation);
      2. "raw-jit": the same with the functions' undecorated implementations (still the
         library's code; used if the public functions cannot be nested in a user's jit, which
         test_jit.py checks separately);
      3. "direct": each public function called on its own; a case that fails stores its
         exception, which is re-raised only by the tests that ask for that case.
    """
    net = cfg.net
    theta, x, weights = make_inputs(net, cfg.points, jnp.dtype(cfg.dtype))
    keys = [(mod, chunk, case) for mod, chunk in variants for case in cases]

    def one(modules, key, theta, x, weights):
        mod, chunk, case = key
        return call_case(modules[mod], case, net, theta, x, weights, chunk)

    raw_modules = {name: RawModule(m) for name, m in MODULES.items()}
    for how, modules in (("jit", MODULES), ("raw-jit", raw_modules)):
        try:
            outs = jax.jit(lambda t, x, w, m=modules: [one(m, k, t, x, w) for k in keys])(
                theta, x, weights
            )
        except Exception:
            continue
        return Results({k: np.asarray(o) for k, o in zip(keys, outs, strict=True)}, how)
    values = {}
    for k in keys:
        try:
            values[k] = np.asarray(one(MODULES, k, theta, x, weights))
        except Exception as err:
            values[k] = err
    return Results(values, "direct")

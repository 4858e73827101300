"""Partials up to fourth order (nnpde.taylor) against their nested-jvp autodiff twins.

Every kernel (values, weighted rows, per-partial Jacobian, VJP, JVP, Gram) is compared with its
twin in :mod:`nnpde.autodiff` in float64 to ``F64_RTOL`` (1e-10) and in float32 to
``F32_RTOL_4`` for several activations, D = 1, 2, 3, orders 0..4 including mixed partials,
random θ scaled out of the activations' linear range. All kernels and twins of one
configuration are traced into one jitted program (compile time dominates these tiny nets).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F64_RTOL, rel_err
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnpde
from nnpde import autodiff, kernels, taylor

# float32: fourth derivatives of the network are sums of products of up to five factors
# (f^(4) Z1⁴, ...) whose terms cancel partly; both sides round differently. Observed worst
# cases are ~3e-6 (tanh, sin) to ~2e-5 (softplus, whose autodiff f^(n) goes through
# log1p/exp); 2e-4 leaves ~10x headroom and still flags a wrong coefficient (O(1e-2)).
F32_RTOL_4 = 2e-4

# θ scaled so that pre-activations leave the linear range (as tests/kernel_cases.py).
THETA_SCALE = 3.0
BIHARMONIC = ((0, 0, 0, 0), (0, 0, 1, 1), (1, 1, 1, 1))


@dataclasses.dataclass(frozen=True)
class Config:
    activation: str
    dim: int
    axes: tuple
    hidden: tuple = (5, 4)
    points: int = 9

    @property
    def id(self) -> str:
        parts = ["".join(map(str, a)) or "N" for a in self.axes]
        return f"{self.activation}-D{self.dim}-{'.'.join(parts)}"


CONFIGS = [
    Config("tanh", 1, ((0,), (0, 0), (0, 0, 0), (0, 0, 0, 0))),
    Config("sigmoid", 2, BIHARMONIC + ((0, 1),)),
    Config("sin", 2, ((0, 0, 0, 1), (1, 1, 1), (), (0, 1, 1, 1))),
    Config("softplus", 3, ((0, 1, 2), (0, 0, 1, 2), (2, 2, 2, 2), (1,), (0, 2))),
    Config("tanh", 3, ((2, 1, 0, 0), (1, 1, 2), (0, 0), (2,)), hidden=(6, 3)),
]
# Each configuration compiles one program of ~20 kernels and twins (~5-10 s on an idle core):
# the default suite keeps the 1-D set (orders 1 to 4, float64 and float32) and the biharmonic
# set in 2-D (float64); the others run with -m slow.
SLOW = pytest.mark.slow


def _params(dtype_name: str):
    fast = {("float64", 0), ("float64", 1), ("float32", 0)}
    return [pytest.param(c, id=c.id, marks=() if (dtype_name, n) in fast else SLOW)
            for n, c in enumerate(CONFIGS)]  # fmt: skip


FUNCTIONS = ("partials_x", "partials_x_rows", "partials_x_theta", "partials_x_vjp",
             "partials_x_jvp", "partials_x_gram")  # fmt: skip


def make_inputs(cfg: Config, dtype, seed: int = 0):
    net = nnpde.TwoLayerNet(cfg.dim, cfg.hidden, cfg.activation)
    kt, kx, kc, kr, kv = jax.random.split(jax.random.key(seed), 5)
    theta = net.init(kt, dtype=dtype) * THETA_SCALE
    x = 1.5 * jax.random.normal(kx, (cfg.points, cfg.dim), dtype)
    c = jax.random.normal(kc, (cfg.points, len(cfg.axes)), dtype)
    r = jax.random.normal(kr, (cfg.points,), dtype)
    t = jax.random.normal(kv, (net.num_params,), dtype)
    return net, theta, x, c, r, t


def _all(mod, net, axes, theta, x, c, r, t, chunk_size=None):
    kw = {"chunk_size": chunk_size}
    return {
        "partials_x": mod.partials_x(net, theta, x, axes, **kw),
        "partials_x_rows": mod.partials_x_rows(net, theta, x, axes, c, **kw),
        "partials_x_theta": mod.partials_x_theta(net, theta, x, axes, **kw),
        "partials_x_vjp": mod.partials_x_vjp(net, theta, x, axes, c, **kw),
        "partials_x_jvp": mod.partials_x_jvp(net, theta, x, axes, t, c, **kw),
        "partials_x_gram": mod.partials_x_gram(net, theta, x, axes, r, c, **kw),
    }


@functools.cache
def results(cfg: Config, dtype_name: str, seed: int = 0):
    """{variant: {function: output}} for kernels, autodiff and chunked kernels (blocks of 4
    points, P = 9: a partial last block), all from one jitted program."""
    dtype = jnp.dtype(dtype_name)
    net, theta, x, c, r, t = make_inputs(cfg, dtype, seed)

    @jax.jit
    def run(theta, x, c, r, t):
        return {
            "kernels": _all(kernels, net, cfg.axes, theta, x, c, r, t),
            "autodiff": _all(autodiff, net, cfg.axes, theta, x, c, r, t),
            "chunked": _all(kernels, net, cfg.axes, theta, x, c, r, t, chunk_size=4),
        }

    return jax.tree_util.tree_map(np.asarray, run(theta, x, c, r, t))


def _leaves(out):
    return jax.tree_util.tree_leaves(out)


@pytest.mark.parametrize("cfg", _params("float64"))
@pytest.mark.parametrize("fn", FUNCTIONS)
def test_kernels_match_autodiff_float64(cfg, fn):
    res = results(cfg, "float64")
    for k, a in zip(_leaves(res["kernels"][fn]), _leaves(res["autodiff"][fn]), strict=True):
        assert k.dtype == np.float64 and k.shape == a.shape
        assert np.max(np.abs(a)) > 1e-3, "degenerate comparison: the reference is ~0"
        assert rel_err(k, a) <= F64_RTOL, (cfg.id, fn, rel_err(k, a))


@pytest.mark.parametrize("cfg", _params("float64"))
@pytest.mark.parametrize("fn", FUNCTIONS)
def test_blocks_of_points_change_nothing(cfg, fn):
    res = results(cfg, "float64")
    for k, b in zip(_leaves(res["kernels"][fn]), _leaves(res["chunked"][fn]), strict=True):
        assert rel_err(b, k) <= 1e-13, (cfg.id, fn)


@pytest.mark.parametrize("cfg", _params("float32"))
@pytest.mark.parametrize("fn", FUNCTIONS)
def test_kernels_match_autodiff_float32(cfg, fn):
    res = results(cfg, "float32")
    for k, a in zip(_leaves(res["kernels"][fn]), _leaves(res["autodiff"][fn]), strict=True):
        assert k.dtype == np.float32
        assert rel_err(k, a) <= F32_RTOL_4, (cfg.id, fn, rel_err(k, a))


def test_each_partial_matches_the_seed_kernels_at_low_order():
    """Orders 0-2 equal seed 000's value (eq. 1), ∇xN (3d) and ∇²xN (4) kernels."""
    net, theta, x, *_ = make_inputs(Config("tanh", 2, ()), jnp.float64)
    axes = ((), (0,), (1,), (0, 0), (0, 1), (1, 1))
    got = kernels.partials_x(net, theta, x, axes)
    H = kernels.hessian_x(net, theta, x)
    ref = jnp.stack([kernels.value(net, theta, x), *kernels.grad_x(net, theta, x).T,
                     H[:, 0, 0], H[:, 0, 1], H[:, 1, 1]], axis=1)  # fmt: skip
    assert rel_err(got, ref) <= F64_RTOL


def test_order_of_the_axes_does_not_matter():
    net, theta, x, *_ = make_inputs(Config("tanh", 3, ()), jnp.float64)
    a = kernels.partials_x(net, theta, x, ((0, 1, 2, 2), (1, 0)))
    b = kernels.partials_x(net, theta, x, [[2, 1, 2, 0], [0, 1]])  # lists work too
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    one = kernels.partials_x(net, theta, x, (2, 2, 0, 1))  # one multi-index of ints
    np.testing.assert_array_equal(np.asarray(one), np.asarray(a[:, :1]))


# ---- the comparison can fail ------------------------------------------------------------------
def test_a_wrong_faa_di_bruno_coefficient_is_caught():
    """Changing one partition count of the plan (6 f''' Z1² Z2 -> 5 f''' Z1² Z2 in ∂⁴x)
    moves the result by far more than the tolerance."""
    cfg = CONFIGS[0]
    net, theta, x, *_ = make_inputs(cfg, jnp.float64)
    pl = taylor.plan(((0, 0, 0, 0),))
    wrong = list(pl.counts[0])
    wrong[wrong.index(6)] = 5
    bad = dataclasses.replace(pl, counts=(tuple(wrong),))
    got = taylor._values_block(net, net.unpack(theta), bad, x.T).T
    ref = autodiff.partials_x(net, theta, x, ((0, 0, 0, 0),))
    assert rel_err(got, ref) > 1e-3
    good = taylor._values_block(net, net.unpack(theta), pl, x.T).T
    assert rel_err(good, ref) <= F64_RTOL


def test_a_wrong_activation_derivative_is_caught():
    """A registered activation whose f^(5) is off by 1 % fails the rows comparison (f^(5)
    enters only the θ-derivatives of fourth partials)."""
    t = nnpde.get_activation("tanh")
    bad = nnpde.Activation("tanh_bad5", jnp.tanh, t.df, t.d2f, t.d3f, order=5,
                           higher=(t.higher[0], lambda z: 1.01 * t.higher[1](z)))  # fmt: skip
    net = nnpde.TwoLayerNet(1, (5, 4), bad)
    _, theta, x, c, *_ = make_inputs(Config("tanh", 1, ((0, 0, 0, 0),)), jnp.float64)
    k = kernels.partials_x_rows(net, theta, x, ((0, 0, 0, 0),), c[:, :1])
    a = autodiff.partials_x_rows(net, theta, x, ((0, 0, 0, 0),), c[:, :1])
    assert rel_err(k, a) > 1e-5
    vals = kernels.partials_x(net, theta, x, ((0, 0, 0, 0),))  # values need only f^(4)
    assert rel_err(vals, autodiff.partials_x(net, theta, x, ((0, 0, 0, 0),))) <= F64_RTOL


# ---- random multi-indices (hypothesis) --------------------------------------------------------
@st.composite
def partial_sets(draw):
    dim = draw(st.integers(1, 3))
    alpha = st.lists(st.integers(0, dim - 1), min_size=0, max_size=4).map(tuple)
    axes = tuple(draw(st.lists(alpha, min_size=1, max_size=3)))
    act = draw(st.sampled_from(["tanh", "sigmoid", "sin", "softplus"]))
    return dim, axes, act, draw(st.integers(0, 2**16))


@SLOW
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partial_sets())
def test_random_partials_match_autodiff(case):
    dim, axes, act, seed = case
    cfg = Config(act, dim, axes, hidden=(4, 3), points=5)
    net, theta, x, c, *_ = make_inputs(cfg, jnp.float64, seed)

    @jax.jit
    def both(theta, x, c):
        return [(m.partials_x(net, theta, x, axes), m.partials_x_rows(net, theta, x, axes, c),
                 m.partials_x_vjp(net, theta, x, axes, c))
                for m in (kernels, autodiff)]  # fmt: skip

    (kv, kr, kg), (av, ar, ag) = both(theta, x, c)
    assert rel_err(kv, av) <= F64_RTOL
    assert rel_err(kr, ar) <= F64_RTOL
    assert rel_err(kg, ag) <= F64_RTOL


# ---- the plan ---------------------------------------------------------------------------------
def test_plan_of_a_fourth_derivative_is_faa_di_bruno():
    pl = taylor.plan(((0, 0, 0, 0),))
    assert pl.subsets == ((), (0,), (0, 0), (0, 0, 0), (0, 0, 0, 0))
    terms = {tuple(len(pl.subsets[b]) for b in t): n for t, n in zip(pl.terms, pl.counts[0])}
    # f'''' Z1⁴ + 6 f''' Z1² Z2 + 3 f'' Z2² + 4 f'' Z1 Z3 + f' Z4
    assert terms == {(1, 1, 1, 1): 1, (1, 1, 2): 6, (2, 2): 3, (1, 3): 4, (4,): 1}
    assert sum(pl.counts[0]) == 15  # Bell number B4


def test_plan_shares_sub_multisets_between_partials():
    pl = taylor.plan(taylor.normalize_axes(BIHARMONIC, 2))
    assert len(pl.subsets) == 13  # O1 and 12 partials of the first layer (docstring)
    assert [sum(c) for c in pl.counts] == [15, 15, 15]


# ---- inputs -----------------------------------------------------------------------------------
NET = nnpde.TwoLayerNet(2, (4, 3), "tanh")


@pytest.mark.parametrize(
    ("axes", "error", "match"),
    [((), TypeError, "non-empty tuple"),
     ((0, 0, 0, 0, 0), ValueError, "up to order 4"),
     (((0, 2),), ValueError, "axis 2 .* out of range for D = 2"),
     (((0, 1.0),), TypeError, "tuple of ints"),
     ("xx", TypeError, "non-empty tuple")],
)  # fmt: skip
def test_bad_axes_are_named(axes, error, match):
    theta = NET.init(jax.random.key(0), jnp.float64)
    with pytest.raises(error, match=match):
        kernels.partials_x(NET, theta, jnp.ones((3, 2)), axes)
    with pytest.raises(error, match=match):
        autodiff.partials_x(NET, theta, jnp.ones((3, 2)), axes)


@pytest.mark.parametrize("mod", [kernels, autodiff], ids=["kernels", "autodiff"])
def test_bad_weights_and_points_are_named(mod):
    theta = NET.init(jax.random.key(0), jnp.float64)
    x = jnp.ones((3, 2))
    with pytest.raises(ValueError, match=r"partials_x_rows: weights must have shape \(3, 2\)"):
        mod.partials_x_rows(NET, theta, x, ((0, 0, 0), (1,)), jnp.ones((3,)))
    with pytest.raises(TypeError, match=r"weights .* required"):
        mod.partials_x_vjp(NET, theta, x, ((0, 0, 0),), None)
    with pytest.raises(ValueError, match=r"x must have shape \(P, 2\)"):
        mod.partials_x(NET, theta, jnp.ones((3,)), ((0, 0, 0),))
    with pytest.raises(TypeError, match=r"net must be a nnpde\.TwoLayerNet"):
        mod.partials_x("net", theta, x, ((0,),))


@pytest.mark.parametrize("mod", [kernels, autodiff], ids=["kernels", "autodiff"])
def test_activation_order_is_checked(mod):
    """relu (order 1) and a registered order-3 activation refuse what they cannot give."""
    relu = nnpde.TwoLayerNet(2, (4, 3), "relu")
    theta = relu.init(jax.random.key(0), jnp.float64)
    x = jnp.ones((3, 2))
    with pytest.raises(ValueError, match=r"order 2.*'relu'"):
        mod.partials_x(relu, theta, x, ((0, 1),))
    t = nnpde.get_activation("tanh")
    three = nnpde.TwoLayerNet(2, (4, 3), nnpde.Activation("tanh3", jnp.tanh, t.df, t.d2f, t.d3f))
    assert mod.partials_x(three, theta, x, ((0, 0, 1),)).shape == (3, 1)
    with pytest.raises(ValueError, match=r"order 4.*'tanh3'"):
        mod.partials_x_rows(three, theta, x, ((0, 0, 1),), jnp.ones((3, 1)))


def test_empty_batch():
    theta = NET.init(jax.random.key(0), jnp.float64)
    x = jnp.zeros((0, 2))
    c = jnp.zeros((0, 1))
    assert kernels.partials_x(NET, theta, x, ((0, 0, 0, 0),)).shape == (0, 1)
    assert kernels.partials_x_rows(NET, theta, x, ((0, 0, 0, 0),), c).shape == (0, NET.num_params)
    assert float(jnp.abs(kernels.partials_x_vjp(NET, theta, x, ((0, 0, 0, 0),), c)).max()) == 0


def test_inside_a_user_jit_and_no_recompilation():
    net, theta, x, c, *_ = make_inputs(Config("tanh", 2, BIHARMONIC), jnp.float64)
    traces = []

    @jax.jit
    def loss_grad(theta, x, c):
        traces.append(1)
        return kernels.partials_x_vjp(net, theta, x, BIHARMONIC, c)

    g1 = loss_grad(theta, x, c)
    g2 = loss_grad(theta + 0.0, x, c)
    assert len(traces) == 1
    np.testing.assert_allclose(np.asarray(g1), np.asarray(g2), rtol=0, atol=0)
    ref = kernels.partials_x_vjp(net, theta, x, list(map(list, BIHARMONIC)), c)
    assert rel_err(g1, ref) <= 1e-13

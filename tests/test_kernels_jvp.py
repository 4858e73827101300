"""Matrix-free J·t: ``kernels.operator_jvp`` (and ``value_jvp``, ``laplacian_x_jvp``) against
``operator_rows(...) @ t`` and the ``jax.jvp`` twins in ``nnpde.autodiff``, in float64.

Every (configuration, weight subset) is evaluated in ONE jitted program per configuration and
cached (compilation dominates these tiny networks), like ``kernel_cases.evaluate``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F32_RTOL, F64_RTOL, rel_err
from kernel_cases import MODULES, WEIGHT_ORDER, Config, make_inputs

import nnpde
from nnpde import autodiff, kernels

# (activation, D, M1, M2, P): M1 != M2 throughout; P = 1, P < chunk and P not a multiple of it.
CONFIGS = [
    Config("tanh", 2, 4, 7, 9),
    Config("sigmoid", 3, 6, 5, 11),
    Config("softplus", 1, 5, 3, 1),
    Config("sin", 10, 8, 4, 9),
    Config("identity", 2, 4, 3, 5),
    Config("relu", 2, 4, 3, 5),
]
CHUNK = 4  # < P and not dividing P (9, 11, 5): exercises padded blocks
SUBSETS = [
    ("value",),
    ("grad",),
    ("hessian",),
    ("laplacian",),
    ("value", "grad", "hessian", "laplacian"),
]


def _subsets(cfg: Config):
    """Every subset for the first configuration; the others the largest one they support
    (compilation per subset dominates the run time)."""
    order = nnpde.get_activation(cfg.activation).order
    fit = [s for s in SUBSETS if max(WEIGHT_ORDER[w] for w in s) <= order]
    return fit if cfg == CONFIGS[0] else fit[-1:]


def _tangent(net, dtype=jnp.float64):
    return jax.random.normal(jax.random.key(7), (net.num_params,), dtype)


@functools.cache
def _results(cfg: Config) -> dict:
    """{(name, subset): array} for every output compared below, from one jitted program."""
    net = cfg.net
    theta, x, w = make_inputs(net, cfg.points)
    t = _tangent(net)
    order = nnpde.get_activation(cfg.activation).order

    def everything(theta, x, w, t):
        out = {}
        for s in _subsets(cfg):
            kw = {name: w[name] for name in s}
            out[_key("hand", s)] = kernels.operator_jvp(net, theta, x, t, **kw)
            out[_key("hand-chunked", s)] = kernels.operator_jvp(
                net, theta, x, t, chunk_size=CHUNK, **kw
            )
            out[_key("autodiff", s)] = autodiff.operator_jvp(net, theta, x, t, **kw)
            out[_key("rows", s)] = kernels.operator_rows(net, theta, x, **kw) @ t
        named = ["value_jvp"] + (["laplacian_x_jvp"] if order >= 3 else [])
        for name in named:
            out[_key("hand", name)] = getattr(kernels, name)(net, theta, x, t, chunk_size=CHUNK)
            out[_key("autodiff", name)] = getattr(autodiff, name)(net, theta, x, t)
        return out

    return {k: np.asarray(v) for k, v in jax.jit(everything)(theta, x, w, t).items()}


def _key(impl: str, what) -> str:
    """String keys (a jit output dict needs sortable keys): "hand|value+grad"."""
    return f"{impl}|{what if isinstance(what, str) else '+'.join(what)}"


OPERATOR_CASES = [
    pytest.param(cfg, s, id=f"{cfg.id}-{'+'.join(s)}") for cfg in CONFIGS for s in _subsets(cfg)
]


@pytest.mark.parametrize(("cfg", "subset"), OPERATOR_CASES)
def test_operator_jvp_matches_rows_and_autodiff(cfg, subset):
    res = _results(cfg)
    hand = res[_key("hand", subset)]
    assert hand.shape == (cfg.points,)
    assert hand.dtype == np.float64
    for other in ("autodiff", "rows", "hand-chunked"):
        err = rel_err(hand, res[_key(other, subset)])
        assert err <= F64_RTOL, f"{other}: relative error {err:.3e}"
    second_order_only = set(subset) <= {"hessian", "laplacian"}
    if cfg.activation == "identity" and second_order_only:
        assert np.all(hand == 0)  # a network linear in x: exactly zero second derivatives
    else:
        assert np.max(np.abs(res[_key("autodiff", subset)])) > 0  # not vacuous


NAMED_CASES = [
    pytest.param(cfg, name, id=f"{cfg.id}-{name}")
    for cfg in CONFIGS
    for name in ("value_jvp", "laplacian_x_jvp")
    if name == "value_jvp" or nnpde.get_activation(cfg.activation).order >= 3
]


@pytest.mark.parametrize(("cfg", "name"), NAMED_CASES)
def test_named_jvps_match_autodiff(cfg, name):
    res = _results(cfg)
    assert res[_key("hand", name)].shape == (cfg.points,)
    assert rel_err(res[_key("hand", name)], res[_key("autodiff", name)]) <= F64_RTOL
    if not (cfg.activation == "identity" and name == "laplacian_x_jvp"):
        assert np.max(np.abs(res[_key("autodiff", name)])) > 0


def test_named_jvps_are_operator_jvp_with_unit_weights():
    cfg = CONFIGS[0]
    theta, x, _ = make_inputs(cfg.net, cfg.points)
    t = _tangent(cfg.net)
    ones = jnp.ones(cfg.points)
    pairs = [
        (kernels.value_jvp(cfg.net, theta, x, t), dict(value=ones)),
        (kernels.laplacian_x_jvp(cfg.net, theta, x, t), dict(laplacian=ones)),
    ]
    for got, kw in pairs:
        assert rel_err(got, kernels.operator_jvp(cfg.net, theta, x, t, **kw)) <= F64_RTOL


def test_jvp_is_linear_in_the_tangent_and_the_weights():
    cfg = CONFIGS[1]
    net = cfg.net
    theta, x, w = make_inputs(net, cfg.points)
    t1, t2 = _tangent(net), jax.random.normal(jax.random.key(8), (net.num_params,))
    f = functools.partial(kernels.operator_jvp, net, theta, x, hessian=w["hessian"])
    assert rel_err(f(2 * t1 - t2), 2 * f(t1) - f(t2)) <= F64_RTOL
    # only the symmetric part of h matters, as in operator_vjp / operator_rows
    ht = jnp.swapaxes(w["hessian"], 1, 2)
    assert rel_err(kernels.operator_jvp(net, theta, x, t1, hessian=ht), f(t1)) <= F64_RTOL


# ---- inside user transformations -----------------------------------------------------------------
NET = nnpde.TwoLayerNet(2, (4, 3), "tanh")


@pytest.mark.parametrize("module", list(MODULES))
def test_jit_and_vmap_over_tangents(module):
    """A user's jit around a vmap over a batch of tangents gives operator_rows @ Tᵀ."""
    mod = MODULES[module]
    theta, x, w = make_inputs(NET, 7)
    tangents = jax.random.normal(jax.random.key(9), (3, NET.num_params))
    kw = dict(value=w["value"], laplacian=w["laplacian"])

    @jax.jit
    def jvps(theta, x, tangents):
        return jax.vmap(lambda t: mod.operator_jvp(NET, theta, x, t, chunk_size=CHUNK, **kw))(
            tangents
        )

    got = jvps(theta, x, tangents)
    rows = autodiff.operator_rows(NET, theta, x, **kw)
    assert got.shape == (3, 7)
    assert rel_err(got, tangents @ rows.T) <= F64_RTOL


def test_vmap_over_theta_and_x_batches():
    thetas = jnp.stack([NET.init(k) * 3 for k in jax.random.split(jax.random.key(11), 3)])
    _, x, w = make_inputs(NET, 6)
    t = _tangent(NET)

    def f(theta, x):
        return kernels.operator_jvp(NET, theta, x, t, grad=w["grad"], chunk_size=CHUNK)

    batched = jax.vmap(f, in_axes=(0, None))(thetas, x)
    looped = jnp.stack([f(th, x) for th in thetas])
    assert rel_err(batched, looped) <= F64_RTOL
    xs = jnp.stack([x, 2 * x])
    batched = jax.vmap(f, in_axes=(None, 0))(thetas[0], xs)
    assert rel_err(batched, jnp.stack([f(thetas[0], xi) for xi in xs])) <= F64_RTOL


def test_jvp_and_vjp_are_adjoint():
    """uᵀ(J t) = (Jᵀu)ᵀ t, with both products matrix-free."""
    theta, x, w = make_inputs(NET, 10)
    t = _tangent(NET)
    u = jax.random.normal(jax.random.key(12), (10,))
    kw = dict(value=w["value"], grad=w["grad"], hessian=w["hessian"], laplacian=w["laplacian"])
    jt = kernels.operator_jvp(NET, theta, x, t, chunk_size=3, **kw)
    scaled = {k: v * u.reshape((10,) + (1,) * (v.ndim - 1)) for k, v in kw.items()}
    jtu = kernels.operator_vjp(NET, theta, x, chunk_size=3, **scaled)
    assert rel_err(jnp.dot(u, jt), jnp.dot(jtu, t)) <= F64_RTOL


# ---- edge cases and bad input --------------------------------------------------------------------
@pytest.mark.parametrize("module", list(MODULES))
def test_empty_batch_and_no_weights(module):
    mod = MODULES[module]
    theta, x, w = make_inputs(NET, 0)
    t = _tangent(NET)
    out = mod.operator_jvp(NET, theta, x, t, value=w["value"], laplacian=w["laplacian"])
    assert out.shape == (0,) and out.dtype == jnp.float64
    theta, x, _ = make_inputs(NET, 4)
    out = np.asarray(mod.operator_jvp(NET, theta, x, t))
    assert out.shape == (4,) and np.all(out == 0)
    assert mod.value_jvp(NET, theta, x[:0], t).shape == (0,)


@pytest.mark.parametrize("module", list(MODULES))
def test_bad_tangent_raises(module):
    mod = MODULES[module]
    theta, x, w = make_inputs(NET, 4)
    nt = NET.num_params
    with pytest.raises(ValueError, match=rf"tangent must have shape \({nt},\)"):
        mod.operator_jvp(NET, theta, x, jnp.zeros(nt + 1), value=w["value"])
    with pytest.raises(TypeError, match="tangent has dtype float32"):
        mod.operator_jvp(NET, theta, x, jnp.zeros(nt, jnp.float32), value=w["value"])
    with pytest.raises(TypeError, match="tangent is required"):
        mod.laplacian_x_jvp(NET, theta, x, None)
    with pytest.raises(ValueError, match="operator_jvp: laplacian must have shape"):
        mod.operator_jvp(NET, theta, x, jnp.zeros(nt), laplacian=jnp.zeros(5))
    relu = nnpde.TwoLayerNet(2, (4, 3), "relu")
    with pytest.raises(ValueError, match="laplacian_x_jvp needs the activation's derivative"):
        mod.laplacian_x_jvp(relu, theta, x, jnp.zeros(nt))


def test_nan_in_x_stays_in_its_point():
    theta, x, w = make_inputs(NET, 6)
    x = x.at[2, 1].set(jnp.nan)
    out = np.asarray(
        kernels.operator_jvp(NET, theta, x, _tangent(NET), laplacian=w["laplacian"], chunk_size=4)
    )
    assert np.isnan(out[2])
    assert np.all(np.isfinite(np.delete(out, 2)))


def test_float32():
    cfg, subset = CONFIGS[0], SUBSETS[-1]
    theta, x, w = make_inputs(cfg.net, cfg.points)
    kw = {name: w[name].astype(jnp.float32) for name in subset}
    t = _tangent(cfg.net).astype(jnp.float32)
    got = kernels.operator_jvp(cfg.net, theta.astype(jnp.float32), x.astype(jnp.float32), t, **kw)
    assert got.dtype == jnp.float32
    assert rel_err(got, _results(cfg)[_key("hand", subset)]) <= F32_RTOL

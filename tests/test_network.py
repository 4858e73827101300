"""TwoLayerNet: the θ layout of seed 000 eq. 7, sizes, initialisation, hashing, apply."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F64_RTOL, rel_err

import nnpde
from nnpde import TwoLayerNet

SHAPES = [(1, 5, 3), (2, 4, 7), (3, 6, 5), (10, 8, 4), (1, 1, 1)]


def _expected_blocks_1based(d, m1, m2):
    """Eq. 7 with its 1-based indices, written out with loops and converted to 0-based."""
    a = np.zeros(m2, dtype=int)
    w = np.zeros((m2, m1), dtype=int)
    c = np.zeros(m2, dtype=int)
    v = np.zeros((m1, d), dtype=int)
    b = np.zeros(m1, dtype=int)
    for j in range(1, m2 + 1):
        a[j - 1] = j - 1  # a_j = θ_j
        c[j - 1] = m2 + m1 * m2 + j - 1  # c_j = θ_{M2 + M1 M2 + j}
        for k in range(1, m1 + 1):
            w[j - 1, k - 1] = m2 + m1 * (j - 1) + k - 1  # w_jk = θ_{M2 + M1(j-1) + k}
    for k in range(1, m1 + 1):
        b[k - 1] = 2 * m2 + m1 * m2 + m1 * d + k - 1  # b_k = θ_{2M2 + M1M2 + M1D + k}
        for l in range(1, d + 1):  # noqa: E741 - the seed's index name
            v[k - 1, l - 1] = 2 * m2 + m1 * m2 + d * (k - 1) + l - 1  # v_kl
    return a, w, c, v, b


@pytest.mark.parametrize(("d", "m1", "m2"), SHAPES)
def test_num_params_formula(d, m1, m2):
    net = TwoLayerNet(d, (m1, m2))
    assert net.num_params == m1 * (1 + d + m2) + 2 * m2
    # ... which is the total size of the five blocks
    assert net.num_params == m2 + m2 * m1 + m2 + m1 * d + m1


@pytest.mark.parametrize(("d", "m1", "m2"), SHAPES)
def test_unpack_follows_eq7(d, m1, m2):
    net = TwoLayerNet(d, (m1, m2))
    theta = jnp.arange(net.num_params, dtype=jnp.float64)
    p = net.unpack(theta)
    assert isinstance(p, nnpde.Params)
    assert p._fields == ("a", "w", "c", "v", "b")
    expected = _expected_blocks_1based(d, m1, m2)
    for name, got, want in zip(p._fields, p, expected, strict=True):
        assert got.shape == want.shape, name
        np.testing.assert_array_equal(np.asarray(got), want.astype(np.float64), err_msg=name)
    # Every index used exactly once.
    used = np.sort(np.concatenate([e.ravel() for e in expected]))
    np.testing.assert_array_equal(used, np.arange(net.num_params))


@pytest.mark.parametrize(("d", "m1", "m2"), SHAPES)
def test_pack_inverts_unpack(d, m1, m2):
    net = TwoLayerNet(d, (m1, m2))
    theta = jnp.arange(net.num_params, dtype=jnp.float64) * 1.5 - 7
    np.testing.assert_array_equal(np.asarray(net.pack(net.unpack(theta))), np.asarray(theta))
    # and unpack inverts pack
    rng = np.random.default_rng(0)
    params = nnpde.Params(*(jnp.asarray(rng.normal(size=s)) for s in net.shapes))
    for got, want in zip(net.unpack(net.pack(params)), params, strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_unpack_keeps_leading_batch_axes():
    net = TwoLayerNet(2, (4, 3))
    thetas = jnp.arange(3 * net.num_params, dtype=jnp.float64).reshape(3, net.num_params)
    p = net.unpack(thetas)
    assert p.w.shape == (3, 3, 4)
    assert p.v.shape == (3, 4, 2)
    for i in range(3):
        for got, want in zip(p, net.unpack(thetas[i]), strict=True):
            np.testing.assert_array_equal(np.asarray(got[i]), np.asarray(want))
    np.testing.assert_array_equal(np.asarray(net.pack(p)), np.asarray(thetas))


def _apply_by_loops(theta, x, d, m1, m2, f):
    """N(x, θ) by eq. 1a-c with θ indexed directly through eq. 7 (1-based), no unpack."""
    theta = np.asarray(theta, dtype=np.float64)

    def t(i):  # θ_i, 1-based
        return theta[i - 1]

    o1 = []
    for k in range(1, m1 + 1):
        a1 = sum(t(2 * m2 + m1 * m2 + d * (k - 1) + i) * x[i - 1] for i in range(1, d + 1))
        o1.append(f(a1 + t(2 * m2 + m1 * m2 + m1 * d + k)))
    out = 0.0
    for j in range(1, m2 + 1):
        a2 = sum(t(m2 + m1 * (j - 1) + k) * o1[k - 1] for k in range(1, m1 + 1))
        out += t(j) * f(a2 + t(m2 + m1 * m2 + j))
    return out


@pytest.mark.parametrize(("d", "m1", "m2"), [(1, 5, 3), (3, 6, 5)])
def test_apply_is_eq1_with_eq7_layout(d, m1, m2):
    net = TwoLayerNet(d, (m1, m2), "tanh")
    theta = net.init(jax.random.key(3)) * 3
    x = np.linspace(-1.0, 1.3, d)
    got = float(net.apply(theta, jnp.asarray(x)))
    want = _apply_by_loops(theta, x, d, m1, m2, math.tanh)
    assert abs(got - want) <= F64_RTOL * max(1.0, abs(want))
    assert want != 0


@pytest.mark.parametrize(("d", "m1", "m2"), [(1, 5, 3), (2, 4, 7)])
def test_apply_equals_kernels_value(d, m1, m2):
    net = TwoLayerNet(d, (m1, m2), "sigmoid")
    theta = net.init(jax.random.key(4)) * 3
    x = jnp.linspace(-2.0, 2.0, d)
    single = net.apply(theta, x)
    assert single.shape == ()
    batch = nnpde.kernels.value(net, theta, x[None, :])
    assert batch.shape == (1,)
    assert rel_err(batch[0], single) <= F64_RTOL


# ---- init ----------------------------------------------------------------------------------------
def test_init_dtype_and_shape():
    net = TwoLayerNet(3, (6, 5))
    theta = net.init(jax.random.key(0))
    assert theta.shape == (net.num_params,)
    assert theta.dtype == jnp.float64  # x64 is enabled for the suite
    theta32 = net.init(jax.random.key(0), dtype=jnp.float32)
    assert theta32.dtype == jnp.float32
    assert theta32.shape == (net.num_params,)
    assert np.all(np.isfinite(np.asarray(theta)))


def test_init_is_deterministic_per_key():
    net = TwoLayerNet(2, (8, 8))
    a = net.init(jax.random.key(5))
    b = net.init(jax.random.key(5))
    c = net.init(jax.random.key(6))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.allclose(np.asarray(a), np.asarray(c))


def test_init_statistics():
    """Weights ~ N(0, 1/fan_in) (LeCun normal), biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    d, m1, m2 = 40, 300, 200
    net = TwoLayerNet(d, (m1, m2))
    p = net.unpack(net.init(jax.random.key(7)))
    for name, block, fan_in in (("v", p.v, d), ("w", p.w, m1), ("a", p.a, m2)):
        block = np.asarray(block)
        std = block.std() * math.sqrt(fan_in)
        assert 0.85 < std < 1.15, (name, std)  # loose: a has only M2 = 200 samples
        assert abs(block.mean()) < 4 / math.sqrt(block.size * fan_in), name
    for name, block, fan_in in (("b", p.b, d), ("c", p.c, m1)):
        block = np.asarray(block)
        bound = 1 / math.sqrt(fan_in)
        assert np.all(np.abs(block) <= bound), name
        assert block.max() > 0.8 * bound and block.min() < -0.8 * bound, name
        # uniform on [-bound, bound] has std bound / sqrt(3)
        assert 0.8 < block.std() * math.sqrt(3) / bound < 1.2, name


# ---- the spec as a static, hashable value --------------------------------------------------------
def test_equality_and_hash():
    a = TwoLayerNet(2, (4, 3), "tanh")
    b = TwoLayerNet(2, [4, 3], nnpde.get_activation("tanh"))
    assert a == b
    assert hash(a) == hash(b)
    assert b.hidden == (4, 3)
    assert a != TwoLayerNet(2, (3, 4), "tanh")
    assert a != TwoLayerNet(3, (4, 3), "tanh")
    assert a != TwoLayerNet(2, (4, 3), "sin")
    assert len({a, b, TwoLayerNet(2, (3, 4))}) == 2


def test_spec_is_frozen():
    net = TwoLayerNet(2, (4, 3))
    with pytest.raises(AttributeError):
        net.dim = 3


def test_usable_as_static_jit_argument():
    traces = []

    def f(net, theta, x):
        traces.append(net)
        return net.apply(theta, x)

    jf = jax.jit(f, static_argnums=0)
    net = TwoLayerNet(2, (4, 3))
    theta = net.init(jax.random.key(0))
    x = jnp.array([0.3, -0.2])
    y1 = jf(net, theta, x)
    y2 = jf(TwoLayerNet(2, (4, 3)), theta + 1, x)  # equal spec: cache hit, no retrace
    assert len(traces) == 1
    assert rel_err(y1, net.apply(theta, x)) <= F64_RTOL
    assert rel_err(y2, net.apply(theta + 1, x)) <= F64_RTOL
    jf(TwoLayerNet(2, (3, 4)), jnp.zeros(TwoLayerNet(2, (3, 4)).num_params), x)
    assert len(traces) == 2  # a different spec traces again


def test_sizes_and_offsets_properties():
    net = TwoLayerNet(3, (6, 5))
    assert (net.m1, net.m2, net.dim) == (6, 5, 3)
    assert tuple(net.offsets) == (0, 5, 35, 40, 58)
    assert tuple(net.shapes) == ((5,), (5, 6), (5,), (6, 3), (6,))

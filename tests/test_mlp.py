"""MLP: the spec, its parameter tree and flat layout, init, apply (seed 001 eqs. 6-10), and the
two-hidden-layer network of seed 000 as an MLP."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import rel_err

import nnpde
from nnpde.mlp import MLP

RTOL = 1e-12  # float64 forward passes computed two ways


# Eager jax calls compile one small XLA program per operation and shape; jitting each tested
# function keeps these tests at one compilation each.
def init(net, seed=0, dtype=None):
    return jax.jit(net.init, static_argnums=1)(jax.random.key(seed), dtype)


def apply(net, params, x):
    return jax.jit(net.apply)(params, x)


def random_params(net, seed=0):
    rng = np.random.default_rng(seed)
    return tuple((rng.normal(size=w), rng.uniform(-1, 1, size=b)) for w, b in net.shapes)


# ---- the spec ----------------------------------------------------------------------------------
def test_sizes_and_counts():
    net = MLP((3, 7, 5, 2), "sin")
    assert net.num_layers == 3 and net.in_dim == 3 and net.out_dim == 2
    assert net.shapes == (((7, 3), (7,)), ((5, 7), (5,)), ((2, 5), (2,)))
    assert net.num_params == 7 * 4 + 5 * 8 + 2 * 6
    assert MLP((4, 1)).num_layers == 1  # K = 1: no hidden layer


def test_equality_hash_and_normalisation():
    a = MLP((2, 4, 3), "tanh", output="softmax")
    b = MLP([2, np.int64(4), 3], nnpde.get_activation("tanh"), "softmax")
    assert a == b and hash(a) == hash(b)
    assert b.sizes == (2, 4, 3) and type(b.sizes[1]) is int
    assert a != MLP((2, 4, 3), "tanh")
    assert a != MLP((2, 4, 3), "sin", output="softmax")
    # a registered output is stored by name, whether given as a name or as the Activation
    assert MLP((2, 1), output=nnpde.get_activation("identity")).output == "identity"
    assert MLP((2, 1), output="sigmoid").output_activation is nnpde.get_activation("sigmoid")
    assert MLP((2, 3), output="softmax").output_activation is None
    assert repr(a) == "MLP(sizes=(2, 4, 3), activation='tanh', output='softmax')"
    with pytest.raises(AttributeError):
        a.sizes = (1, 1)


def test_usable_as_static_jit_argument():
    traces = []

    def f(net, params, x):
        traces.append(net)
        return net.apply(params, x)

    jf = jax.jit(f, static_argnums=0)
    net = MLP((2, 3, 1), "tanh")
    params = random_params(net)
    x = np.ones((4, 2))
    jf(net, params, x)
    jf(MLP([2, 3, 1], "tanh"), params, x + 1)  # an equal spec: no retrace
    assert len(traces) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sizes": (3,)}, ValueError, "at least two"),
        ({"sizes": ()}, ValueError, "at least two"),
        ({"sizes": 3}, ValueError, "at least two"),
        ({"sizes": (3, 0, 1)}, ValueError, "positive int, got 0"),
        ({"sizes": (3, -2, 1)}, ValueError, "positive int, got -2"),
        ({"sizes": (3, 2.0, 1)}, ValueError, "positive int, got 2.0"),
        ({"sizes": (3, True, 1)}, ValueError, "positive int, got True"),
        ({"sizes": (3, 1), "activation": "swish"}, ValueError, "unknown activation 'swish'"),
        ({"sizes": (3, 1), "activation": 3}, TypeError, "activation must be"),
        ({"sizes": (3, 2), "output": "logsoftmax"}, ValueError, "unknown output 'logsoftmax'"),
        ({"sizes": (3, 2), "output": None}, TypeError, "unknown output None"),
        ({"sizes": (3, 1), "output": "softmax"}, ValueError, "at least 2 outputs"),
    ],
)
def test_bad_specs(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP(**kwargs)


# ---- parameters ---------------------------------------------------------------------------------
def test_ravel_layout_is_layer_order_w_row_major_then_b():
    net = MLP((2, 3, 2))
    theta = np.arange(net.num_params, dtype=np.float64)
    (w1, b1), (w2, b2) = jax.jit(net.unravel)(theta)
    np.testing.assert_array_equal(w1, [[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(b1, [6, 7, 8])
    np.testing.assert_array_equal(w2, [[9, 10, 11], [12, 13, 14]])
    np.testing.assert_array_equal(b2, [15, 16])
    assert net.offsets == ((0, 6), (9, 15))
    np.testing.assert_array_equal(jax.jit(net.ravel)(net.unravel(theta)), theta)


def test_unravel_inverts_ravel():
    net = MLP((3, 5, 4, 2), "tanh")
    params = random_params(net)
    again = jax.jit(lambda p: net.unravel(net.ravel(p)))(params)
    for (w, b), (w2, b2) in zip(params, again):
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(b, b2)
    with pytest.raises(ValueError, match=r"theta must have shape \(54,\)"):
        net.unravel(np.zeros(53))


def test_init_dtype_determinism_and_statistics():
    net = MLP((30, 200, 60, 3))
    params = init(net, 7)
    assert all(w.dtype == jnp.float64 and b.dtype == jnp.float64 for w, b in params)
    p32 = init(MLP((2, 3)), dtype=jnp.float32)
    assert p32[0][0].dtype == jnp.float32
    for (w, b), (w2, b2) in zip(params, init(net, 7)):
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(b, b2)
    for (w, b), ((_, fan_in), _) in zip(params[:2], net.shapes):
        w, b = np.asarray(w), np.asarray(b)
        assert 0.9 < w.std() * math.sqrt(fan_in) < 1.1  # LeCun normal: N(0, 1/fan_in)
        bound = 1 / math.sqrt(fan_in)  # torch.nn.Linear biases: U(±1/√fan_in)
        assert np.all(np.abs(b) <= bound) and b.max() > 0.8 * bound and b.min() < -0.8 * bound


def test_check_params_accepts_lists_and_numpy():
    net = MLP((2, 3, 1))
    params = [[np.ones((3, 2)), np.zeros(3)], [np.ones((1, 3)), np.zeros(1)]]
    checked = net.check_params(params)
    assert isinstance(checked, tuple) and isinstance(checked[0], tuple)
    assert isinstance(checked[0][0], jax.Array)


# ---- evaluation: seed 001 eqs. (6)-(10) ------------------------------------------------------
def _forward_columns(params, x, f, out):
    """Seed 001's forward pass with samples in COLUMNS: Z = W A + b (b tiled over M samples)."""
    a = np.asarray(x).T  # A⁰ (N0, M), eq. 6
    for k, (w, b) in enumerate(params, start=1):
        m = a.shape[1]
        z = np.asarray(w) @ a + np.tile(np.asarray(b)[:, None], (1, m))  # eqs. 7, 9
        a = f(z) if k < len(params) else out(z)  # eqs. 8, 10
    return a.T


def _softmax_columns(z):
    e = np.exp(z - z.max(axis=0))
    return e / e.sum(axis=0)


@pytest.mark.parametrize(
    ("sizes", "activation", "output", "f", "out"),
    [
        ((4, 6, 3), "relu", "softmax", lambda z: np.maximum(z, 0), _softmax_columns),  # seed 001
        ((2, 5, 4, 3, 1), "tanh", "identity", np.tanh, lambda z: z),
        ((3, 4, 2), "sigmoid", "sigmoid", lambda z: 1 / (1 + np.exp(-z)), None),  # seed 004
    ],
)
def test_apply_is_seed001_forward_pass(sizes, activation, output, f, out):
    net = MLP(sizes, activation, output=output)
    params = random_params(net, 3)
    x = np.random.default_rng(4).normal(size=(7, sizes[0]))
    want = _forward_columns(params, x, f, out or f)
    got = apply(net, params, x)
    assert got.shape == (7, sizes[-1])
    assert rel_err(got, want) <= RTOL
    one = apply(net, params, x[2])  # one sample (N0,) -> (NK,)
    assert one.shape == (sizes[-1],)
    assert rel_err(one, want[2]) <= RTOL


def test_logits_are_the_last_pre_activation():
    net = MLP((2, 4, 3), "tanh", output="softmax")
    params = random_params(net)
    x = np.ones((2, 2))
    z, a = jax.jit(lambda p, x: (net.logits(p, x), net.apply(p, x)))(params, x)
    e = np.exp(np.asarray(z))
    assert rel_err(a, e / e.sum(axis=1, keepdims=True)) <= RTOL


def test_apply_bad_input():
    net = MLP((2, 3, 1))
    params = random_params(net)
    with pytest.raises(ValueError, match=r"x must have shape \(P, 2\)"):
        net.apply(params, np.ones((4, 3)))
    with pytest.raises(TypeError, match="same dtype"):
        net.apply(params, np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="must hold 2"):
        net.apply(params[:1], np.ones((4, 2)))


# ---- seed 000's network as an MLP ------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_from_two_layer_reproduces_the_network(activation):
    net = nnpde.TwoLayerNet(3, (5, 4), activation)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=net.num_params)
    mlp, params = MLP.from_two_layer(net, theta)
    assert mlp == MLP((3, 5, 4, 1), activation)
    x = rng.normal(size=(6, 3))
    both = jax.jit(lambda t, p, x: (mlp.apply(p, x)[:, 0], nnpde.kernels.value(net, t, x)))
    assert rel_err(*both(theta, params, x)) <= RTOL
    np.testing.assert_array_equal(mlp.two_layer_theta(params), theta)
    p = net.unpack(theta)
    np.testing.assert_array_equal(params[2][0], p.a[None, :])
    np.testing.assert_array_equal(params[2][1], [0.0])


def test_two_layer_theta_needs_the_matching_shape():
    with pytest.raises(ValueError, match=r"sizes \(D, M1, M2, 1\)"):
        MLP((3, 5, 1)).two_layer_theta(random_params(MLP((3, 5, 1))))
    with pytest.raises(TypeError, match="TwoLayerNet"):
        MLP.from_two_layer(MLP((3, 5, 1)), np.zeros(3))

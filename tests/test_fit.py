"""nnpde.fit on data (regression, classification) and nnpde.solve with an MLP."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import nnpde
from nnpde.fit import DataFit, FitData


def _sin_data(n=64):
    x = jnp.linspace(-jnp.pi, jnp.pi, n)[:, None]
    return x, jnp.sin(x)


@pytest.mark.slow
def test_lm_fits_sin_to_1e6_on_a_fine_grid():
    # 400 samples for the 321 parameters: with fewer (200) the loss reaches 1e-18 at the samples
    # while the error between them depends on the path (7e-4 with the defaults, 5.6e-7 with the
    # old Marquardt numerics)
    x, y = _sin_data(400)
    result = nnpde.fit(nnpde.MLP((1, 16, 16, 1)), x, y, solver=nnpde.LM(), steps=600)
    xt = jnp.linspace(-jnp.pi, jnp.pi, 1001)[:, None]
    err = float(jnp.max(jnp.abs(result.predict(xt) - jnp.sin(xt))))
    assert err < 1e-6, (err, result.result)  # measured 4.3e-9
    assert result.history["loss"][-1] <= result.history["loss"][0]


def test_two_layer_net_fits_with_the_kernels():
    x, y = _sin_data(160)  # more samples than the 96 parameters
    result = nnpde.fit(nnpde.TwoLayerNet(1, (8, 8)), x, y[:, 0], method="lm", steps=200)
    xt = jnp.linspace(-jnp.pi, jnp.pi, 501)[:, None]
    assert float(jnp.max(jnp.abs(result.predict(xt)[:, 0] - jnp.sin(xt[:, 0])))) < 1e-4
    assert result.params.a.shape == (8,)


def _blobs(n_per=40, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    x = np.concatenate([c + 0.6 * rng.standard_normal((n_per, 2)) for c in centers])
    labels = np.repeat(np.arange(3), n_per)
    return jnp.asarray(x), jnp.asarray(np.eye(3)[labels]), labels


# L-BFGS itself is checked in the default suite by test_collocation.py's
# test_first_order_methods_reduce_the_loss[lbfgs]; here `pytest -m slow` runs it on blobs.
@pytest.mark.parametrize("solver", [nnpde.Optax(optax.adam(3e-2)),
                                    pytest.param("lbfgs", marks=pytest.mark.slow)],
                         ids=["adam", "lbfgs"])  # fmt: skip
def test_classifies_gaussian_blobs(solver):
    x, y, labels = _blobs()
    net = nnpde.MLP((2, 16, 3), "tanh", output="softmax")
    result = nnpde.fit(net, x, y, solver=solver, steps=300)
    assert result.loss == "cross_entropy"
    accuracy = np.mean(np.argmax(np.asarray(result.predict(x)), axis=1) == labels)
    assert accuracy >= 0.97, (accuracy, result.result)
    xt, _, lt = _blobs(seed=1)  # held-out samples
    assert np.mean(np.argmax(np.asarray(result.predict(xt)), axis=1) == lt) >= 0.93


@pytest.mark.parametrize("net", [nnpde.MLP((2, 5, 4, 1)), nnpde.TwoLayerNet(2, (5, 4))])
@pytest.mark.parametrize("loss", ["mse", "sum_squares"])
def test_fit_loss_gradient_is_the_autodiff_one(net, loss):
    key = jax.random.key(3)
    x = jax.random.normal(key, (9, 2))
    y = jnp.sin(x[:, :1])
    # a flat θ (NT,) as fit starts from (no fit: compiling a solver took most of the time)
    theta = net.ravel(net.init(key)) if isinstance(net, nnpde.MLP) else net.init(key)
    data = FitData(x, y)
    g_hand = jax.jit(jax.grad(DataFit(net, loss, "backprop").loss))(theta, data)

    def plain(t):
        r = DataFit(net, loss, "backprop").outputs(t, x) - y
        return 0.5 * jnp.sum(r * r) / x.shape[0] if loss == "mse" else jnp.sum(r * r)

    g_ref = jax.jit(jax.grad(plain))(theta)
    assert float(jnp.linalg.norm(g_hand - g_ref) / jnp.linalg.norm(g_ref)) < 1e-12


def test_fit_backends_agree():
    x, y = _sin_data(16)
    a = nnpde.fit(nnpde.MLP((1, 4, 1)), x, y, steps=5, backend="backprop")
    b = nnpde.fit(nnpde.MLP((1, 4, 1)), x, y, steps=5, backend="autodiff")
    np.testing.assert_allclose(np.asarray(a.theta), np.asarray(b.theta), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"y": jnp.zeros((5, 2))}, ValueError, r"y must have shape \(8, 1\)"),
        ({"x": jnp.zeros((8, 3))}, ValueError, r"x must have shape \(P, 1\)"),
        ({"loss": "hinge"}, ValueError, "loss must be one of"),
        ({"loss": "cross_entropy"}, ValueError, "softmax"),
        ({"backend": "magic"}, ValueError, "backend must be one of"),
        ({"method": "newton"}, ValueError, "method must be one of"),
        ({"y": jnp.full((8, 1), jnp.nan)}, ValueError, "NaN"),
        ({"theta0": jnp.zeros(3)}, ValueError, "theta0 must have shape"),
    ],
)
def test_fit_rejects_bad_input(kwargs, error, match):
    args = {"x": jnp.zeros((8, 1)), "y": jnp.zeros((8, 1))}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        nnpde.fit(nnpde.MLP((1, 3, 1)), args.pop("x"), args.pop("y"), steps=1, **args)


def test_softmax_with_regression_targets_and_lm_with_cross_entropy_are_refused():
    net = nnpde.MLP((2, 4, 3), output="softmax")
    x = jnp.zeros((6, 2))
    with pytest.raises(ValueError, match="regression targets need output='identity'"):
        nnpde.fit(net, x, jnp.full((6, 3), 2.0), loss="mse", method="adam", steps=1)
    with pytest.raises(ValueError, match="needs a least-squares loss"):
        nnpde.fit(net, x, jnp.eye(3)[jnp.arange(6) % 3], method="lm", steps=1)


@pytest.mark.slow
def test_solve_with_an_mlp_uses_autodiff_and_solves_lagaris_pde1():
    from problems_for_tests import lagaris_pde1

    problem = lagaris_pde1()
    net = nnpde.MLP((2, 8, 8, 1))
    sol = nnpde.solve(problem, net, problem.domain.grid(8), method="lm", steps=150)
    assert sol.info["backend"] == "autodiff"
    assert sol.errors()["max_abs"] < 1e-5, sol.result
    with pytest.raises(ValueError, match="TwoLayerNet only"):
        nnpde.solve(problem, net, 4, backend="kernels")
    with pytest.raises(ValueError, match="scalar network"):
        nnpde.solve(problem, nnpde.MLP((2, 4, 2)), 4)


def test_complex_targets_are_refused():
    # Issue 19, item 2: complex y trained on its real part.
    net = nnpde.TwoLayerNet(1, (3, 3))
    x = np.linspace(0.0, 1.0, 6)[:, None]
    with pytest.raises(ValueError, match=r"\by .*complex"):
        nnpde.fit(net, x, np.sin(x[:, 0]) + 1j, steps=1)
    with pytest.raises(ValueError, match=r"\bx .*complex"):
        nnpde.fit(net, x + 0j, np.sin(x[:, 0]), steps=1)

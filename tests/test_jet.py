"""``kernels.jet`` (value, gradient and Hessian from one pass) against autodiff, in float64."""

import jax
import pytest
from conftest import F64_RTOL, rel_err

import nnpde
from nnpde import autodiff, kernels


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus", "sin"])
@pytest.mark.parametrize(("dim", "hidden", "points"), [(1, (5, 3), 1), (3, (4, 7), 9)])
def test_jet_matches_autodiff_and_separate_kernels(activation, dim, hidden, points):
    net = nnpde.TwoLayerNet(dim, hidden, activation)
    theta = 3 * net.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (points, dim))
    got = kernels.jet(net, theta, x, chunk_size=4)
    ref = autodiff.jet(net, theta, x)
    separate = (autodiff.value, autodiff.grad_x, autodiff.hessian_x)
    for g, r, fn in zip(got, ref, separate):
        assert g.shape == r.shape
        assert rel_err(g, r) <= F64_RTOL
        assert rel_err(g, fn(net, theta, x)) <= F64_RTOL

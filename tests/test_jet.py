"""``kernels.jet`` (value, gradient and Hessian from one pass) against autodiff, in float64."""

import jax
import pytest
from conftest import F64_RTOL, rel_err

import nnpde
from nnpde import autodiff, kernels

# The jet's assembly does not depend on the activation (its derivatives f', f'' are those of
# kernels.hessian_x, which test_kernels.py checks against autodiff for every activation): the
# default suite runs tanh at both shapes and sin at the larger one, `pytest -m slow` the rest.
SHAPES = [(1, (5, 3), 1), (3, (4, 7), 9)]
FAST = {("tanh", 1), ("tanh", 3), ("sin", 3)}
CASES = [
    pytest.param(activation, *shape, id=f"{shape[0]}-hidden{i}-{shape[2]}-{activation}",
                 marks=() if (activation, shape[0]) in FAST else pytest.mark.slow)
    for i, shape in enumerate(SHAPES)
    for activation in ("tanh", "sigmoid", "softplus", "sin")
]  # fmt: skip


@pytest.mark.parametrize(("activation", "dim", "hidden", "points"), CASES)
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

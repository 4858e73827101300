"""Geodesic acceleration of dense LM (``nnpde.LM(geodesic=...)``): the correction against
nested forward-mode autodiff, with the model's J v and with ``jax.linearize``'s, and what it
buys."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import few_points
from problems_for_tests import lagaris_pde1, nonlinear_poisson

import nnpde
from nnpde import distributed
from nnpde.collocation import make_collocation
from nnpde.lm import _geodesic
from nnpde.objective import Objective


class _ResidualsOnly:
    """The model without ``linearize``: J v comes from ``jax.linearize`` of its residuals."""

    def __init__(self, model):
        self.model = model

    def residuals(self, theta, data):
        return self.model.residuals(theta, data)

    def residuals_and_jacobian(self, theta, data):
        return self.model.residuals_and_jacobian(theta, data)


@functools.cache  # the tests of one problem share its model, θ, r and J
def _setup(make, hidden=(5, 4)):
    problem = make()
    net = nnpde.TwoLayerNet(2, hidden)
    model, data = make_collocation(problem, net, jnp.asarray(problem.domain.grid(6)),
                                   boundary_points=12)  # fmt: skip
    theta = net.init(jax.random.key(3))
    r, J = jax.jit(model.residuals_and_jacobian)(theta, data)
    return problem, net, model, data, theta, r, J


def _exact_correction(problem, net, data, theta, delta, J, mu, scale):
    """a = -(JᵀJ + μD)⁻¹ Jᵀ r''(θ)[δ, δ] with r'' by nested forward-mode autodiff (of the
    autodiff backend's residuals: the kernels' have a custom VJP, so no forward mode). J is
    the formed Jacobian (the kernels', which test_collocation.py checks against autodiff's;
    tracing the autodiff backend's took longer than the rest of the test)."""
    model, _ = make_collocation(problem, net, data.x, boundary_points=12, backend="autodiff")

    def r_along(t):
        return model.residuals(theta + t * delta, data)

    def first(t):
        return jax.jvp(r_along, (t,), (jnp.ones_like(t),))[1]

    @jax.jit  # one program: op by op, the nested jvp of the autodiff residuals took 30 s
    def correction(t, J, scale):
        rpp = jax.jvp(first, (t,), (jnp.ones_like(t),))[1]
        return -jnp.linalg.solve(J.T @ J + jnp.diag(mu * scale), J.T @ rpp)

    return correction(jnp.zeros(()), J, scale)


def _state(model, data, theta, mu, geodesic=1e9, h=0.1):
    """(the LM settings, objective, LM state at θ, damping μ·D) for a direct call of the
    correction."""
    cfg = nnpde.LM(geodesic=geodesic, geodesic_h=h, linear_solver="dense")
    obj = Objective(model, distributed.make_shards(model, data, theta, None))
    s = _initial_state(obj, data, theta)
    return cfg, obj, s, mu * s.scale


# LM's state at θ (the geodesic settings play no part in it), compiled once per objective
_initial_state = jax.jit(lambda obj, data, theta: nnpde.LM(linear_solver="dense").init(
    obj, data, theta), static_argnums=0)  # fmt: skip


def _factor(s, damp):
    """The step's Cholesky factor of JᵀJ + μD, as LM.step hands it to _geodesic."""
    return jax.scipy.linalg.cho_factor(s.gram + jnp.diag(damp))


def _corrections(cfgs, obj, data, s, delta, cf):
    """``_geodesic`` (which LM.step traces) with each of the settings ``cfgs``, from one
    compiled program: op by op, the model's residuals, J v and Jᵀu took seconds per call."""
    c, lower = cf

    @jax.jit
    def run(data, s, delta, c):
        return tuple(_geodesic(cfg, obj, data, s, delta, (c, lower)) for cfg in cfgs)

    return run(data, s, delta, c)


# 12-50 s per case on the 2-core CPU: the default suite checks the kernels' linearisation on
# the nonlinear problem, `pytest -m slow` the rest.
@pytest.mark.parametrize("make", [pytest.param(lagaris_pde1, marks=pytest.mark.slow),
                                  nonlinear_poisson])  # fmt: skip
@pytest.mark.parametrize(("wrap", "backend"), [(lambda m: m, "kernels"),
                                               pytest.param(_ResidualsOnly, "autodiff",
                                                            marks=pytest.mark.slow)],
                         ids=["linearize", "jax.linearize"])  # fmt: skip
def test_correction_matches_the_exact_second_derivative(make, wrap, backend):
    problem, net, model, data, theta, _, J = _setup(make)
    if backend == "autodiff":  # the kernels' residuals have a custom VJP: no forward mode
        model, data = make_collocation(problem, net, data.x, boundary_points=12,
                                       backend="autodiff")  # fmt: skip
    mu = 1.0  # a well-conditioned system: the solve does not amplify the error of r''
    h, tol = 1e-4, 1e-3  # one-sided difference with J δ: error O(h|δ|)
    cfg, obj, s, damp = _state(wrap(model), data, theta, mu, h=h)
    JTJ = J.T @ J
    np.testing.assert_allclose(s.gram, JTJ, rtol=1e-12, atol=1e-12)
    delta = jax.random.normal(jax.random.key(5), theta.shape, theta.dtype)
    delta = 0.05 * delta / jnp.linalg.norm(delta)
    ref = _exact_correction(problem, net, data, theta, delta, J, mu, s.scale)
    (a,) = _corrections([cfg], obj, data, s, delta, _factor(s, damp))
    assert float(jnp.linalg.norm(ref)) > 0
    assert float(jnp.linalg.norm(a - ref) / jnp.linalg.norm(ref)) < tol


def test_correction_larger_than_the_bound_is_dropped():
    _, _, model, data, theta, r, J = _setup(nonlinear_poisson)
    cfg, obj, s, damp = _state(model, data, theta, 1e-2)
    delta = -jnp.linalg.solve(s.gram + jnp.diag(damp), J.T @ r)
    (a,) = _corrections([cfg], obj, data, s, delta, _factor(s, damp))
    ratio = float(jnp.sqrt(jnp.sum(s.scale * a * a) / jnp.sum(s.scale * delta * delta)))
    assert ratio > 0
    # a again from the program of the other two, so that "kept unchanged" is bit for bit
    cfgs = [cfg, nnpde.LM(geodesic=2 * ratio), nnpde.LM(geodesic=0.5 * ratio)]
    a, kept, dropped = _corrections(cfgs, obj, data, s, delta, _factor(s, damp))
    np.testing.assert_array_equal(np.asarray(kept), np.asarray(a))
    assert not np.any(np.asarray(dropped))


@pytest.mark.slow
@few_points
def test_geodesic_lm_reaches_a_far_smaller_loss_and_error_on_lagaris_pde1():
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (8, 8))
    x = problem.domain.grid(12)
    plain = nnpde.solve(problem, net, x, steps=150, solver=nnpde.LM(geodesic=0.0))
    geo = nnpde.solve(problem, net, x, steps=150, solver=nnpde.LM(geodesic=0.75))
    assert geo.history["loss"][-1] < 1e-3 * plain.history["loss"][-1], (plain.result, geo.result)
    assert geo.errors()["max_abs"] < 0.2 * plain.errors()["max_abs"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("geodesic", -1.0), ("geodesic_h", 0.0), ("mu0", 0.0), ("mu_max", "x"), ("mu_min", -1.0),
     ("stall_window", 0), ("ftol", -1.0), ("atol", float("nan"))],
)
def test_lm_checks_its_fields(field, value):
    with pytest.raises(ValueError, match=f"LM.{field} must be"):
        nnpde.LM(**{field: value})

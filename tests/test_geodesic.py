"""Geodesic acceleration of dense LM (``LMConfig.geodesic``): the correction, its two
finite-difference forms, and what it buys."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from problems_for_tests import lagaris_pde1, nonlinear_poisson

import nnpde
from nnpde import distributed
from nnpde.collocation import make_collocation
from nnpde.training import LMConfig, _geodesic_correction


class _ResidualsOnly:
    """The model without ``linearize``: the correction takes the central-difference path."""

    def __init__(self, model):
        self.model = model

    def residuals(self, theta, data):
        return self.model.residuals(theta, data)


def _setup(make, hidden=(5, 4)):
    problem = make()
    net = nnpde.TwoLayerNet(2, hidden)
    model, data = make_collocation(problem, net, jnp.asarray(problem.domain.grid(6)),
                                   boundary_points=12)  # fmt: skip
    theta = net.init(jax.random.key(3))
    r, J = model.residuals_and_jacobian(theta, data)
    return problem, net, model, data, theta, r, J


def _exact_correction(problem, net, data, theta, delta, JTJ, mu, scale):
    """a = -(JᵀJ + μD)⁻¹ Jᵀ r''(θ)[δ, δ] with r'' by nested forward-mode autodiff (of the
    autodiff backend's residuals: the kernels' have a custom VJP, so no forward mode)."""
    model, _ = make_collocation(problem, net, data.x, boundary_points=12, backend="autodiff")

    def r_along(t):
        return model.residuals(theta + t * delta, data)

    def first(t):
        return jax.jvp(r_along, (t,), (jnp.ones_like(t),))[1]

    rpp = jax.jvp(first, (jnp.zeros(()),), (jnp.ones(()),))[1]
    J = model.residuals_and_jacobian(theta, data)[1]
    return -jnp.linalg.solve(JTJ + jnp.diag(mu * scale), J.T @ rpp)


@pytest.mark.parametrize("make", [lagaris_pde1, nonlinear_poisson])
@pytest.mark.parametrize("wrap", [lambda m: m, _ResidualsOnly], ids=["linearize", "residuals"])
def test_correction_matches_the_exact_second_derivative(make, wrap):
    problem, net, model, data, theta, _, J = _setup(make)
    JTJ = J.T @ J
    scale = jnp.diag(JTJ)
    mu = 1.0  # a well-conditioned system: the solve does not amplify the error of r''
    cf = jax.scipy.linalg.cho_factor(JTJ + jnp.diag(mu * scale))
    delta = jax.random.normal(jax.random.key(5), theta.shape, theta.dtype)
    delta = 0.05 * delta / jnp.linalg.norm(delta)
    shards = distributed.make_shards(model, data, theta, None)
    ref = _exact_correction(problem, net, data, theta, delta, JTJ, mu, scale)
    # one-sided difference with J δ (linearize): error O(h|δ|); central (residuals): O(h²|δ|²)
    h, tol = (1e-4, 1e-3) if wrap is not _ResidualsOnly else (1e-2, 1e-6)
    cfg = LMConfig(geodesic=1e9, geodesic_h=h)
    a = _geodesic_correction(wrap(model), data, theta, delta, cf, scale, cfg, shards)
    assert float(jnp.linalg.norm(ref)) > 0
    assert float(jnp.linalg.norm(a - ref) / jnp.linalg.norm(ref)) < tol


def test_correction_larger_than_the_bound_is_dropped():
    _, _, model, data, theta, r, J = _setup(nonlinear_poisson)
    JTJ = J.T @ J
    scale = jnp.diag(JTJ)
    delta = -jnp.linalg.solve(JTJ + jnp.diag(1e-2 * scale), J.T @ r)
    cf = jax.scipy.linalg.cho_factor(JTJ + jnp.diag(1e-2 * scale))
    shards = distributed.make_shards(model, data, theta, None)
    a = _geodesic_correction(model, data, theta, delta, cf, scale, LMConfig(geodesic=1e9),
                             shards)  # fmt: skip
    ratio = float(jnp.sqrt(jnp.sum(scale * a * a) / jnp.sum(scale * delta * delta)))
    assert ratio > 0
    kept = _geodesic_correction(model, data, theta, delta, cf, scale,
                                LMConfig(geodesic=2 * ratio), shards)  # fmt: skip
    dropped = _geodesic_correction(model, data, theta, delta, cf, scale,
                                   LMConfig(geodesic=0.5 * ratio), shards)  # fmt: skip
    np.testing.assert_array_equal(np.asarray(kept), np.asarray(a))
    assert not np.any(np.asarray(dropped))


def test_geodesic_lm_reaches_a_far_smaller_loss_and_error_on_lagaris_pde1():
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (8, 8))
    x = problem.domain.grid(12)
    plain = nnpde.solve(problem, net, x, steps=150)  # geodesic=0: the default
    geo = nnpde.solve(problem, net, x, steps=150, lm=LMConfig(geodesic=0.75))
    assert geo.history["loss"][-1] < 1e-3 * plain.history["loss"][-1], (plain.status, geo.status)
    assert geo.errors()["max_abs"] < 0.2 * plain.errors()["max_abs"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("geodesic", -1.0), ("geodesic_h", 0.0), ("mu0", 0.0), ("mu_max", "x"), ("mu_min", -1.0)],
)
def test_lm_config_checks_its_fields(field, value):
    with pytest.raises(ValueError, match=f"LMConfig.{field} must be"):
        LMConfig(**{field: value})

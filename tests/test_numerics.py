"""Numerical faults: singular JᵀJ, float32 training, non-finite losses."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from problems_for_tests import lagaris_pde1

import nnpde

# One problem object for the runs on 25 points: solves of the same problem object share their
# compiled programs (compilation is most of these tests' time).
PROBLEM = lagaris_pde1()


def test_singular_normal_equations_fall_back_to_more_damping_not_nan():
    problem = PROBLEM
    net = nnpde.TwoLayerNet(2, (4, 4))
    # duplicated hidden units make J's columns dependent: JᵀJ is singular, and with μ ≈ 0
    # and a negligible diagonal floor its Cholesky factorisation fails
    p = net.unpack(net.init(jax.random.key(0)))
    p = p._replace(v=p.v.at[1].set(p.v[0]), b=p.b.at[1].set(p.b[0]),
                   w=p.w.at[:, 1].set(p.w[:, 0]))  # fmt: skip
    theta0 = net.pack(p)
    cfg = nnpde.LM(mu0=1e-300, mu_min=1e-301, eps=1e-300)
    r, J = _jacobian(problem, net, theta0)
    assert np.linalg.matrix_rank(np.asarray(J.T @ J)) < net.num_params
    sol = nnpde.solve(problem, net, problem.domain.grid(5), theta0=theta0, solver=cfg, steps=15)
    assert np.all(np.isfinite(np.asarray(sol.theta)))
    losses = sol.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.5 * float(jnp.mean(r * r))
    assert sol.result != nnpde.RESULTS.nonfinite


def _jacobian(problem, net, theta):
    from nnpde.collocation import make_collocation

    col, data = make_collocation(problem, net, jnp.asarray(problem.domain.grid(5)))
    return jax.jit(col.residuals_and_jacobian)(theta, data)  # one program, not one per operation


def test_float32_training_of_the_default_problem():
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (10, 10))
    theta0 = net.init(jax.random.key(0), jnp.float32)
    sol = nnpde.solve(problem, net, problem.domain.grid(10), theta0=theta0, steps=150)
    assert sol.theta.dtype == jnp.float32
    assert np.all(np.isfinite(sol.history["loss"]))
    assert sol.errors()["max_abs"] < 1e-4, sol.result


def test_divergent_loss_stops_with_the_last_finite_theta():
    problem = PROBLEM
    net = nnpde.TwoLayerNet(2, (4, 4))
    sol = nnpde.solve(problem, net, problem.domain.grid(5), method=optax.sgd(1e6), steps=50)
    assert sol.result == nnpde.RESULTS.diverged, sol.result
    assert np.all(np.isfinite(np.asarray(sol.theta)))
    assert np.isfinite(float(jax.jit(lambda t: jnp.sum(t))(sol.theta)))

"""The Lagaris trial solution ψ = A + B·N on an axis with an initial value and derivative at
t0 and data at t1 too (an Interval's right end, a Box's t_max face): ψ must meet all three for
every N. Before, the derivative was dropped there (B = ξ(1-ξ)): a clamped-clamped beam
(u(0) = u'(0) = 0 by ``Initial``, u(1) by ``Dirichlet`` at the right end, u'(1) by ``Neumann``)
ended ``converged`` with u'(0) = -22 and rel-L2 2.4 (held-out round 7)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnpde
from nnpde.trial import build_trial


def _psi(trial, N):
    return lambda x: trial.A(x) + trial.B(x) * N(x)


@pytest.mark.parametrize("a", [0.0, -1.5])
def test_interval_initial_value_slope_and_right_end(a):
    b = a + 2.0
    p = nnpde.Problem(nnpde.Interval(a, b), lambda x, u: u.hessian[0, 0],
                      boundary=[nnpde.Initial(lambda x: 1.0, derivative=lambda x: 2.0),
                                nnpde.Dirichlet(lambda x: 3.0, where="right")])  # fmt: skip
    trial, rest = build_trial(p)
    assert rest == []
    for N in (lambda x: jnp.sin(3 * x[0]) + 0.7, lambda x: jnp.exp(x[0])):
        psi = _psi(trial, N)
        lo, hi = jnp.asarray([a]), jnp.asarray([b])
        np.testing.assert_allclose([psi(lo), jax.grad(psi)(lo)[0], psi(hi)], [1.0, 2.0, 3.0],
                                   rtol=0, atol=1e-14)  # fmt: skip


def test_space_time_box_initial_slope_sides_and_final_time():
    def exact(x):
        return jnp.sin(x[0] + 0.3) * jnp.cos(2 * x[1]) + x[1] ** 2

    box = nnpde.Box((0.0, 0.0), (1.0, 1.5), time=True)
    p = nnpde.Problem(box, lambda x, u: u.laplacian,
                      boundary=[nnpde.Dirichlet(exact),
                                nnpde.Initial(exact, derivative=lambda x: jax.grad(exact)(x)[1]),
                                nnpde.Dirichlet(exact, where="t_max")])  # fmt: skip
    psi = _psi(build_trial(p)[0], lambda x: jnp.sin(3 * x[0] + x[1]) + 0.7)
    s = jnp.asarray(np.random.default_rng(0).uniform(size=16))
    faces = [jnp.stack([jnp.zeros_like(s), 1.5 * s], 1), jnp.stack([jnp.ones_like(s), 1.5 * s], 1),
             jnp.stack([s, jnp.zeros_like(s)], 1), jnp.stack([s, jnp.full_like(s, 1.5)], 1)]
    for y in faces:
        np.testing.assert_allclose(jax.vmap(psi)(y), jax.vmap(exact)(y), rtol=0, atol=1e-14)
    slope = jax.vmap(lambda y: jax.grad(psi)(y)[1] - jax.grad(exact)(y)[1])(faces[2])
    np.testing.assert_allclose(slope, 0.0, atol=1e-13)


def test_third_order_ode_with_both_ends_solves():
    """u''' = -cos x on [0, 1], u(0) = 0, u'(0) = 1, u(1) = sin 1 + 1: u = sin x + x², which
    the three conditions fix (with the slope dropped any u + c·x(1 - x) fitted)."""
    def exact(x):
        return jnp.sin(x[0]) + x[0] ** 2

    p = nnpde.Problem(nnpde.Interval(0.0, 1.0),
                      lambda x, u: u.partial(0, 0, 0) + jnp.cos(x[0]),
                      boundary=[nnpde.Initial(lambda x: 0.0, derivative=lambda x: 1.0),
                                nnpde.Dirichlet(lambda x: jnp.sin(1.0) + 1.0, where="right")],
                      exact=exact)  # fmt: skip
    sol = nnpde.solve(p, nnpde.TwoLayerNet(1, (8, 8)), 64, key=jax.random.key(0),
                      restarts=0, steps=300)  # fmt: skip
    assert sol.errors()["rel_l2"] < 1e-8, sol.status

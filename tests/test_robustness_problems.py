"""The robustness benchmark's problem set (benchmarks/robustness_problems.py): every problem
builds, its reference solution satisfies the equation (autodiff of the reference through the
pointwise equation) and every boundary, initial, periodic and data condition.

A wrong sign or coefficient in an equation or a reference shows up at O(1e-2) or worse; the
closed forms hold to ~1e-12 here (the largest source terms are O(10³)).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import condition_errors, condition_points, load_benchmark

import nnpde
from nnpde.problem import jet_of

rp = load_benchmark("robustness_problems")

NAMES = sorted(rp.PROBLEMS)
# Residual tolerance for closed forms (relative to the equation's scale, below) and for the
# Lotka–Volterra reference (a cubic Hermite interpolant of a rtol-1e-12 integration on a
# 1.25e-3 grid: its derivative is off by O(h³ y'''') ~ 1e-7 of the populations' O(10) scale).
CLOSED_FORM_TOL = 1e-6
INTERPOLATED_TOL = 1e-5
INTERPOLATED = {"lotka_volterra"}
NEEDS_SCIPY = {"lotka_volterra"}


@functools.cache  # built once per module (Lotka–Volterra integrates its reference)
def _case(name):
    if name in NEEDS_SCIPY:  # the reference is integrated by scipy (not an nnpde dependency)
        pytest.importorskip("scipy")
    return rp.PROBLEMS[name]()


def _component(case, k):
    if case.problem.components == 1:
        return case.reference
    return lambda p: case.reference(p)[k]


def _residuals(case, x):
    """The equation's residuals with the reference's jets (and true coefficients), and the
    same with the reference replaced by zero (the equation's scale): each (P,) or (P, E), from
    one compiled program."""
    problem = case.problem
    zero = case._replace(reference=lambda p: jnp.zeros_like(case.reference(p)))

    def at(c, p):
        jets = tuple(jet_of(_component(c, k), p) for k in range(problem.components))
        u = jets[0] if problem.components == 1 else jets
        if problem.params:
            return problem.equation(p, u, {k: jnp.asarray(v) for k, v in c.params.items()})
        return problem.equation(p, u)

    return jax.jit(jax.vmap(lambda p: (at(case, p), at(zero, p))))(x)


def test_the_set_is_large_and_covers_the_classes():
    assert len(NAMES) >= 24
    for needed in ("poisson_3d", "poisson_5d", "helmholtz_2d", "heat_1d", "diffusion_reaction",
                   "burgers_cole_hopf", "allen_cahn_front", "wave_1d", "klein_gordon",
                   "advection_diffusion", "convection", "reaction", "prothero_robinson",
                   "lotka_volterra", "kovasznay", "inverse_poisson_kappa"):  # fmt: skip
        assert needed in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_problem_builds_with_a_default_net_and_enough_points(name):
    case = _case(name)
    assert isinstance(case.problem, nnpde.Problem) and case.problem.name == name
    assert case.source, "every problem names its source"
    assert len(case.hidden) == 2 and all(16 <= m <= 32 for m in case.hidden)
    net = nnpde.TwoLayerNet(case.problem.dim, case.hidden)
    # more interior residuals than parameters, so the points constrain the network
    assert case.points * max(1, case.problem.components) > net.num_params * case.problem.components
    assert bool(case.problem.params) == (case.params is not None)
    if case.params is not None:
        assert set(case.params) == set(case.problem.params)


@pytest.mark.parametrize("name", NAMES)
def test_reference_satisfies_the_equation(name):
    case = _case(name)
    x = jnp.asarray(case.problem.domain.sample(24, key=jax.random.key(3)))
    r, zero = _residuals(case, x)
    r = np.asarray(r)
    assert r.shape[0] == x.shape[0] and np.all(np.isfinite(r))
    # the equation's scale: a residual with the reference replaced by zero
    scale = max(1.0, float(np.max(np.abs(np.asarray(zero)))))
    tol = INTERPOLATED_TOL if name in INTERPOLATED else CLOSED_FORM_TOL
    assert float(np.max(np.abs(r))) <= tol * scale, (float(np.max(np.abs(r))), scale)


def _condition_errors(case, bc, sample):
    """The condition's errors at its boundary sample points, from one compiled program (op by
    op, the vmapped autodiff took several times longer)."""
    domain = case.problem.domain
    f = _component(case, bc.component)
    if not isinstance(bc, nnpde.Periodic):
        return condition_errors(bc, f, *condition_points(domain, bc, sample))
    g = jax.grad(f)

    def periodic(lo):
        hi = lo.at[:, bc.axis].set(domain.upper[bc.axis])
        err = [jax.vmap(f)(lo) - jax.vmap(f)(hi)]
        if bc.derivative:
            err.append(jax.vmap(g)(lo)[:, bc.axis] - jax.vmap(g)(hi)[:, bc.axis])
        return jnp.concatenate(err)

    return jax.jit(periodic)(jnp.asarray(sample.x[sample.face == domain.faces[2 * bc.axis]]))


@pytest.mark.parametrize("name", NAMES)
def test_reference_satisfies_the_conditions_and_data(name):
    case = _case(name)
    sample = case.problem.domain.sample_boundary(64, key=jax.random.key(4))
    tol = INTERPOLATED_TOL if name in INTERPOLATED else CLOSED_FORM_TOL
    assert case.problem.boundary, "every problem has conditions"
    for bc in case.problem.boundary:
        err = np.asarray(_condition_errors(case, bc, sample))
        assert err.size > 0 and float(np.max(np.abs(err))) <= tol, (bc, np.max(np.abs(err)))
    if case.problem.data is not None:
        x_obs, u_obs = case.problem.data
        ref = np.asarray(jax.jit(jax.vmap(case.reference))(jnp.asarray(x_obs)))
        ref = ref.reshape(u_obs.shape)
        assert np.max(np.abs(ref - u_obs)) <= tol


def test_lotka_volterra_reference_agrees_with_a_second_integration():
    """The interpolated reference against an independent integrator (Radau, rtol 1e-10) at
    points between the table's nodes: the reference is right to far below the 1e-6 target."""
    solve_ivp = pytest.importorskip("scipy.integrate").solve_ivp
    case = _case("lotka_volterra")
    t = np.linspace(0.0, 5.0, 37)[1:] - 3.1e-4
    other = solve_ivp(lambda s, y: rp._lv_rhs(y), (0.0, 5.0), [10.0, 5.0], method="Radau",
                      t_eval=t, rtol=1e-10, atol=1e-10).y.T  # fmt: skip
    ref = np.asarray(jax.jit(jax.vmap(case.reference))(jnp.asarray(t[:, None])))
    assert np.max(np.abs(ref - other)) / np.max(np.abs(other)) < 1e-7

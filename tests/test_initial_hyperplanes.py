"""solve's initial first-layer hyperplanes spread over the domain's bounding box.

The default initialisation places the first-layer hyperplanes v_m·x + b_m = 0 within ≈ 1 of
the origin; on every axis where the domain's box reaches outside [-1, 1], ``solve`` moves unit
m's hyperplane by a point ξ_m drawn uniformly from the box (``nnpde._nets.shift_first_layer``,
``nnpde.solvers._spread_hyperplanes``). Checked here: the shift is exactly that translation
(both network kinds, float64), ``solve``'s version moves every component's hyperplanes into
the box on those axes only, leaves the slopes, the coefficients of an inverse problem and a
box inside [-1, 1]^D alone, and the problem that showed the need (the logistic ODE on [0, 10],
where seed 0 ended at rel-L2 0.996 before) now converges.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_benchmark

import nnpde
from nnpde import _nets, solvers
from nnpde.results import RESULTS

rb = load_benchmark("robustness")


def _first_layer(net, theta):
    if isinstance(net, nnpde.MLP):
        w, b = net.unravel(theta)[0]
        return np.asarray(w), np.asarray(b)
    p = net.unpack(theta)
    return np.asarray(p.v), np.asarray(p.b)


@pytest.mark.parametrize("kind", ["two_layer", "mlp"])
def test_shift_first_layer_translates_each_hyperplane(kind):
    net = nnpde.TwoLayerNet(3, (7, 5)) if kind == "two_layer" else nnpde.MLP((3, 7, 4, 1))
    theta = _nets.flat_init(net, jax.random.key(3), jnp.float64)
    shifts = np.asarray(jax.random.uniform(jax.random.key(4), (7, 3), jnp.float64, -5.0, 5.0))
    moved = _nets.shift_first_layer(net, theta, shifts)
    v, b = _first_layer(net, theta)
    v2, b2 = _first_layer(net, moved)
    np.testing.assert_array_equal(v2, v)  # slopes kept
    y = np.asarray(jax.random.normal(jax.random.key(5), (7, 3), jnp.float64))
    # unit m at ξ_m + y is what it was at y
    np.testing.assert_allclose(np.sum(v * (shifts + y), axis=1) + b2, np.sum(v * y, axis=1) + b,
                               rtol=1e-12, atol=1e-13)  # fmt: skip
    changed = np.flatnonzero(np.asarray(moved) != np.asarray(theta))
    assert changed.size == 7  # the seven first-layer biases, nothing else
    np.testing.assert_array_equal(np.sort(b2 - b), np.sort(np.asarray(moved)[changed]
                                                           - np.asarray(theta)[changed]))


@pytest.mark.parametrize("kind", ["two_layer", "mlp"])
def test_shift_first_layer_with_slopes_scales_then_translates(kind):
    net = nnpde.TwoLayerNet(2, (5, 4)) if kind == "two_layer" else nnpde.MLP((2, 5, 3, 1))
    theta = _nets.flat_init(net, jax.random.key(6), jnp.float64)
    shifts = np.asarray(jax.random.uniform(jax.random.key(7), (5, 2), jnp.float64, 0.0, 50.0))
    slopes = np.array([0.2, 1.0])
    moved = _nets.shift_first_layer(net, theta, shifts, slopes)
    v, b = _first_layer(net, theta)
    v2, b2 = _first_layer(net, moved)
    np.testing.assert_array_equal(v2, v * slopes)
    y = np.asarray(jax.random.normal(jax.random.key(8), (5, 2), jnp.float64))
    np.testing.assert_allclose(np.sum(v2 * (shifts + y), axis=1) + b2,
                               np.sum(v2 * y, axis=1) + b, rtol=1e-12, atol=1e-12)  # fmt: skip


def test_a_box_wider_than_slope_width_gets_gentler_slopes_on_that_axis():
    """[0, 100] × [0, 5]: axis 0's slopes are divided by 100 / SLOPE_WIDTH = 10 (a unit's
    transition then spans ~1/10 of the box, as on a box 10 wide), axis 1's are kept; the
    hyperplanes are spread over the box on both axes."""
    problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (100.0, 5.0)), lambda x, u: u.laplacian,
                            boundary=[nnpde.Dirichlet(lambda x: 0.0)])  # fmt: skip
    net = nnpde.TwoLayerNet(2, (6, 6))
    theta = net.init(jax.random.key(0), jnp.float64)
    moved = solvers._spread_hyperplanes(problem, net, theta, jax.random.key(1))
    v, _ = _first_layer(net, theta)
    v2, _ = _first_layer(net, moved)
    assert solvers.SLOPE_WIDTH == 10.0
    np.testing.assert_allclose(v2[:, 0], v[:, 0] / 10.0, rtol=1e-15)
    np.testing.assert_array_equal(v2[:, 1], v[:, 1])


def test_solve_spreads_every_component_into_the_box_and_not_the_coefficients():
    """Two components and one coefficient φ on [0, 4] × [-1, 1]: each θ_k's hyperplanes are
    moved along the first axis to points of [0, 4]; the second axis (inside [-1, 1]) is not
    used; φ stays as given; the same key gives the same θ0, another key another one."""
    problem = nnpde.Problem(
        nnpde.Box((0.0, -1.0), (4.0, 1.0)),
        lambda x, u, p: jnp.stack([u[0].laplacian - p["k"], u[1].value - u[0].value]),
        components=2, boundary=[nnpde.Dirichlet(lambda x: 0.0, component=0)],
        params={"k": 1.5},
    )  # fmt: skip
    net = nnpde.TwoLayerNet(2, (6, 6))
    nt = net.num_params
    theta = jnp.concatenate([net.init(jax.random.key(i), jnp.float64) for i in (0, 1)]
                            + [jnp.asarray([1.5])])  # fmt: skip
    moved = solvers._spread_hyperplanes(problem, net, theta, jax.random.key(9))
    assert moved[-1] == 1.5 and moved.dtype == theta.dtype
    for k in range(2):
        v, b = _first_layer(net, theta[k * nt:(k + 1) * nt])
        v2, b2 = _first_layer(net, moved[k * nt:(k + 1) * nt])
        np.testing.assert_array_equal(v2, v)
        xi = (b - b2) / v[:, 0]  # ξ_m on axis 0 (ξ = 0 on axis 1)
        assert np.all((xi >= 0.0) & (xi <= 4.0)) and np.ptp(xi) > 0.5, xi
    again = solvers._spread_hyperplanes(problem, net, theta, jax.random.key(9))
    other = solvers._spread_hyperplanes(problem, net, theta, jax.random.key(10))
    np.testing.assert_array_equal(again, moved)
    assert not np.allclose(other, moved)


def test_a_box_inside_the_unit_box_keeps_its_start():
    problem = nnpde.Problem(nnpde.Box((0.0, -1.0), (1.0, 0.5)), lambda x, u: u.laplacian,
                            boundary=[nnpde.Dirichlet(lambda x: 0.0)])  # fmt: skip
    net = nnpde.TwoLayerNet(2, (6, 6))  # the test above's: its initialisation is compiled
    theta = net.init(jax.random.key(0), jnp.float64)
    assert solvers._spread_hyperplanes(problem, net, theta, jax.random.key(1)) is theta


def _logistic(seed: int, **changes):
    """The benchmark's logistic case, solved as the benchmark does (2×16, 512 points), or with
    the case's ``hidden`` and ``points`` changed; scored on its test points."""
    case = rb.PROBLEMS["logistic"]()._replace(**changes)
    x = rb.test_points(case.problem.domain)
    u_ref = np.asarray(jax.vmap(case.reference)(jnp.asarray(x)), np.float64).reshape(-1, 1)
    sol = rb.solve_once(case, "lm", seed)["sol"]
    return rb.score(case, sol, x, u_ref), sol


def test_logistic_on_ten_growth_times_converges():
    """u' = u(1 - u), u(0) = 0.1 on [0, 10], seed 0, on a 2×8 net and 256 points (the
    benchmark's 2×16 on 512 points, ``robustness-spread-cpu.md``, takes 2.5× as long): with the
    hyperplanes near t = 0 every attempt stalled (rel-L2 0.79 after 4 restarts; the
    benchmark's decayed to u = 0 on every attempt, rel-L2 0.996); spread over [0, 10], 7e-11
    without a restart (the benchmark's: 2.2e-11)."""
    scores, sol = _logistic(0, hidden=(8, 8), points=256)
    assert sol.result == RESULTS.converged, sol.status
    assert scores["rel_l2"] <= 1e-6, scores


@pytest.mark.slow
def test_logistic_converges_on_every_seed():
    """Seeds 1-4 (before: seed 1 at rel-L2 0.999, seeds 2-4 only after 3-4 restarts)."""
    for seed in (1, 2, 3, 4):
        scores, sol = _logistic(seed)
        assert sol.result == RESULTS.converged, (seed, sol.status)
        assert scores["rel_l2"] <= 1e-6, (seed, scores)


def test_poisson_on_a_square_of_side_1000_converges():
    """``benchmarks/domain_size.py`` at L = 1000, seed 0 (2×16, 1024 points): with O(1) slopes
    every unit is a step across the box and all five attempts stalled at rel-L2 1.0
    (``benchmarks/results/domain-size-cpu.md``); with the slopes divided by 100, 9.9e-11 in
    one attempt."""
    ds = load_benchmark("domain_size")
    sol = nnpde.solve(ds.problem(1000.0), nnpde.TwoLayerNet(2, (16, 16)), 1024,
                      key=jax.random.key(0))  # fmt: skip
    assert sol.result == RESULTS.converged, sol.status
    assert "restarts" not in sol.info
    assert sol.errors()["rel_l2"] <= 1e-8, sol.errors()

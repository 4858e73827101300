"""solve's initial output scale matched to the problem (``nnpde.solvers._fit_output_scales``).

The initial network's output is O(1/max|B|) whatever the size of the solution; ``solve``
multiplies component k's output layer by c_k = min(1, |r_0| / |d_k|) (r_0: the residuals of
N = 0; d_k: component k's contribution at θ0), so the random start adds at most as much to
the residual as the problem has, and keeps it only when it lowers the loss; a start more than
10× too small is grown to a tenth of the ratio. Checked here: the factor is that ratio (or a
tenth of it), only the output layer changes, a start between 1 and 10× too small is returned
as it is (one component, and two components with their own factors); for a nonlinear equation
the start returned never has a larger loss than the one given, and the guard does fire; a
solution of size 1e-8 is found to the relative accuracy of one of size 1, where it converged
at rel-L2 2e-4 before.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_benchmark

import nnpde
from nnpde import solvers
from nnpde.collocation import make_collocation, residuals_jit
from nnpde.results import RESULTS

PI = np.pi


def _loss(col, theta, data) -> float:
    r = np.asarray(residuals_jit(col, theta, data))
    return float(r @ r)


def _poisson_1d(amplitude: float) -> nnpde.Problem:
    """-u'' = f on [0, 2] with u = a·sin(πx/2) + a·x/2 (Dirichlet)."""
    return nnpde.Problem(
        nnpde.Interval(0.0, 2.0),
        lambda x, u: -u.hessian[0, 0] - amplitude * (PI / 2) ** 2 * jnp.sin(PI * x[0] / 2),
        boundary=[nnpde.Dirichlet(lambda x: amplitude * x[0] / 2)],
    )  # fmt: skip


def _norms(col, data, theta, nt, k_count):
    """|r_0| and each |d_k|, from the residuals directly (not the code under test's sums)."""
    host = np.asarray(theta)
    r0 = np.asarray(residuals_jit(col, np.zeros_like(host), data))
    d = []
    for k in range(k_count):
        t = np.zeros_like(host)
        t[k * nt:(k + 1) * nt] = host[k * nt:(k + 1) * nt]
        d.append(np.linalg.norm(np.asarray(residuals_jit(col, t, data)) - r0))
    return np.linalg.norm(r0), np.asarray(d)


@pytest.mark.parametrize("amplitude", [1e-6, 1e-2, 1e4])
def test_output_layer_is_shrunk_to_the_problems_residual(amplitude):
    """|r_0|/|d| = 2.3e-5, 0.23 (shrunk to it) and 2.3e5 (grown to a tenth of it: a start that
    small made LM's first steps saturate the hidden units, ``benchmarks/amplitude.py``)."""
    problem, net = _poisson_1d(amplitude), nnpde.TwoLayerNet(1, (8, 8))
    col, data = make_collocation(problem, net, problem.domain.grid(40))
    theta = net.init(jax.random.key(1), jnp.float64)
    fitted = solvers._fit_output_scales(problem, net, col, data, theta)
    r0, (d,) = _norms(col, data, theta, net.num_params, 1)
    ratio = r0 / d
    assert (ratio < 1) == (amplitude < 1) and (ratio > solvers.GROW_BEYOND) == (amplitude > 1)
    factor = ratio if ratio < 1 else ratio / solvers.GROW_BEYOND
    lo, hi = net.offsets.a, net.offsets.a + net.m2
    np.testing.assert_allclose(np.asarray(fitted)[lo:hi], factor * np.asarray(theta)[lo:hi],
                               rtol=1e-10)  # fmt: skip
    rest = np.ones(net.num_params, bool)
    rest[lo:hi] = False
    np.testing.assert_array_equal(np.asarray(fitted)[rest], np.asarray(theta)[rest])
    if ratio < 1:
        assert _loss(col, fitted, data) < _loss(col, theta, data)


def test_a_start_between_one_and_ten_times_too_small_is_left_alone():
    problem, net = _poisson_1d(0.2), nnpde.TwoLayerNet(1, (8, 8))  # |r_0|/|d| = 4.6
    col, data = make_collocation(problem, net, problem.domain.grid(40))
    theta = net.init(jax.random.key(1), jnp.float64)
    r0, (d,) = _norms(col, data, theta, net.num_params, 1)
    assert 1 < r0 / d < solvers.GROW_BEYOND
    assert solvers._fit_output_scales(problem, net, col, data, theta) is theta


def test_each_component_gets_its_own_factor():
    """u_0'' = -a π² sin(πx), u_1 = 3·u_0 (coupled, linear) on [0, 1], a = 1e-3: each θ_k's
    output layer is shrunk by its own min(1, |r_0|/|d_k|)."""
    problem = nnpde.Problem(
        nnpde.Interval(0.0, 1.0),
        lambda x, u: jnp.stack([u[0].hessian[0, 0] + 1e-3 * PI**2 * jnp.sin(PI * x[0]),
                                u[1].value - 3 * u[0].value]),
        components=2, boundary=[nnpde.Dirichlet(lambda x: 0.0, component=0)],
    )  # fmt: skip
    net = nnpde.TwoLayerNet(1, (6, 6))
    col, data = make_collocation(problem, net, problem.domain.grid(30))
    theta = jnp.concatenate([net.init(jax.random.key(i), jnp.float64) for i in (2, 3)])
    fitted = solvers._fit_output_scales(problem, net, col, data, theta)
    nt, lo = net.num_params, net.offsets.a
    r0, d = _norms(col, data, theta, nt, 2)
    c = [float(fitted[k * nt + lo] / theta[k * nt + lo]) for k in (0, 1)]
    np.testing.assert_allclose(c, np.minimum(1.0, r0 / d), rtol=1e-10)
    assert max(c) < 1 and abs(c[0] - c[1]) > 1e-3 * max(c)
    assert _loss(col, fitted, data) < _loss(col, theta, data)


def test_nonlinear_equation_never_gets_a_worse_start():
    """u'/10 = e^{3u} - 1.2, u(0) = 0.3: r is not affine in the output layer, so shrinking it
    can raise the loss; the start returned never has a larger loss than the one given, and
    over 20 initialisations a shrink is refused at least once (the guard is exercised)."""
    problem = nnpde.Problem(nnpde.Interval(0.0, 1.0),
                            lambda x, u: jnp.exp(3 * u.value) - 1.2 - 0.1 * u.grad[0],
                            boundary=[nnpde.Initial(lambda x: 0.3)])  # fmt: skip
    net = nnpde.TwoLayerNet(1, (6, 6))
    col, data = make_collocation(problem, net, problem.domain.grid(32))
    big = jnp.where(jnp.arange(net.num_params) >= net.offsets.a, 3.0, 1.0)
    refused = 0
    for seed in range(20):
        theta = net.init(jax.random.key(seed), jnp.float64) * big
        out = solvers._fit_output_scales(problem, net, col, data, theta)
        assert _loss(col, out, data) <= _loss(col, theta, data), seed
        r0, (d,) = _norms(col, data, theta, net.num_params, 1)
        refused += out is theta and r0 < d
    assert refused >= 1


def test_a_solution_of_size_1e_minus_8_is_found_to_full_relative_accuracy():
    """u = 1e-8·sin πx sin πy on the unit square (``benchmarks/amplitude.py``'s problem and
    101² test grid), seed 0, on a 2×10 net and 256 Sobol' points (the benchmark's 2×16 on 1024
    points takes 2.5× as long): without the fit (the output layer has to shrink 1e9×) LM's
    xtol test ended it at rel-L2 8e-4 (2.1e-4 on the benchmark's); with it, 4.6e-10, as for u
    of size 1 (8e-11; the benchmark's: 2.8e-10 against 7e-12 … 7e-11)."""
    run = load_benchmark("amplitude").run(1e-8, seed=0, hidden=(10, 10), points=256)
    assert run["result"] == RESULTS.converged.name, run
    assert run["rel_l2"] <= 1e-8, run

"""Inverse problems whose coefficients the residuals do not determine (``nnpde.identifiability``).

-κΔu + c u = f with u = sin(πx) sin(πy) fixes only 2π²κ + c (Δu = -2π²u): LM fits u and ends
``converged`` with κ, c anywhere on that line, so ``solve`` must say so (an
``UnidentifiableWarning`` and ``info["identifiability"]``). With u = (1 + x) sin(πx) sin(πy) the
two are identifiable: no warning, and the true values are found.
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

import nnpde
from nnpde import identifiability
from nnpde.collocation import make_collocation
from nnpde.results import RESULTS

PI = math.pi
KAPPA, C = 0.5, 2.0


def _problem(u_exact, params=("kappa", "c")):
    def source(x):
        return -KAPPA * jnp.trace(jax.hessian(u_exact)(x)) + C * u_exact(x)

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    xo = box.sample(40, key=jax.random.key(5), method="halton")
    uo = jax.vmap(u_exact)(jnp.asarray(xo))
    if params == ("kappa", "c"):
        eq = lambda x, u, q: -q["kappa"] * u.laplacian + q["c"] * u.value - source(x)  # noqa: E731
    else:  # a coefficient that does not enter the equation
        eq = lambda x, u, q: -KAPPA * u.laplacian + C * u.value - source(x) + 0 * q["d"]  # noqa: E731
    return nnpde.Problem(box, eq, boundary=[nnpde.Dirichlet(lambda x: 0.0)],
                         params={p: 1.0 for p in params}, data=(xo, uo), exact=u_exact)  # fmt: skip


def _solve(problem):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sol = nnpde.solve(problem, nnpde.TwoLayerNet(2, (8, 8)), 256, key=jax.random.key(0))
    return sol, [w for w in caught if issubclass(w.category, nnpde.UnidentifiableWarning)]


def test_an_eigenfunction_leaves_only_a_combination_and_solve_says_so():
    sol, warned = _solve(_problem(lambda x: jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])))
    assert sol.result == RESULTS.converged, sol.status
    ident = sol.info["identifiability"]
    assert not ident["identifiable"] and ident["min_eigenvalue"] <= identifiability.TOL
    assert len(warned) == 1
    # the blind direction is δκ : δc = 1 : -2π² (2π²κ + c is what the data fix)
    d = ident["direction"]
    np.testing.assert_allclose(d["c"] / d["kappa"], -2 * PI**2, rtol=1e-3)


def test_identifiable_coefficients_give_no_warning_and_are_found():
    sol, warned = _solve(_problem(lambda x: (1 + x[0]) * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])))
    assert sol.result == RESULTS.converged, sol.status
    assert sol.info["identifiability"]["identifiable"] and not warned
    assert abs(sol.params["kappa"] - KAPPA) <= 1e-5 and abs(sol.params["c"] - C) <= 1e-4


def test_a_coefficient_outside_the_equation_is_reported():
    sol, warned = _solve(_problem(lambda x: jnp.sin(PI * x[0]) * jnp.sin(PI * x[1]), ("d",)))
    ident = sol.info["identifiability"]
    assert ident["column_norms"]["d"] == 0 and ident["min_eigenvalue"] == 0 and len(warned) == 1


def test_a_forward_problem_has_no_check():
    assert identifiability.check(None, jnp.zeros(3), None, ()) is None


def test_the_columns_path_agrees_with_the_gram_block():
    """Without a dense JᵀJ (matrix-free or first-order runs) the columns J e_j are computed."""
    problem = _problem(lambda x: (1 + x[0]) * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1]))
    net = nnpde.TwoLayerNet(2, (8, 8))
    col, data = make_collocation(problem, net, problem.domain.sample(128, key=jax.random.key(1)))
    theta = jnp.concatenate([net.init(jax.random.key(2)), jnp.asarray([0.7, 1.3])])
    names = ("kappa", "c")
    a = identifiability.check(col, theta, data, names)
    b = identifiability.check(col, theta, data, names, col.gram(theta, data)[1])
    np.testing.assert_allclose(a["min_eigenvalue"], b["min_eigenvalue"], rtol=1e-9)
    for n in names:
        np.testing.assert_allclose(a["column_norms"][n], b["column_norms"][n], rtol=1e-12)
        np.testing.assert_allclose(a["direction"][n], b["direction"][n], rtol=1e-8)

"""Equations and conditions with partials up to fourth order: ``u.partial``, ``OperatorBC`` and
the collocation model behind them (nnpde.high_order), kernels against autodiff in float64."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F64_RTOL, rel_err, slow_except

import nnpde
import nnpde.problems as catalogue
from nnpde import high_order
from nnpde.collocation import Collocation, make_collocation
from nnpde.problem import jet_of

PI = jnp.pi


# ---- Jet.partial ------------------------------------------------------------------------------
@functools.cache  # one compiled program (op by op, the nested autodiff compiled ~100)
def _jet(d=2):
    def fn(x):
        return jnp.sin(x[0]) * jnp.exp(x[-1]) + x[0] ** 4

    return fn, jax.jit(lambda x: jet_of(fn, x, order=4))(jnp.full((d,), 0.3))


def test_partial_reads_the_jet():
    _, u = _jet()
    assert u.partial() == u.value
    assert u.partial(1) == u.grad[1]
    assert u.partial(1, 0) == u.hessian[1, 0] == u.hessian[0, 1]
    # ∂⁴/∂x0⁴ of sin(x0) e^{x1} + x0⁴ = sin(x0) e^{x1} + 24
    np.testing.assert_allclose(float(u.partial(0, 0, 0, 0)), np.sin(0.3) * np.exp(0.3) + 24)
    # ∂³/∂x0∂x1² (any order of the axes) = cos(x0) e^{x1}
    for axes in [(0, 1, 1), (1, 0, 1), (1, 1, 0)]:
        np.testing.assert_allclose(float(u.partial(*axes)), np.cos(0.3) * np.exp(0.3))


@pytest.mark.parametrize(
    ("axes", "match"),
    [((0, 0, 0, 0, 0), "up to order 4"), ((2,), r"int in 0\.\.1"), ((0.5,), "int in"),
     ((True,), "int in")],
)  # fmt: skip
def test_partial_names_bad_axes(axes, match):
    _, u = _jet()
    with pytest.raises(ValueError, match=match):
        u.partial(*axes)


def test_partial_of_order_three_needs_a_jet_that_holds_it():
    u = jet_of(lambda x: x[0] ** 3, jnp.ones((1,)))  # order 2: high is None
    with pytest.raises(ValueError, match="holds derivatives up to order 2"):
        u.partial(0, 0, 0)


# ---- OperatorBC and the problems that reach the model -----------------------------------------
def test_operator_bc_is_checked():
    with pytest.raises(TypeError, match="residual must be a callable"):
        nnpde.OperatorBC(1.0)
    with pytest.raises(TypeError, match="weight must be a finite number"):
        nnpde.OperatorBC(lambda x, u: u.value, weight=float("nan"))
    bad_face = nnpde.OperatorBC(lambda x, u: u.value, where="x7_max")
    with pytest.raises(ValueError, match="no face 'x7_max'"):
        nnpde.Problem(nnpde.Interval(0.0, 1.0), lambda x, u: u.value, boundary=[bad_face])
    with pytest.raises(ValueError, match="OperatorBC is available for problems with one unknown"):
        nnpde.Problem(nnpde.Interval(0.0, 1.0), lambda x, u: jnp.zeros(2), components=2,
                      boundary=[nnpde.OperatorBC(lambda x, u: u[0].value)])  # fmt: skip


def test_a_system_reading_third_derivatives_is_refused_with_a_reason():
    problem = nnpde.Problem(nnpde.Interval(0.0, 1.0), components=2,
                            equation=lambda x, u: jnp.stack([u[0].partial(0, 0, 0), u[1].value]),
                            boundary=[nnpde.Dirichlet(lambda x: 0.0)])  # fmt: skip
    with pytest.raises(ValueError, match="holds derivatives up to order 2"):
        nnpde.solve(problem, nnpde.TwoLayerNet(1, (3, 3)), 8, steps=1)


def test_second_order_problems_keep_the_second_order_model():
    problem = catalogue.get("lagaris_pde1").problem
    col, _ = make_collocation(problem, nnpde.TwoLayerNet(2, (4, 4)), problem.domain.grid(3))
    assert isinstance(col, Collocation)
    assert not high_order.needs_high_order(problem, jnp.float64)


def test_relu_is_refused_for_fourth_order():
    problem = catalogue.get("beam").problem
    with pytest.raises(ValueError, match=r"order 5.*'relu'"):
        make_collocation(problem, nnpde.TwoLayerNet(1, (3, 3), "relu"), jnp.ones((4, 1)) * 0.5)


def test_only_the_partials_read_are_computed():
    """Without a trial factor N's partials are ψ's; with one, Leibniz needs their subsets."""
    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    eq = lambda x, u: u.partial(0, 0, 1, 1) - u.value  # noqa: E731
    bare = nnpde.Problem(box, eq, boundary=[nnpde.Neumann(lambda x: 0.0)])
    col, _ = make_collocation(bare, nnpde.TwoLayerNet(2, (3, 3)), box.grid(3))
    assert col.interior.fields == {"value"} and col.interior.high == ((0, 0, 1, 1),)
    assert col.interior.nparts == ((), (0, 0, 1, 1))
    assert col.penalties[0][0].nparts == ((0,), (1,))  # n·∇u only
    exact = nnpde.Problem(box, eq, boundary=[nnpde.Dirichlet(lambda x: 0.0)])
    col, _ = make_collocation(exact, nnpde.TwoLayerNet(2, (3, 3)), box.grid(3))
    assert len(col.interior.nparts) == 9  # all sub-multisets of (0, 0, 1, 1)


# ---- the model: hand-written against autodiff -------------------------------------------------
def _plate_problem():
    """A 2-D problem reading every kind of field: mixed fourth and third partials, the value
    (nonlinearly), ∇ and Δ, an exact Dirichlet face (a trial factor), and three penalty
    conditions (Neumann, and OperatorBCs with a third and a second derivative)."""

    def eq(x, u):
        return (u.partial(0, 0, 1, 1) + 0.3 * u.partial(1, 1, 1) + u.value**2
                + jnp.sin(x[0]) * u.grad[1] + 0.1 * u.laplacian - 1.0)  # fmt: skip

    return nnpde.Problem(
        nnpde.Box((0.0, 0.0), (1.0, 2.0)),
        eq,
        boundary=[
            nnpde.Dirichlet(lambda x: x[1] ** 2, where="x0_min"),
            nnpde.Neumann(lambda x: x[0], where="x1_max"),
            nnpde.OperatorBC(lambda x, u: u.partial(0, 0, 0) - x[1], where="x0_max"),
            nnpde.OperatorBC(lambda x, u: u.hessian[0, 1] * u.value, where="x1_min", weight=2.0),
        ],
    )


CASES = {
    "beam": lambda: catalogue.get("beam").problem,
    "plate": _plate_problem,
}


def _models(name, backends=("kernels", "autodiff")):
    problem = CASES[name]()
    net = nnpde.TwoLayerNet(problem.dim, (5, 4))
    x = jnp.asarray(problem.domain.sample(11, key=jax.random.key(3)))
    theta = 2.0 * net.init(jax.random.key(1), jnp.float64)
    kw = dict(boundary_points=16, key=jax.random.key(2))
    return (theta, *(make_collocation(problem, net, x, backend=b, **kw) for b in backends))


@pytest.mark.parametrize("name", slow_except(sorted(CASES), fast=["beam"]))
def test_kernels_and_autodiff_models_agree(name):
    theta, (km, kd), (am, ad) = _models(name)
    assert isinstance(km, high_order.HighOrderCollocation)
    assert km.backend == "kernels" and am.backend == "autodiff"

    @jax.jit
    def everything(theta, kd, ad):
        rk, Jk = km.residuals_and_jacobian(theta, kd)
        ra = am.residuals(theta, ad)
        # J by plain autodiff of the autodiff model's r: checks the Leibniz weights too
        Jf = jax.jacfwd(lambda t: am.residuals(t, ad))(theta)
        _, JTJ, JTr = km.gram_with_residuals(theta, kd)
        _, jvp, vjp = km.linearize(theta, kd)
        v = jnp.cos(jnp.arange(theta.shape[0], dtype=theta.dtype))
        u = jnp.sin(jnp.arange(rk.shape[0], dtype=theta.dtype))
        g = jax.grad(lambda t: km.loss(t, kd))(theta)  # through the custom VJP
        return (rk, ra, Jk, Jf, JTJ, JTr, jvp(v), vjp(u), v, u, g,
                km.gram_diagonal(theta, kd))  # fmt: skip

    rk, ra, Jk, Jf, JTJ, JTr, Jv, JTu, v, u, g, diag = everything(theta, kd, ad)
    assert rk.shape == (sum(n for _, n in km.blocks(kd)),)
    assert np.max(np.abs(np.asarray(Jk))) > 1e-3
    assert rel_err(rk, ra) <= F64_RTOL
    assert rel_err(Jk, Jf) <= F64_RTOL
    assert rel_err(JTJ, Jf.T @ Jf) <= F64_RTOL
    assert rel_err(JTr, Jf.T @ rk) <= F64_RTOL
    assert rel_err(Jv, Jf @ v) <= F64_RTOL
    assert rel_err(JTu, Jf.T @ u) <= F64_RTOL
    assert rel_err(g, Jf.T @ rk / rk.shape[0]) <= F64_RTOL
    assert rel_err(diag, jnp.sum(Jf * Jf, axis=0)) <= F64_RTOL


def test_residuals_are_the_equation_at_the_trial_solution():
    """r = equation(x, jet of ψ = A + B N) at the interior points, ψ by plain autodiff."""
    theta, (km, kd) = _models("plate", backends=("kernels",))
    r = jax.jit(km.residuals)(theta, kd)[: kd.x.shape[0]]
    net, trial, eq = km.net, km.trial, km.problem.equation

    def psi(t, y):
        return trial.A(y) + trial.B(y) * net.apply(t, y)

    ref = jax.jit(jax.vmap(lambda y: eq(y, jet_of(lambda z: psi(theta, z), y, 4))))(kd.x)
    assert rel_err(r, ref) <= F64_RTOL


def test_an_mlp_takes_the_autodiff_path():
    """An MLP's residuals and Jacobian (nested jvp) are the equation at its trial solution."""
    problem = catalogue.get("beam").problem
    mlp = nnpde.MLP((1, 5, 4, 1))
    x = jnp.asarray(problem.domain.grid(6))
    col, data = make_collocation(problem, mlp, x, backend="autodiff")
    assert isinstance(col, high_order.HighOrderCollocation) and col.backend == "autodiff"
    theta = mlp.ravel(mlp.init(jax.random.key(0), jnp.float64))

    def interior(t):
        def psi(y):
            return col.trial.A(y) + col.trial.B(y) * mlp.apply(mlp.unravel(t), y)[0]

        return jax.vmap(lambda y: problem.equation(y, jet_of(psi, y, 4)))(x)

    (r, J), ref, Jref = jax.jit(
        lambda t: (col.residuals_and_jacobian(t, data), interior(t), jax.jacfwd(interior)(t))
    )(theta)
    assert rel_err(r[:6], ref) <= F64_RTOL
    assert rel_err(J[:6], Jref) <= F64_RTOL
    with pytest.raises(ValueError, match="TwoLayerNet only"):
        make_collocation(problem, mlp, x, backend="kernels")


@pytest.mark.slow
def test_an_mlp_solves_the_beam():
    problem = catalogue.get("beam").problem
    sol = nnpde.solve(problem, nnpde.MLP((1, 6, 6, 1)), problem.domain.grid(40), steps=40)
    assert sol.info["backend"] == "autodiff"
    assert sol.history["loss"][-1] < 1e-3 * sol.history["loss"][0]


# ---- accuracy of the catalogue's full recipes (the issue's targets) ----------------------------
# The quick recipes are asserted in test_catalogue.py; the beam's (unmarked, ~5-10 s) reaches
# the issue's 1e-8 with u = -1 written directly (documented 1e-9).
TARGETS = {"beam": 1e-8, "biharmonic": 1e-6, "kdv": 2e-7}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_full_recipe_reaches_the_issue_target(name):
    bench = catalogue.get(name)
    sol = bench.solve()
    err = sol.errors()
    assert err["max_abs"] <= min(TARGETS[name], bench.recipe.max_abs), (err, sol.status)
    assert err["rel_l2"] <= bench.recipe.rel_l2, err

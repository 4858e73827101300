"""Systems, inverse problems (unknown coefficients + observations) and periodic conditions."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F64_RTOL, few_points, rel_err
from problems_for_tests import coupled_system

import nnpde
from nnpde.systems import make_system

PI = jnp.pi
UNIT = nnpde.Box((0.0, 0.0), (1.0, 1.0))


def _sinsin(x):
    return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])


def _bubble(x):
    return 4 * x[0] * (1 - x[0]) * x[1] * (1 - x[1])


def _lap(f, x):
    return jnp.trace(jax.hessian(f)(x))


def reaction_diffusion(boundary=None):
    """-Δu + v = f1, -Δv + u v = f2 with u = sin(πx)sin(πy), v = 4x(1-x)y(1-y)."""

    def equation(x, u):
        U, V = u
        return jnp.stack([
            -U.laplacian + V.value - (-_lap(_sinsin, x) + _bubble(x)),
            -V.laplacian + U.value * V.value - (-_lap(_bubble, x) + _sinsin(x) * _bubble(x)),
        ])  # fmt: skip

    boundary = boundary or [nnpde.Dirichlet(lambda x: 0.0, component=0),
                            nnpde.Dirichlet(lambda x: 0.0, component=1)]  # fmt: skip
    return nnpde.Problem(UNIT, equation, boundary=boundary, components=2,
                         exact=lambda x: jnp.stack([_sinsin(x), _bubble(x)]),
                         name="reaction_diffusion")  # fmt: skip


def inverse_kappa(noise: float, kappa: float = 2.0, weight: float = 40.0):
    """-κΔu = f on [0,1]², u = sin(πx)sin(πy), κ unknown, 50 observations of u."""
    x_obs = UNIT.sample(50, key=jax.random.key(5))
    u_obs = np.asarray(jax.vmap(_sinsin)(jnp.asarray(x_obs)))
    u_obs = u_obs * (1 + noise * np.random.default_rng(0).standard_normal(u_obs.shape))
    return nnpde.Problem(
        UNIT, lambda x, u, p: -p["kappa"] * u.laplacian - kappa * 2 * PI**2 * _sinsin(x),
        boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=_sinsin, params={"kappa": 1.0},
        data=(x_obs, u_obs), data_weight=weight, name="inverse_kappa",
    )  # fmt: skip


def advection_periodic():
    """u_t + u_x = 0, x periodic on [0,1], u(x,0) = sin(2πx): u = sin(2π(x - t))."""
    domain = nnpde.Box((0.0, 0.0), (1.0, 0.5), time=True)
    return nnpde.Problem(
        domain, lambda x, u: u.grad[1] + u.grad[0],
        boundary=[nnpde.Initial(lambda x: jnp.sin(2 * PI * x[0])), nnpde.Periodic(0, weight=4.0)],
        exact=lambda x: jnp.sin(2 * PI * (x[0] - x[1])), name="advection_periodic",
    )  # fmt: skip


def mixed_system():
    """Every feature at once, for the Jacobian check: 2 components, a Neumann and a periodic
    condition, a coefficient and observations of both components."""

    def equation(x, u, p):
        U, V = u
        return jnp.stack([-p["a"] * U.laplacian + V.value ** 2 - 1.0,
                          -V.hessian[0, 1] + U.grad[0] * V.value - p["b"] * x[0]])  # fmt: skip

    return nnpde.Problem(
        UNIT, equation, components=2, params={"a": 1.5, "b": -0.5},
        boundary=[nnpde.Dirichlet(lambda x: x[0], component=0),
                  nnpde.Neumann(lambda x: 0.1, where="left", component=1),
                  nnpde.Periodic(1, component=1)],
        data=(np.full((3, 2), 0.3), np.ones((3, 2))),
    )  # fmt: skip


def exact_kappa():
    """inverse_kappa with exact observations."""
    return inverse_kappa(0.0)


@functools.cache
def _models(make):
    """The kernels and autodiff models of ``make()``'s problem with a (4, 3) net on the 4 × 4
    grid, θ (the coefficients 0.3 off) and both models' (r, J), shared by the tests of a
    problem (each model compiled once)."""
    problem = make()
    net = nnpde.TwoLayerNet(2, (4, 3))
    x = jnp.asarray(problem.domain.grid(4))
    ck, data, phi = make_system(problem, net, x, boundary_points=12)
    ca, data_a, _ = make_system(problem, net, x, boundary_points=12, backend="autodiff")
    keys = jax.random.split(jax.random.key(1), problem.components)
    theta = jnp.concatenate([2 * net.init(k) for k in keys] + [phi + 0.3])
    r, J = jax.jit(ck.residuals_and_jacobian)(theta, data)
    ra, Ja = jax.jit(ca.residuals_and_jacobian)(theta, data_a)
    return problem, net, phi, (ck, data), (ca, data_a), theta, (r, J), (ra, Ja)


@pytest.mark.parametrize("make", [pytest.param(mixed_system, marks=pytest.mark.slow),
                                  exact_kappa], ids=["mixed_system", "inverse_kappa"])  # fmt: skip
def test_block_jacobian_is_exact(make):
    problem, net, phi, (col, data), _, theta, (r, J), (r_a, J_a) = _models(make)
    ref = jax.jit(jax.jacrev(col.residuals))(theta, data)  # jitted: eager is far slower
    assert J.shape == (r.shape[0], problem.components * net.num_params + len(phi))
    assert float(jnp.max(jnp.abs(J - ref)) / jnp.max(jnp.abs(ref))) < 1e-12
    np.testing.assert_allclose(np.asarray(r), np.asarray(r_a), atol=1e-12)
    assert float(jnp.max(jnp.abs(J - J_a)) / jnp.max(jnp.abs(J_a))) < 1e-12


@pytest.mark.slow
def test_identifies_kappa_from_exact_observations_to_1e6():
    sol = nnpde.solve(inverse_kappa(0.0), nnpde.TwoLayerNet(2, (8, 8)), UNIT.grid(12),
                      steps=400)  # fmt: skip
    assert abs(sol.params["kappa"] / 2.0 - 1) < 1e-6, (sol.params, sol.result)
    assert sol.errors()["max_abs"] < 1e-4


@functools.cache
def _noisy_kappa():
    """(problem, solution) of κ from noisy observations, shared by the tests that need a
    solved system with a coefficient (compiling the solver dominates their time)."""
    problem = inverse_kappa(0.01)
    return problem, nnpde.solve(problem, nnpde.TwoLayerNet(2, (8, 8)), UNIT.grid(12), steps=300)


@few_points
def test_identifies_kappa_from_noisy_observations_to_1_percent():
    _, sol = _noisy_kappa()
    assert abs(sol.params["kappa"] / 2.0 - 1) < 1e-2, (sol.params, sol.result)
    assert sol.errors()["max_abs"] < 1e-2


@pytest.mark.slow
def test_coupled_reaction_diffusion_pair():
    problem = reaction_diffusion()
    sol = nnpde.solve(problem, nnpde.TwoLayerNet(2, (8, 8)), UNIT.grid(16), steps=400)
    err = sol.errors()
    assert sol(UNIT.grid(3)).shape == (9, 2)
    assert err["max_abs"] < 1e-4, (err, sol.result)


@pytest.mark.slow
def test_periodic_advection():
    problem = advection_periodic()
    sol = nnpde.solve(problem, nnpde.TwoLayerNet(2, (8, 8)), problem.domain.grid(20),
                      steps=400, boundary_points=256)  # fmt: skip
    assert sol.errors()["max_abs"] < 1e-3, (sol.errors(), sol.result)


@few_points
def test_system_solution_saves_and_loads(tmp_path):
    problem, sol = _noisy_kappa()
    sol.save(tmp_path / "s.npz")
    back = nnpde.load(tmp_path / "s.npz", problem=problem)
    assert back.params == sol.params
    np.testing.assert_array_equal(np.asarray(back(UNIT.grid(3))), np.asarray(sol(UNIT.grid(3))))
    with pytest.raises(ValueError, match="coefficients"):
        nnpde.load(tmp_path / "s.npz", problem=dataclasses.replace(problem, params=None))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"components": 0}, "components must be a positive int"),
        ({"params": {"k": "x"}}, r"params\['k'\] must be a number"),
        ({"params": []}, "params must be a non-empty dict"),
        ({"data": (np.zeros((3, 3)), np.zeros(3))}, r"x_obs must have shape \(Q, 2\)"),
        ({"data": (np.zeros((3, 2)), np.zeros(4))}, "u_obs must have shape"),
        ({"data": (np.zeros((3, 2)), np.full(3, np.nan))}, "NaN"),
        ({"boundary": [nnpde.Dirichlet(lambda x: 0.0, component=1)]}, "constrains component 1"),
        ({"boundary": [nnpde.Periodic(2)]}, "Periodic"),
    ],
)
def test_bad_system_input_is_refused(kwargs, match):
    args = {"boundary": [nnpde.Dirichlet(lambda x: 0.0)]}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        nnpde.Problem(UNIT, lambda x, u: u.laplacian, **args)


def test_complex_residuals_of_a_system_are_refused():
    # Issue 19, item 2: complex residuals were cut to their real part.
    problem = nnpde.Problem(nnpde.Box((0.0,), (1.0,)),
                            lambda x, u: jnp.stack([u[0].laplacian + 1j, u[1].value - u[0].value]),
                            boundary=[nnpde.Dirichlet(lambda x: 0.0, component=k)
                                      for k in (0, 1)], components=2)  # fmt: skip
    with pytest.raises(ValueError, match="equation returned complex"):
        nnpde.solve(problem, nnpde.TwoLayerNet(1, (3, 3)), 5, steps=1)


def test_complex_observations_are_refused():
    with pytest.raises(ValueError, match=r"u_obs .*complex"):
        nnpde.Problem(nnpde.Box((0.0,), (1.0,)), lambda x, u, p: u.laplacian - p["k"],
                      params={"k": 1.0},
                      data=(np.full((2, 1), 0.5), np.array([1.0 + 1j, 2.0])))  # fmt: skip


# ---- one model for K >= 1 (issue 18, item 0) ---------------------------------------------------
@pytest.mark.parametrize("make", [pytest.param(coupled_system, marks=pytest.mark.slow),
                                  exact_kappa,
                                  pytest.param(reaction_diffusion, marks=pytest.mark.slow)],
                         ids=["coupled", "inverse_kappa", "reaction_diffusion"])  # fmt: skip
def test_every_model_method_agrees_with_the_autodiff_jacobian(make):
    """Kernels vs autodiff strategies, and the kernels' bounded-memory JᵀJ, J v, Jᵀu, diag(JᵀJ)
    and loss gradient vs the autodiff Jacobian, for systems with coefficients, observations
    and periodic pairs (before, the system model had no gram, linearize or gram_diagonal)."""
    _, _, _, (ck, data), _, theta, (r, J), (ra, Ja) = _models(make)
    assert J.shape == (sum(size for _, size in ck.blocks(data)), theta.shape[0])
    assert rel_err(r, ra) <= F64_RTOL and rel_err(J, Ja) <= F64_RTOL
    _, JTJ, JTr = jax.jit(ck.gram)(theta, data)
    assert bool(jnp.all(JTJ == JTJ.T))
    assert rel_err(JTJ, Ja.T @ Ja) <= F64_RTOL and rel_err(JTr, Ja.T @ ra) <= F64_RTOL
    v = jax.random.normal(jax.random.key(2), theta.shape, theta.dtype)
    u = jax.random.normal(jax.random.key(3), r.shape, r.dtype)

    @jax.jit
    def products(theta, data, v, u):
        _, jvp, vjp = ck.linearize(theta, data)
        return jvp(v), vjp(u)

    Jv, JTu = products(theta, data, v, u)
    assert rel_err(Jv, Ja @ v) <= F64_RTOL and rel_err(JTu, Ja.T @ u) <= F64_RTOL
    diag = jax.jit(ck.gram_diagonal)(theta, data)
    assert rel_err(diag, jnp.sum(Ja * Ja, axis=0)) <= F64_RTOL
    grad = jax.jit(jax.grad(ck.loss))(theta, data)  # the custom VJP (hand-written)
    assert rel_err(grad, Ja.T @ ra / ra.shape[0]) <= F64_RTOL


def test_system_gram_from_several_row_groups_matches_autodiff():
    """JᵀJ of two (16, 16) networks and two coefficients (K·NT + m = 674: Jᵀ split into two
    row groups, only the upper blocks multiplied) against the autodiff Jacobian, over 2 × 1100
    interior rows (three blocks of points, the last one padded)."""
    problem = coupled_system()
    net = nnpde.TwoLayerNet(2, (16, 16))
    x = jnp.asarray(problem.domain.sample(1100, key=jax.random.key(4)))
    ck, data, phi = make_system(problem, net, x, boundary_points=12)
    ca, data_a, _ = make_system(problem, net, x, boundary_points=12, backend="autodiff")
    keys = jax.random.split(jax.random.key(5), problem.components)
    theta = jnp.concatenate([net.init(k) for k in keys] + [phi])
    ra, Ja = jax.jit(ca.residuals_and_jacobian)(theta, data_a)
    _, JTJ, JTr = jax.jit(ck.gram)(theta, data)
    assert bool(jnp.all(JTJ == JTJ.T))
    assert rel_err(JTJ, Ja.T @ Ja) <= F64_RTOL and rel_err(JTr, Ja.T @ ra) <= F64_RTOL


@pytest.mark.slow
@few_points
def test_an_mlp_solves_a_system_through_the_same_model():
    problem = reaction_diffusion()
    net = nnpde.MLP((2, 6, 6, 1))
    sol = nnpde.solve(problem, net, UNIT.grid(6), steps=30)
    assert sol.info["backend"] == "autodiff" and sol(UNIT.grid(2)).shape == (4, 2)
    assert sol.history["loss"][-1] < 1e-2 * sol.history["loss"][0], sol.history["loss"]


# ---- observations: nnpde.Data (issue 18, item 3) -----------------------------------------------
@pytest.mark.slow
def test_each_observation_block_is_named_in_the_history():
    sol = nnpde.solve(coupled_system(), nnpde.TwoLayerNet(2, (4, 4)), UNIT.grid(5), steps=3,
                      boundary_points=8)  # fmt: skip
    assert sol.info["blocks"] == [
        "interior[0]", "interior[1]", "u0: data[1]", "u1: Neumann(left,top)", "u1: data[0]",
        "u1: Periodic(x0)", "u1: Periodic(x0, derivative)"]  # fmt: skip
    h = sol.history
    np.testing.assert_allclose(h["blocks"].sum(axis=1), h["loss"], rtol=1e-12, atol=0)
    assert np.all(h["blocks"][:, 2] > 0) and np.all(h["blocks"][:, 4] > 0)


@pytest.mark.slow
def test_data_blocks_equal_the_pair_form():
    x_obs = UNIT.sample(7, key=jax.random.key(5))
    u_obs = np.stack([np.linspace(0, 1, 7), np.linspace(1, 2, 7)], axis=1)
    old = dataclasses.replace(reaction_diffusion(), data=(x_obs, u_obs), data_weight=3.0)
    new = dataclasses.replace(reaction_diffusion(), data=[
        nnpde.Data(x_obs, u_obs[:, 0], component=0, weight=3.0),
        nnpde.Data(x_obs, u_obs[:, 1], component=1)], data_weight=3.0)  # fmt: skip
    net = nnpde.TwoLayerNet(2, (3, 3))
    theta = jnp.concatenate([net.init(jax.random.key(i)) for i in (0, 1)])
    r = [jax.jit(make_system(p, net, UNIT.grid(3))[0].residuals)(
        theta, make_system(p, net, UNIT.grid(3))[1]) for p in (old, new)]  # fmt: skip
    np.testing.assert_array_equal(np.asarray(r[0]), np.asarray(r[1]))
    assert [d.weight for d in old.observations] == [3.0, 3.0]


@pytest.mark.slow
@few_points
def test_observing_one_component_identifies_the_other_species():
    """-Δu + v = f1, -Δv + uv = f2 with v left free on the boundary: 40 observations of v
    alone (component 1) determine it."""
    x_obs = UNIT.sample(40, key=jax.random.key(9))
    v_obs = np.asarray(jax.vmap(_bubble)(jnp.asarray(x_obs)))
    problem = reaction_diffusion(boundary=[nnpde.Dirichlet(lambda x: 0.0, component=0)])
    problem = dataclasses.replace(problem, data=nnpde.Data(x_obs, v_obs, component=1,
                                                           weight=10.0))  # fmt: skip
    sol = nnpde.solve(problem, nnpde.TwoLayerNet(2, (8, 8)), UNIT.grid(12), steps=300)
    err = sol.errors()
    assert err["per_component"][1]["max_abs"] < 1e-3, (err, sol.result)
    assert err["max_abs"] < 1e-3, (err, sol.result)


def test_the_pair_form_message_says_what_shape_it_wants():
    # issue 18: "u_obs must have shape (1,) or (1, 2) ... got (1,)" contradicted itself
    with pytest.raises(ValueError) as info:
        nnpde.Problem(UNIT, lambda x, u: jnp.stack([u[0].laplacian, u[1].laplacian]),
                      components=2, data=(np.full((1, 2), 0.5), np.zeros(1)))  # fmt: skip
    msg = str(info.value)
    assert "must have shape (1, 2)" in msg and "(1,) or" not in msg and "got (1,)" in msg
    assert "nnpde.Data(x, values, component=k)" in msg

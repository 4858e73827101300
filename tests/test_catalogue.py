"""The problem catalogue (nnpde.problems): exact solutions, registry, and documented accuracy.

Every exact solution is checked against its equation and its boundary/initial conditions with
autodiff, and every entry's ``quick`` recipe is solved and must reach its documented accuracy
on the default test set (not the training points).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import condition_errors, condition_points, few_points, slow_except

import nnpde
import nnpde.problems as catalogue
from nnpde.collocation import make_collocation
from nnpde.problem import jet_of
from nnpde.problems import Benchmark, Points, Recipe

NAMES = sorted(catalogue.catalogue())
HIGHER_ORDER = {"beam", "biharmonic", "kdv"}  # read u.partial of order 3-4

# |residual| of the exact solution in its own equation and conditions, in float64. Observed
# values are ~1e-16 to 6e-14 (lagaris_pde2, whose source term is O(300)); a wrong sign or
# coefficient shows up at O(1e-2) or worse.
EXACT_ATOL = 1e-10

LAGARIS = {
    "lagaris_ode1": 1,
    "lagaris_ode2": 2,
    "lagaris_ode3_ivp": 3,
    "lagaris_ode3_bvp": 3,
    "lagaris_ode4": 4,
    "lagaris_pde1": 5,
    "lagaris_pde2": 6,
    "lagaris_pde3": 7,
    "lagaris_pde4": 8,
}


# ---- registry -------------------------------------------------------------------------------
def test_catalogue_holds_the_issue_problems():
    expected = set(LAGARIS) | {
        "poisson_2d",
        "poisson_5d",
        "poisson_10d",
        "helmholtz",
        "heat",
        "burgers",
        "allen_cahn",
        "poisson_disk",
        "poisson_holes",
        "poisson_lshape",
        "beam",
        "biharmonic",
        "kdv",
        "kovasznay_pinned",
    }
    assert set(NAMES) == expected
    # catalogue() returns a copy: changing it does not change the registry
    cat = catalogue.catalogue()
    cat.pop("heat")
    assert "heat" in catalogue.catalogue()


@pytest.mark.parametrize("name", NAMES)
def test_get_builds_the_entry_named(name):
    bench = catalogue.get(name)
    assert isinstance(bench, Benchmark)
    assert bench.name == name == bench.problem.name
    assert getattr(catalogue, name)().name == name  # also a module-level function
    assert bench.problem.exact is not None
    assert bench.summary
    for recipe in (bench.recipe, bench.quick):
        assert isinstance(recipe, Recipe)
        assert recipe.max_abs > 0 and recipe.rel_l2 > 0
    assert bench.quick.steps <= bench.recipe.steps
    assert bench.net().dim == bench.dim
    assert bench.points().shape[1] == bench.dim


def test_get_unknown_name_lists_the_entries():
    with pytest.raises(KeyError, match=r"no catalogue entry 'nope'.*lagaris_pde1"):
        catalogue.get("nope")


def test_register_rejects_a_duplicate_name():
    def heat():  # same name as an entry
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="already registered"):
        catalogue.register(heat)


@pytest.mark.parametrize("name", sorted(LAGARIS))
def test_lagaris_entries_cite_the_paper(name):
    ref = catalogue.get(name).reference
    assert ref is not None
    assert "Lagaris" in ref.citation and "9(5):987-1000 (1998)" in ref.citation
    assert ref.citation.endswith(f"Problem {LAGARIS[name]}")


def test_points_spec():
    box = nnpde.Box((0.0, 0.0), (1.0, 2.0))
    assert Points("grid", 3).make(box).shape == (9, 2)
    sobol = Points("sobol", 17).make(box)
    assert sobol.shape == (17, 2) and np.all(box.contains(sobol))
    np.testing.assert_array_equal(sobol, Points("sobol", 17).make(box))  # deterministic
    with pytest.raises(ValueError, match="kind must be one of"):
        Points("random", 3)
    with pytest.raises(ValueError, match="positive int"):
        Points("grid", 0)


# Building a recipe's points and penalties takes up to 10 s (kovasznay_pinned); these take < 1 s.
FAST_TO_BUILD = {"lagaris_ode1", "lagaris_ode3_ivp", "poisson_5d", "poisson_disk", "beam"}


@pytest.mark.parametrize("name", slow_except(NAMES, FAST_TO_BUILD))
def test_recipes_have_more_residuals_than_parameters(name):
    """Generalisation: every recipe has more collocation residuals than network parameters."""
    bench = catalogue.get(name)
    for quick in (False, True):
        recipe = bench.quick if quick else bench.recipe
        residuals = bench.points(quick).shape[0] + _penalty_points(bench.problem, recipe)
        assert residuals > bench.net(quick).num_params, (quick, residuals)


def _penalty_points(problem, recipe) -> int:
    """Residuals of the conditions imposed by penalty (not by the trial solution) and of the
    observations: each penalty condition has about ``boundary_points`` on its own faces."""
    x = np.asarray(problem.domain.sample(4))
    col, _ = make_collocation(problem, nnpde.TwoLayerNet(problem.dim, (2, 2)), x,
                              boundary_points=recipe.boundary_points)  # fmt: skip
    return sum(size for _, size in col.penalty_blocks)


# ---- exact solutions ------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_exact_solution_satisfies_the_equation(name):
    problem = catalogue.get(name).problem
    x = jnp.asarray(problem.domain.sample(256, key=jax.random.key(5)))
    r = jax.jit(jax.vmap(lambda p: problem.equation(p, _exact_jets(problem, p))))(x)
    # one residual per point, or (P, K) for a system of K equations in K unknowns
    k = problem.components
    assert r.shape == ((x.shape[0],) if k == 1 else (x.shape[0], k))
    assert float(jnp.max(jnp.abs(r))) <= EXACT_ATOL


def _exact_component(problem, k):
    """The exact solution's component k as a scalar function (the whole of it when K = 1)."""
    if problem.components == 1:
        return problem.exact
    return lambda p: problem.exact(p)[k]


def _order(problem) -> int:
    """4 for the problems that read partials of order 3-4 (``u.partial``), else 2."""
    return 4 if problem.name in HIGHER_ORDER else 2


def _exact_jets(problem, p):
    """The exact solution's Jet at p, or a tuple of K Jets for a system (what ``equation``
    receives)."""
    order = _order(problem)
    jets = tuple(jet_of(_exact_component(problem, k), p, order)
                 for k in range(problem.components))  # fmt: skip
    return jets[0] if problem.components == 1 else jets


@pytest.mark.parametrize("name", NAMES)
def test_exact_solution_satisfies_the_conditions(name):
    problem = catalogue.get(name).problem
    domain = problem.domain
    sample = domain.sample_boundary(200, key=jax.random.key(6))
    for bc in problem.boundary:
        exact = _exact_component(problem, bc.component)
        err = condition_errors(bc, exact, *condition_points(domain, bc, sample))
        assert err.size > 0
        assert float(jnp.max(jnp.abs(err))) <= EXACT_ATOL, (bc, float(jnp.max(jnp.abs(err))))
    for obs in problem.observations:  # observations are of the exact solution
        exact = _exact_component(problem, obs.component)
        err = jax.jit(jax.vmap(exact))(jnp.asarray(obs.x)) - jnp.asarray(obs.values)
        assert float(jnp.max(jnp.abs(err))) <= EXACT_ATOL, (obs, err)


# ---- solving --------------------------------------------------------------------------------
# The quick recipes take 2-30 s each on the 2-core CPU (compiling the solver dominates); the
# default suite solves one of each kind (an ODE initial value problem, a fourth-order
# equation, a curved domain), `pytest -m slow` all of them. (lagaris_ode1, the other ODE
# initial value problem, is solved to its documented accuracy in the default suite by
# test_collocation.py's test_problems_solve_to_documented_accuracy.)
FAST_QUICK = {"lagaris_ode3_ivp", "beam", "poisson_disk"}


@pytest.mark.parametrize("name", slow_except(NAMES, FAST_QUICK))
# poisson_disk's quick recipe (few steps) ends with a validation ratio of 11 at 1e-4 of its
# reference residual, just over the under-resolved rule: it warns, and still meets its accuracy
@few_points
def test_quick_recipe_reaches_its_documented_accuracy(name):
    bench = catalogue.get(name)
    sol = bench.solve(quick=True)
    err = sol.errors()  # default test set: a fine grid with the boundary, or 10^4 Sobol' points
    # ψ(x) is (P,) for one component and (P, K) for a system of K
    x = bench.problem.domain.grid(5)
    k = bench.problem.components
    assert sol(x).shape == ((x.shape[0],) if k == 1 else (x.shape[0], k))
    assert err["points"] >= 1000
    assert err["max_abs"] <= bench.quick.max_abs, (err, sol.result)
    assert err["rel_l2"] <= bench.quick.rel_l2, (err, sol.result)
    assert len(sol.history["loss"]) <= bench.quick.steps


def test_solve_overrides_the_recipe():
    bench = catalogue.lagaris_ode2()
    net = nnpde.TwoLayerNet(1, (3, 3))
    points = np.linspace(0.1, 1.9, 7)[:, None]
    sol = bench.solve(quick=True, steps=3, net=net, points=points, method="adam")
    assert sol.net == net and sol.info["points"] == 7
    assert len(sol.history["loss"]) == 3
    assert sol.info["method"] == "optax"  # method="adam" is Optax(optax.adam(1e-3))


# ---- issue 19, item 12: Box.grid with per-axis counts and chosen faces ------------------------
def test_grid_takes_per_axis_counts():
    box = nnpde.Box((0.0, 0.0), (1.0, 2.0))
    g = box.grid((3, 2))
    assert g.shape == (6, 2)
    np.testing.assert_allclose(np.unique(g[:, 0]), [0.25, 0.5, 0.75])
    np.testing.assert_allclose(np.unique(g[:, 1]), [2 / 3, 4 / 3])
    np.testing.assert_array_equal(box.grid(3), box.grid((3, 3)))


def test_grid_reaches_the_faces_it_is_asked_to():
    box = nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True)
    g = box.grid((3, 4), closed=("t_max",))
    assert g.shape == (12, 2)
    np.testing.assert_allclose(np.unique(g[:, 1]), [0.25, 0.5, 0.75, 1.0])  # reaches t_max
    np.testing.assert_allclose(np.unique(g[:, 0]), [0.25, 0.5, 0.75])
    both = box.grid(3, closed=("x0_min", "right"))  # aliases are accepted
    np.testing.assert_allclose(np.unique(both[:, 0]), [0.0, 0.5, 1.0])
    line = nnpde.Interval(0.0, 1.0).grid(2, closed=("right",))
    np.testing.assert_allclose(line[:, 0], [0.5, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"n": (3,)}, ValueError, r"n must be a positive int or 2 of them"),
     ({"n": (3, 0)}, ValueError, r"n must be a positive int or 2 of them"),
     ({"n": (3, 2.5)}, ValueError, r"n must be"),
     ({"n": 3, "closed": "t_max"}, TypeError, r"closed must be a tuple of face names"),
     ({"n": 3, "closed": ("x7_max",)}, ValueError, r"no face 'x7_max'")],
)  # fmt: skip
def test_grid_names_its_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        nnpde.Box((0.0, 0.0), (1.0, 1.0)).grid(**kwargs)


def test_catalogue_points_use_the_public_grid():
    from nnpde.problems.catalogue import Points

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True)
    np.testing.assert_array_equal(Points("grid", 5, closed=("t_max",)).make(box),
                                  box.grid(5, closed=("t_max",)))  # fmt: skip


# ---- issue 18: Kovasznay flow with the pressure pinned by one observation ----------------------
def test_kovasznay_pins_the_pressure_with_one_observation():
    problem = catalogue.get("kovasznay_pinned").problem
    (pin,) = problem.observations
    assert pin.component == 2 and pin.x.shape == (1, 2) and problem.components == 3
    assert not any(bc.component == 2 for bc in problem.boundary)  # no condition on p
    col, _ = make_collocation(problem, nnpde.TwoLayerNet(2, (2, 2)), np.full((2, 2), 0.1))
    assert col.n_eq == 3 and col.penalty_blocks == (("u2: data[0]", 1),)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_kovasznay_recipe_reaches_1e_minus_5_max_abs_in_u_v_and_p(seed):
    """The issue's target, each component's max-abs error on the 101 × 101 test grid (with
    the boundary) ≤ 1e-5, on two seeds (seed 1 reached 1.3e-5 with the former 24 × 24 grid;
    with 32 × 32, seeds 0-4 measured 1.2e-6 at most; about 100 s each on the idle CPU)."""
    bench = catalogue.get("kovasznay_pinned")
    sol = bench.solve(key=jax.random.key(seed))
    assert sol.result == nnpde.RESULTS.converged, sol.result
    err = sol.errors()
    for k, name in enumerate("uvp"):
        assert err["per_component"][k]["max_abs"] <= bench.recipe.max_abs, (name, err)
    assert err["rel_l2"] <= bench.recipe.rel_l2, err

"""Collocation: backends agree, solvers reach documented accuracy, bad input fails early."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import few_points, rel_err, slow_except
from problems_for_tests import (
    disk_poisson,
    heat,
    lagaris_ode1,
    lagaris_pde1,
    mixed_nonlinear,
    nonlinear_poisson,
)

import nnpde
from nnpde.collocation import make_collocation

BACKEND_RTOL = 1e-10  # kernels vs autodiff: the same math, different round-off


@pytest.mark.parametrize(
    "make", slow_except([lagaris_pde1, nonlinear_poisson, mixed_nonlinear, heat, disk_poisson,
                         lagaris_ode1], fast=[mixed_nonlinear, lagaris_ode1])  # every jet field
)
def test_backends_agree_on_loss_gradient_and_jacobian(make):
    problem = make()
    net = nnpde.TwoLayerNet(problem.dim, (6, 5), "tanh")
    theta = 2 * net.init(jax.random.key(3))
    x = jnp.asarray(problem.domain.sample(17, key=jax.random.key(1)))
    ck, data = make_collocation(problem, net, x, boundary_points=24, backend="kernels")
    ca, _ = make_collocation(problem, net, x, boundary_points=24, backend="autodiff")

    @jax.jit  # one program for both backends
    def everything(theta, data):
        return tuple((*col.residuals_and_jacobian(theta, data),
                      jax.grad(col.loss)(theta, data),  # kernels: the custom VJP (hand-written)
                      col.loss(theta, data)) for col in (ck, ca))  # fmt: skip

    (rk, Jk, gk, lk), (ra, Ja, ga, la) = everything(theta, data)
    assert rk.shape == (x.shape[0] + data.pen[0].x.shape[0],)
    assert Jk.shape == (rk.shape[0], net.num_params)
    assert rel_err(rk, ra) <= BACKEND_RTOL
    assert rel_err(Jk, Ja) <= BACKEND_RTOL
    assert rel_err(gk, ga) <= BACKEND_RTOL
    assert rel_err(gk, Jk.T @ rk / rk.shape[0]) <= BACKEND_RTOL
    assert rel_err(lk, la) <= BACKEND_RTOL


def test_equation_fields_not_used_are_dropped():
    net = nnpde.TwoLayerNet(2, (4, 4))
    col, _ = make_collocation(lagaris_pde1(), net, jnp.ones((3, 2)) * 0.5)
    assert col.used == frozenset({"laplacian"})
    col, _ = make_collocation(heat(), net, jnp.ones((3, 2)) * 0.5)
    assert col.used == frozenset({"grad", "hessian"})


def test_trial_solution_meets_dirichlet_and_initial_data_exactly():
    for problem in (lagaris_pde1(), heat()):
        net = nnpde.TwoLayerNet(2, (4, 4))
        sol = nnpde.Solution(net.init(jax.random.key(0)), net, problem,
                             nnpde.trial.build_trial(problem)[0])  # fmt: skip
        faces = problem.domain.sample_boundary(40, key=jax.random.key(2))
        keep = np.isin(faces.face, sol.trial.exact_faces)
        pts = jnp.asarray(faces.x[keep])
        exact = jax.jit(jax.vmap(problem.exact))(pts)  # one program (op by op: dozens)
        assert float(jnp.max(jnp.abs(sol(pts) - exact))) <= 1e-14


@pytest.mark.slow
def test_lagaris_pde1_lm_reaches_1e_minus_7():
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (10, 10), "tanh")
    sol = nnpde.solve(problem, net, problem.domain.grid(10))  # the defaults
    err = sol.errors()  # on the 101 x 101 test grid, not at the training points
    assert err["points"] == 101 * 101
    assert err["max_abs"] <= 1e-7, (err, sol.result)
    assert sol.history["loss"].shape[0] == sol.info["steps"] < sol.info["steps_limit"]
    assert sol.result == nnpde.RESULTS.converged, sol.status


@pytest.mark.parametrize(
    ("make", "hidden", "points", "steps", "max_abs"),
    [
        pytest.param(heat, (16, 16), 16, 500, 5e-6, marks=pytest.mark.slow),
        pytest.param(nonlinear_poisson, (10, 10), 10, 300, 1e-4, marks=pytest.mark.slow),
        (lagaris_ode1, (8, 8), 20, 300, 2e-5),
        pytest.param(disk_poisson, (10, 10), 200, 300, 2e-5, marks=pytest.mark.slow),
    ],
)
@few_points
def test_problems_solve_to_documented_accuracy(make, hidden, points, steps, max_abs):
    problem = make()
    net = nnpde.TwoLayerNet(problem.dim, hidden, "tanh")
    pts = problem.domain.grid(points) if problem.dim == 2 and make is not disk_poisson else None
    if make is lagaris_ode1:
        pts = problem.domain.grid(points)
    sol = nnpde.solve(problem, net, pts if pts is not None else points, steps=steps)
    err = sol.errors()
    assert err["max_abs"] <= max_abs, (err, sol.result)


# Optax's path reduces the loss here with optax.sgd (a bare optax transformation) in the default
# suite; Optax(adam) runs in test_divergent_run_stops_with_status_and_finite_theta and in
# test_fit.py's test_classifies_gaussian_blobs[adam]; `pytest -m slow` runs it here too.
@pytest.mark.parametrize("solver", [pytest.param(nnpde.Optax(optax.adam(1e-2)),
                                                 marks=pytest.mark.slow),
                                    "lbfgs", optax.sgd(1e-3)],
                         ids=["adam", "lbfgs", "sgd"])  # fmt: skip
def test_first_order_methods_reduce_the_loss(solver):
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (6, 6))
    sol = nnpde.solve(problem, net, problem.domain.grid(6), solver=solver, steps=60)
    losses = sol.history["loss"]
    assert losses.shape[0] == 60
    assert losses[-1] < losses[0]
    assert sol.result == nnpde.RESULTS.max_steps, sol.result


def test_divergent_run_stops_with_status_and_finite_theta():
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (6, 6))
    sol = nnpde.solve(problem, net, problem.domain.grid(6), steps=200,
                      solver=nnpde.Optax(optax.adam(1e6)))  # fmt: skip
    assert sol.result == nnpde.RESULTS.diverged, sol.result
    assert bool(jnp.all(jnp.isfinite(sol.theta)))
    assert len(sol.history["loss"]) < 200


@pytest.mark.slow
def test_save_load_round_trip_and_determinism(tmp_path):
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (6, 5))
    pts = problem.domain.grid(6)
    a = nnpde.solve(problem, net, pts, steps=20, key=jax.random.key(7))
    b = nnpde.solve(problem, net, pts, steps=20, key=jax.random.key(7))
    np.testing.assert_array_equal(np.asarray(a.theta), np.asarray(b.theta))
    path = tmp_path / "sol.npz"
    a.save(path)
    c = nnpde.load(path, problem=problem)
    np.testing.assert_array_equal(np.asarray(c.theta), np.asarray(a.theta))
    x = problem.domain.test_grid(7)
    np.testing.assert_array_equal(np.asarray(c(x)), np.asarray(a(x)))
    np.testing.assert_array_equal(c.history["loss"], a.history["loss"])
    assert c.result == a.result and c.status == a.status and c.net == a.net
    with pytest.raises(ValueError, match="loaded without its problem"):
        nnpde.load(path)(x)


def test_load_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"bad\.npz.*unreadable, truncated or corrupted"):
        nnpde.load(bad)
    net = nnpde.TwoLayerNet(2, (4, 4))
    good = tmp_path / "good.npz"  # any solution file (no solve: compiling one took most)
    nnpde.Solution(theta=net.init(jax.random.key(0)), net=net, status="good").save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"truncated\.npz"):
        nnpde.load(truncated)
    other = tmp_path / "other.npz"
    np.savez(other, theta=np.zeros(3))
    with pytest.raises(ValueError, match="not an nnpde solution"):
        nnpde.load(other)


# ---- bad input: each a clear error before any training ------------------------------------
def _lagaris_with(equation):
    p = lagaris_pde1()
    return nnpde.Problem(p.domain, equation, boundary=p.boundary, exact=p.exact)


@pytest.mark.parametrize(
    ("make_args", "error", "match"),
    [
        (lambda: (_lagaris_with(lambda x, u: jnp.stack([u.value, u.value])),
                  nnpde.TwoLayerNet(2, (4, 4)), 9), ValueError, "scalar residual"),
        (lambda: (_lagaris_with(lambda x, u: u.laplacian * jnp.nan),
                  nnpde.TwoLayerNet(2, (4, 4)), 9), ValueError, "non-finite residual"),
        (lambda: (lagaris_pde1(), nnpde.TwoLayerNet(3, (4, 4)), 9), ValueError, "dim=3"),
        (lambda: (lagaris_pde1(), nnpde.TwoLayerNet(2, (4, 4), "relu"), 9), ValueError,
         "order 3"),
        (lambda: (lagaris_pde1(), nnpde.TwoLayerNet(2, (4, 4)), np.full((5, 2), 1.5)),
         ValueError, "outside the domain"),
        (lambda: (lagaris_pde1(), nnpde.TwoLayerNet(2, (4, 4)), np.ones((5, 3))), ValueError,
         r"shape \(P, 2\)"),
    ],
)  # fmt: skip
def test_solve_rejects_bad_input_before_training(make_args, error, match):
    problem, net, points = make_args()
    with pytest.raises(error, match=match):
        nnpde.solve(problem, net, points, steps=1)


def test_a_systems_second_equation_non_finite_at_the_first_point_is_named():
    """The set-up check looks at every equation's residual at the first point (the interior
    rows are equation-major: equation e of point 0 is row e·P)."""
    def equation(x, u):
        U, V = u
        return jnp.stack([U.laplacian, V.value * jnp.where(x[0] == first[0], jnp.nan, 1.0)])

    first = np.array([0.25, 0.5])
    points = np.array([first, [0.5, 0.5], [0.75, 0.25], [0.4, 0.6]])
    problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), equation, components=2,
                            boundary=[nnpde.Dirichlet(lambda x: 0.0, component=0),
                                      nnpde.Dirichlet(lambda x: 0.0, component=1)])  # fmt: skip
    with pytest.raises(ValueError, match="non-finite residual at the first collocation point"):
        nnpde.solve(problem, nnpde.TwoLayerNet(2, (4, 4)), points, steps=1)


def test_unknown_face_is_rejected_when_the_problem_is_built():
    with pytest.raises(ValueError, match="no face 'x2_min'"):
        nnpde.Problem(nnpde.Box((0, 0), (1, 1)), lambda x, u: u.laplacian,
                      boundary=[nnpde.Dirichlet(lambda x: 0.0, where="x2_min")])  # fmt: skip


def test_unknown_method_and_backend():
    problem, net = lagaris_pde1(), nnpde.TwoLayerNet(2, (4, 4))
    with pytest.raises(ValueError, match="method must be one of"):  # "solver/method must..."
        nnpde.solve(problem, net, 4, method="newton")
    with pytest.raises(ValueError, match="backend must be one of"):
        nnpde.solve(problem, net, 4, backend="magic")


@pytest.mark.slow
def test_callback_is_called_per_dispatch_and_atol_stops():
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (6, 6))
    calls = []
    sol = nnpde.solve(problem, net, problem.domain.grid(6), steps=40, steps_per_call=10,
                      callback=lambda step, loss, theta: calls.append((step, loss)))  # fmt: skip
    assert [c[0] for c in calls] == [10, 20, 30, 40]
    losses = [c[1] for c in calls]
    assert losses == sorted(losses, reverse=True)  # LM never accepts an increase
    target = float(sol.history["loss"][5])
    early = nnpde.solve(problem, net, problem.domain.grid(6), steps=40,
                        solver=nnpde.LM(atol=target))  # fmt: skip
    assert early.result == nnpde.RESULTS.converged, early.result
    assert len(early.history["loss"]) <= 6


# ---- issue 19: complex outputs refused, errors that name the culprit ---------------------------
BOX = nnpde.Box((0.0, 0.0), (1.0, 1.0))
SMALL = nnpde.TwoLayerNet(2, (3, 3))


def _solve(equation=lambda x, u: u.laplacian - 1.0, boundary=(), **problem_kw):
    problem = nnpde.Problem(BOX, equation, boundary=list(boundary), **problem_kw)
    return nnpde.solve(problem, SMALL, BOX.grid(3), steps=1)


@pytest.mark.parametrize("equation", [lambda x, u: 1j * (u.laplacian - 1.0),
                                      lambda x, u: u.laplacian - 1.0 + 5j])  # fmt: skip
def test_complex_residuals_are_refused(equation):
    # Issue 19, item 2: the imaginary part was dropped, so 1j*r "converged" at loss 0.
    with pytest.raises(ValueError, match=r"equation returned complex"):
        _solve(equation)


@pytest.mark.parametrize(
    ("condition", "name"),
    [(lambda: nnpde.Dirichlet(lambda x: 1j * x[0]), "Dirichlet"),
     (lambda: nnpde.Dirichlet(lambda x: 1j * x[0], where=lambda x: x[0] < 0.5), "Dirichlet"),
     (lambda: nnpde.Neumann(lambda x: 0.5j), "Neumann"),
     (lambda: nnpde.Robin(1.0, 1.0, lambda x: 0.5j), "Robin"),
     (lambda: nnpde.Initial(lambda x: 0.5j), "Initial")],
)  # fmt: skip
def test_complex_boundary_values_are_refused(condition, name):
    domain = nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True) if name == "Initial" else BOX
    problem = nnpde.Problem(domain, lambda x, u: u.laplacian - 1.0, boundary=[condition()])
    with pytest.raises(ValueError, match=rf"{name}.* returned complex"):
        nnpde.solve(problem, SMALL, domain.grid(3), steps=1)


@pytest.mark.parametrize(
    ("condition", "name"),
    [(lambda: nnpde.Dirichlet(lambda x: jnp.nan * x[0]), "Dirichlet"),
     (lambda: nnpde.Dirichlet(lambda x: jnp.log(x[0] - 0.5), where=lambda x: x[1] < 0.5),
      "Dirichlet"),
     (lambda: nnpde.Neumann(lambda x: jnp.nan), "Neumann"),
     (lambda: nnpde.Robin(1.0, 1.0, lambda x: jnp.inf), "Robin")],
)  # fmt: skip
def test_non_finite_boundary_values_name_the_condition(condition, name):
    # Issue 19, item 9: a NaN Dirichlet value was blamed on "the equation", a NaN flux got a
    # generic "initial loss is not finite".
    with pytest.raises(ValueError, match=rf"{name}\b.* (NaN|Inf|non-finite)") as info:
        _solve(boundary=[condition()])
    assert "equation" not in str(info.value)


def test_equation_returning_none_is_named():
    with pytest.raises(TypeError, match=r"equation returned None"):
        _solve(lambda x, u: None)


@pytest.mark.parametrize("equation", [
    lambda x, u: np.sin(u.value) - 1.0,
    lambda x, u: float(u.laplacian) - 1.0,
    lambda x, u: u.value if u.value > 0 else -u.value,
])  # fmt: skip
def test_equation_with_numpy_or_python_numbers_is_explained(equation):
    with pytest.raises(TypeError, match=r"equation .*jax\.numpy"):
        _solve(equation)


def test_trial_b_returning_a_vector_is_named():
    with pytest.raises(ValueError, match=r"Problem\.trial: B must return a real scalar"):
        _solve(trial=(lambda x: 0.0, lambda x: x * (1 - x)))


def test_dirichlet_value_returning_a_string_is_named():
    with pytest.raises(TypeError, match=r"Dirichlet.*value must return a real scalar"):
        _solve(boundary=[nnpde.Dirichlet(lambda x: "zero")])


@pytest.mark.parametrize("kind", ["params", "list-of-str", "2d"])
def test_check_theta0_names_the_problem(kind):
    from nnpde._checks_solve import check_theta0

    nt = SMALL.num_params
    theta0 = {"params": SMALL.unpack(SMALL.init(jax.random.key(0))), "list-of-str": ["a"] * nt,
              "2d": np.zeros((1, nt))}[kind]  # fmt: skip
    with pytest.raises((TypeError, ValueError), match=r"^theta0 (must|has|is)"):
        check_theta0(theta0, nt)


def test_check_theta0_passes_a_good_one():
    from nnpde._checks_solve import check_theta0

    theta = SMALL.init(jax.random.key(0))
    out = check_theta0(np.asarray(theta), SMALL.num_params)
    assert out.dtype == theta.dtype and out.shape == theta.shape
    np.testing.assert_array_equal(np.asarray(out), np.asarray(theta))


# ---- issue 18, item 4: where= a list of faces, boundary points per condition ------------------
def test_a_condition_gets_its_boundary_points_on_its_own_faces():
    # Before, boundary_points was a total over all faces: a Robin face of the square got 16.
    g = lambda x: x[0] * x[1]  # noqa: E731
    problem = nnpde.Problem(BOX, lambda x, u: u.laplacian - 1.0, boundary=[
        nnpde.Dirichlet(g, where="left"), nnpde.Robin(1.0, 0.5, g, where="right"),
        nnpde.Neumann(g, where=["top", "x1_min"]), nnpde.Neumann(g, where="top", points=10)])
    col, data = make_collocation(problem, SMALL, jnp.asarray(BOX.grid(3)), boundary_points=64)
    assert col.penalty_blocks == (("Robin(right)", 64), ("Neumann(top,x1_min)", 64),
                                  ("Neumann(top)", 10))  # fmt: skip
    x, n = np.asarray(data.pen[0].x), np.asarray(data.pen[0].n)
    np.testing.assert_array_equal(x[:64, 0], 1.0)
    np.testing.assert_array_equal(n[:64], np.tile([1.0, 0.0], (64, 1)))
    top, bottom = x[64:128, 1] == 1.0, x[64:128, 1] == 0.0
    assert top.sum() == bottom.sum() == 32 and np.all(top | bottom)
    np.testing.assert_array_equal(n[64:128][top], np.tile([0.0, 1.0], (32, 1)))
    np.testing.assert_array_equal(n[64:128][bottom], np.tile([0.0, -1.0], (32, 1)))
    np.testing.assert_array_equal(x[128:, 1], 1.0)


@pytest.mark.parametrize("domain, where, interior, expected", [
    (nnpde.Box((0.0, 0.0), (1.0, 1.0)), None, 100, 64),  # P/4 <= 64: the floor
    (nnpde.Interval(0.0, 1.0), None, 5000, 64),  # 1-D: two end points
    (nnpde.Box((0.0, 0.0), (1.0, 1.0)), None, 1024, 128),  # 4 · 1024^(1/2)
    (nnpde.Box((0.0, 0.0), (1.0, 1.0)), "top", 4096, 64),  # one face: 1 · 64
    (nnpde.Box((0.0, 0.0), (2.0, 2.0)), None, 4096, 256),  # any size: 8 · (4096/4)^(1/2)
    (nnpde.Box((0.0,) * 3, (1.0,) * 3), None, 1000, 250),  # 600 at the spacing, P/4
    (nnpde.Box((0.0,) * 5, (1.0,) * 5), None, 2048, 512),  # 4450 at the spacing, P/4
    (nnpde.Disk((0.0, 0.0), 1.0), None, 4096, 228),  # 2π · (4096/π)^(1/2) ≈ 226.9
    (nnpde.Box((0.0, 0.0), (2 * np.pi, 1.0), time=True), "x0_min", 1024, 64),
    # where=None in (x, t): the two x faces only (2 · 2 · (1024/2)^(1/2) = 90.5; counted
    # with the t faces too, 2 · (1 + 2) · 22.6 = 136)
    (nnpde.Box((0.0, 0.0), (1.0, 2.0), time=True), None, 1024, 91),
    (nnpde.Box((0.0, 0.0), (1.0, 0.25), time=True), None, 16384, 128)])  # fmt: skip
def test_the_automatic_boundary_count_matches_the_interior_spacing(domain, where, interior,
                                                                   expected):
    from nnpde.penalties import boundary_count, condition_count

    n = boundary_count(None, interior)
    assert abs(condition_count(n, domain, where) - expected) <= 2
    assert condition_count(boundary_count(7, interior), domain, where) == 7  # the caller's


def test_penalty_conditions_get_the_automatic_count_by_default():
    # 1024 interior points of the square: a condition on the whole boundary gets 128 points
    # (64 before), one on a face 64 (32 at the spacing: the floor); a condition's own
    # points= still wins; 9 interior points: 64.
    g = lambda x: x[0] * x[1]  # noqa: E731
    problem = nnpde.Problem(BOX, lambda x, u: u.laplacian - 1.0, boundary=[
        nnpde.Neumann(g), nnpde.Neumann(g, where="right"),
        nnpde.Neumann(g, where="top", points=10)])  # fmt: skip
    col, _ = make_collocation(problem, SMALL, jnp.asarray(BOX.grid(32)))
    assert col.penalty_blocks == (("Neumann(all)", 128), ("Neumann(right)", 64),
                                  ("Neumann(top)", 10))  # fmt: skip
    col_small, _ = make_collocation(problem, SMALL, jnp.asarray(BOX.grid(3)))
    assert col_small.penalty_blocks[0] == ("Neumann(all)", 64)


def test_a_whole_boundary_condition_in_space_and_time_holds_on_the_space_faces_only():
    # Neumann(where=None) on [0, 1] × [0, 0.5] (time): its points lay on t = 0 and t = 0.5 too,
    # asking u_t = 0 there (heat with insulated ends: rel-L2 1e-3 … 0.2); like Dirichlet's
    # trial solution, None now means the space boundary over all times.
    domain = nnpde.Box((0.0, 0.0), (1.0, 0.5), time=True)
    problem = nnpde.Problem(domain, lambda x, u: u.grad[1] - u.hessian[0, 0], boundary=[
        nnpde.Neumann(lambda x: 0.0), nnpde.Robin(1.0, 1.0, lambda x: 0.0, points=40),
        nnpde.Initial(lambda x: jnp.cos(np.pi * x[0]))])  # fmt: skip
    col, data = make_collocation(problem, SMALL, jnp.asarray(domain.grid(8)))
    (neumann, q1), (robin, q2) = col.penalty_blocks
    assert (neumann, robin) == ("Neumann(all)", "Robin(all)") and q1 >= 56 and q2 >= 35
    x, n = np.asarray(data.pen[0].x), np.asarray(data.pen[0].n)
    assert x.shape == (q1 + q2, 2)
    np.testing.assert_array_equal(np.abs(n[:, 0]), 1.0)  # outward normals ±e_x only
    np.testing.assert_array_equal(n[:, 1], 0.0)
    assert np.all(np.isin(x[:, 0], (0.0, 1.0))) and np.ptp(x[:, 1]) > 0.4


def test_a_predicate_condition_gets_about_its_boundary_points():
    problem = nnpde.Problem(BOX, lambda x, u: u.laplacian - 1.0, boundary=[
        nnpde.Neumann(lambda x: 0.0, where=lambda x: x[0] < 0.25)])  # fmt: skip
    col, data = make_collocation(problem, SMALL, jnp.asarray(BOX.grid(3)), boundary_points=64)
    (name, q), = col.penalty_blocks
    assert name == "Neumann(where)" and 48 <= q <= 80, q
    assert bool(jnp.all(data.pen[0].x[:, 0] < 0.25))


def test_dirichlet_on_a_list_of_faces_is_imposed_exactly_there():
    problem = lagaris_pde1()
    exact = problem.exact
    listed = nnpde.Problem(problem.domain, problem.equation, exact=exact, boundary=[
        nnpde.Dirichlet(exact, where=["left", "x0_max"]), nnpde.Dirichlet(exact, where="bottom"),
        nnpde.Neumann(lambda x: jax.grad(exact)(x)[1], where="top")])  # fmt: skip
    trial = nnpde.trial.build_trial(listed)[0]
    assert set(trial.exact_faces) == {"x0_min", "x0_max", "x1_min"}
    sol = nnpde.Solution(SMALL.init(jax.random.key(0)), SMALL, listed, trial)
    faces = problem.domain.sample_boundary(40, key=jax.random.key(2))
    keep = np.isin(faces.face, trial.exact_faces)
    pts = jnp.asarray(faces.x[keep])
    assert float(jnp.max(jnp.abs(sol(pts) - jax.vmap(exact)(pts)))) <= 1e-14


class _SlottedData:
    """Dirichlet data as a callable object with __slots__ (no weak references)."""

    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def __call__(self, x):
        return self.c * x[0] * x[1]


def test_exact_data_may_be_any_callable_and_is_imposed_at_the_faces():
    # The trial calls its face data through jax.jit (traced once), which needs a weak
    # reference: a slotted callable object is wrapped, not refused.
    problem = nnpde.Problem(BOX, lambda x, u: u.laplacian, boundary=[
        nnpde.Dirichlet(_SlottedData(3.0))])  # fmt: skip
    trial = nnpde.trial.build_trial(problem)[0]
    sol = nnpde.Solution(SMALL.init(jax.random.key(0)), SMALL, problem, trial)
    pts = jnp.asarray(BOX.sample_boundary(40, key=jax.random.key(2)).x)
    assert float(jnp.max(jnp.abs(sol(pts) - 3.0 * pts[:, 0] * pts[:, 1]))) <= 1e-14


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [(lambda: nnpde.Neumann(lambda x: 0.0, where=[]), TypeError, "non-empty list of face"),
     (lambda: nnpde.Neumann(lambda x: 0.0, where=["left", 3]), TypeError, "list of face names"),
     (lambda: nnpde.Robin(1.0, 1.0, lambda x: 0.0, points=0), ValueError, "points must be"),
     (lambda: nnpde.Periodic(0, points=2.5), ValueError, "points must be"),
     (lambda: nnpde.Problem(BOX, lambda x, u: u.laplacian, boundary=[
         nnpde.Dirichlet(lambda x: 0.0, where=["left", "x3_max"])]), ValueError,
      "no face 'x3_max'")],
)  # fmt: skip
def test_bad_faces_and_point_counts_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_models_of_one_problem_are_equal_and_release_the_problem():
    """Two models of the same problem object (other points, same sizes) are equal, so they
    share compiled programs; another problem object gives another model; the per-problem
    trial cache does not keep a problem alive."""
    import gc
    import weakref

    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (4, 4))
    x1, x2 = (problem.domain.sample(16, key=jax.random.key(i)) for i in (0, 1))
    col1, _ = make_collocation(problem, net, x1)
    col2, _ = make_collocation(problem, net, x2)
    other, _ = make_collocation(lagaris_pde1(), net, x1)
    assert col1 == col2 and hash(col1) == hash(col2) and col1.trials[0] is col2.trials[0]
    assert col1 != other
    alive = weakref.ref(problem)
    del problem, col1, col2, other
    gc.collect()
    assert alive() is None

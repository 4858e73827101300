"""The settings objects of solve and fit (nnpde.RunOptions, nnpde.ModelOptions): checked when
made, the same run whether given as objects or as keywords, and short public signatures."""

import inspect

import jax
import numpy as np
import optax
import pytest

import nnpde

# What is checked is where the settings go, which depends neither on the equation nor on the
# solver, and compilation is most of these tests' time. So the runs share one problem object
# and point count (solves of the same problem object share their compiled programs), its
# equation reads u's values only (u = xy(1-x)(1-y), u = 0 on the boundary of the unit square),
# and they take plain SGD steps (one solver object): with the autodiff backend that compiles
# in a quarter of the time of an LM run on Lagaris PDE 1's Laplacian.
PROBLEM = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)),
                        lambda x, u: u.value - x[0] * x[1] * (1 - x[0]) * (1 - x[1]),
                        boundary=[nnpde.Dirichlet(lambda x: 0.0)])  # fmt: skip
POINTS = PROBLEM.domain.grid(6)
SGD = nnpde.Optax(optax.sgd(1e-3))


def _problem():
    return PROBLEM


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 0}, ValueError, "steps must be a positive int"),
    ({"steps_per_call": 2.5}, ValueError, "steps_per_call must be a positive int"),
    ({"time_limit": -1.0}, ValueError, "time_limit must be a positive number"),
    ({"callback": 3}, TypeError, "callback must be callable"),
    ({"checkpoint_every": 10}, ValueError, "need checkpoint=path"),
    ({"resume": True}, ValueError, "need checkpoint=path"),
])  # fmt: skip
def test_run_options_name_the_wrong_field(kwargs, error, match):
    with pytest.raises(error, match=match):
        nnpde.RunOptions(**kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"boundary_points": 0}, ValueError, "boundary_points must be a positive int"),
    ({"boundary_points": True}, ValueError, "boundary_points must be a positive int"),
    ({"adapt": None}, TypeError, "adapt must be a tuple"),
    ({"adapt": "balance"}, TypeError, "adapt must be a tuple"),
])  # fmt: skip
def test_model_options_name_the_wrong_field(kwargs, error, match):
    with pytest.raises(error, match=match):
        nnpde.ModelOptions(**kwargs)


def test_model_options_keep_a_list_of_strategies_as_a_tuple():
    strategy = nnpde.adaptive.GradientBalance()
    opts = nnpde.ModelOptions(adapt=[strategy])
    assert opts.adapt == (strategy,)
    hash(nnpde.RunOptions(steps=3, time_limit=1.0))  # frozen and hashable


def test_objects_and_keywords_give_the_same_run():
    problem, net = _problem(), nnpde.TwoLayerNet(2, (6, 6))
    x = POINTS
    by_keywords = nnpde.solve(problem, net, x, solver=SGD, steps=12, backend="autodiff",
                              boundary_points=64, steps_per_call=4)  # fmt: skip
    by_objects = nnpde.solve(problem, net, x, solver=SGD,
                             options=nnpde.RunOptions(steps=12, steps_per_call=4),
                             model=nnpde.ModelOptions(backend="autodiff", boundary_points=64))
    np.testing.assert_array_equal(np.asarray(by_keywords.theta), np.asarray(by_objects.theta))
    assert by_objects.info["steps"] == 12 and by_objects.info["backend"] == "autodiff"


def test_a_keyword_replaces_that_field_of_the_object():
    problem, net = _problem(), nnpde.TwoLayerNet(2, (6, 6))
    opts = nnpde.RunOptions(steps=50, steps_per_call=4)
    # the network, points, solver, backend and dispatch length of the run above: no compiling
    sol = nnpde.solve(problem, net, POINTS, solver=SGD, options=opts, steps=8,
                      model=nnpde.ModelOptions(backend="autodiff"))  # fmt: skip
    assert sol.info["steps"] == 8 and sol.result == nnpde.RESULTS.max_steps
    assert opts.steps == 50  # the object itself is unchanged


def test_wrong_objects_and_unknown_keywords_are_refused():
    problem, net = _problem(), nnpde.TwoLayerNet(2, (4, 4))
    with pytest.raises(TypeError, match=r"options must be a nnpde\.RunOptions"):
        nnpde.solve(problem, net, 10, options={"steps": 3})
    with pytest.raises(TypeError, match=r"model must be a nnpde\.ModelOptions"):
        nnpde.solve(problem, net, 10, model=nnpde.RunOptions())
    with pytest.raises(TypeError, match="unexpected keyword argument 'stepz'"):
        nnpde.solve(problem, net, 10, stepz=3)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        nnpde.solve(problem, net, 10, steps=-1)


def test_a_device_count_as_mesh_is_that_mesh():
    problem, net = _problem(), nnpde.TwoLayerNet(2, (4, 4))
    x = POINTS
    a = nnpde.solve(problem, net, x, solver=SGD, steps=3, mesh=1)
    b = nnpde.solve(problem, net, x, solver=SGD, steps=3, devices=1)
    assert a.info["devices"] == b.info["devices"] == 1
    np.testing.assert_array_equal(np.asarray(a.theta), np.asarray(b.theta))


def test_fit_takes_run_options():
    x = np.linspace(-1, 1, 40)[:, None]
    net = nnpde.TwoLayerNet(1, (4, 4))
    a = nnpde.fit(net, x, np.sin(3 * x), solver=SGD, options=nnpde.RunOptions(steps=7))
    b = nnpde.fit(net, x, np.sin(3 * x), solver=SGD, steps=7, key=jax.random.key(0))
    assert a.info["steps"] == 7
    np.testing.assert_array_equal(np.asarray(a.theta), np.asarray(b.theta))


@pytest.mark.parametrize("entry", [nnpde.solve, nnpde.fit])
def test_public_signatures_stay_short(entry):
    """Settings go into objects (the developers' guide): at most ten keyword parameters."""
    params = inspect.signature(entry).parameters.values()
    keyword_only = [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert len(keyword_only) <= 10, [p.name for p in keyword_only]

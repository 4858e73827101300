"""Too few conditions for the equation's order on an axis (:mod:`nnpde.determinacy`): counted
per axis, warned by ``solve`` before it runs, silent on every problem we ship."""

from __future__ import annotations

import pathlib
import sys
import warnings

import jax
import jax.numpy as jnp
import pytest

import nnpde
from nnpde.determinacy import condition_counts, equation_orders, missing_conditions

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
import heldout
import robustness_problems

F64 = jnp.float64
BOX = nnpde.Box((-4.0, 0.0), (4.0, 1.0), time=True)


def _kdv(x, u):
    return u.grad[1] + 6.0 * u.value * u.grad[0] + u.partial(0, 0, 0)


def _soliton(x):
    return 1.0 / jnp.cosh(x[0] - 2.0 * x[1]) ** 2


def _kdv_problem(*extra):
    return nnpde.Problem(BOX, _kdv, boundary=[nnpde.Dirichlet(_soliton), nnpde.Initial(_soliton),
                                              *extra], exact=_soliton)  # fmt: skip


def test_kdv_with_the_values_at_both_ends_only_is_short_of_one_condition():
    p = _kdv_problem()
    assert equation_orders(p, F64) == {0: 3}
    assert condition_counts(p, [0]) == {0: 2}
    assert "order 3 in x0 but 2 conditions" in missing_conditions(p, F64)
    slope = nnpde.Neumann(lambda x: jax.grad(_soliton)(x)[0], where="x0_max")
    assert missing_conditions(_kdv_problem(slope), F64) is None


@pytest.mark.parametrize(
    ("conditions", "short"),
    [
        # a beam u'''' = f: clamped at both ends (4 of 4), at one end only (2 of 4)
        ([nnpde.Dirichlet(lambda x: 0.0), nnpde.Neumann(lambda x: 0.0)], None),
        ([nnpde.Dirichlet(lambda x: 0.0, where="left"), nnpde.Neumann(lambda x: 0.0, where="left")],
         "order 4 in x0 but 2 conditions"),
        # initial value and slope (2) and the far end's value and slope (2)
        ([nnpde.Initial(lambda x: 0.0, derivative=lambda x: 0.0),
          nnpde.Dirichlet(lambda x: 0.0, where="right"),
          nnpde.OperatorBC(lambda x, u: u.hessian[0, 0], where="right")], None),
        ([nnpde.Initial(lambda x: 0.0), nnpde.Dirichlet(lambda x: 0.0, where="right")],
         "order 4 in x0 but 2 conditions"),
    ],
)
def test_conditions_are_counted_per_face(conditions, short):
    p = nnpde.Problem(nnpde.Interval(0.0, 1.0), lambda x, u: u.partial(0, 0, 0, 0) - 1.0,
                      boundary=conditions)  # fmt: skip
    got = missing_conditions(p, F64)
    assert got is None if short is None else short in got


def test_orders_below_three_and_predicates_are_not_judged():
    heat = nnpde.Problem(BOX, lambda x, u: u.grad[1] - u.hessian[0, 0],
                         boundary=[nnpde.Initial(_soliton)])  # fmt: skip
    assert equation_orders(heat, F64) == {} and missing_conditions(heat, F64) is None
    where = nnpde.Problem(BOX, _kdv, boundary=[nnpde.Dirichlet(_soliton, where=lambda x: True)])
    assert missing_conditions(where, F64) is None  # the count is unknown
    disk = nnpde.Problem(nnpde.Disk((0.0, 0.0), 1.0),
                         lambda x, u: u.partial(0, 0, 0, 0) + u.partial(1, 1, 1, 1),
                         boundary=[nnpde.Dirichlet(lambda x: 0.0)])  # fmt: skip
    assert missing_conditions(disk, F64) is None  # no axes to count on


def test_solve_warns_before_running_and_runs_anyway():
    net = nnpde.TwoLayerNet(2, (4, 4))
    with pytest.warns(nnpde.UnderdeterminedWarning, match="order 3 in x0"):
        sol = nnpde.solve(_kdv_problem(), net, 64, steps=2, restarts=0)
    assert sol.result in tuple(nnpde.RESULTS)
    slope = nnpde.Neumann(lambda x: jax.grad(_soliton)(x)[0], where="x0_max")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nnpde.solve(_kdv_problem(slope), net, 64, steps=2, restarts=0)
    assert not [w for w in caught if issubclass(w.category, nnpde.UnderdeterminedWarning)]


def _shipped():
    problems = [(n, lambda n=n: nnpde.problems.get(n).problem) for n in nnpde.problems.catalogue()]
    problems += [(n, lambda b=b: b()["problem"]) for n, b in heldout.ALL.items()
                 if n not in ("pendulum", "van_der_pol", "blasius", "sir_epidemic")]  # fmt: skip
    problems += [(n, lambda b=b: b().problem) for n, b in robustness_problems.PROBLEMS.items()
                 if n != "lotka_volterra"]  # fmt: skip
    return problems


@pytest.mark.parametrize(("name", "build"), _shipped(), ids=[n for n, _ in _shipped()])
def test_no_problem_we_ship_is_flagged(name, build):
    """No false alarm on the catalogue, the held-out rounds and the robustness benchmark (the
    ODEs with a scipy reference left out: scipy is not a test dependency; of them only
    Blasius is of order ≥ 3, and its three conditions, an initial value and slope and a
    far-end slope, are counted as in test_conditions_are_counted_per_face)."""
    assert missing_conditions(build(), F64) is None, name

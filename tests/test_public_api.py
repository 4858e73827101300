"""The public API: nnpde.__all__, and nnpde.kernels / nnpde.autodiff as drop-in twins."""

from __future__ import annotations

import importlib
import importlib.util
import inspect

import pytest

import nnpde
from nnpde import autodiff, backprop, kernels


def _signature(fn):
    """Signature of the Python function behind a (possibly jitted) public function."""
    return inspect.signature(inspect.unwrap(fn))


def _params(fn):
    return [(p.name, p.kind, p.default) for p in _signature(fn).parameters.values()]


@pytest.mark.parametrize("name", nnpde.__all__)
def test_every_public_name_is_importable(name):
    assert hasattr(nnpde, name)
    mod = importlib.import_module("nnpde")
    assert getattr(mod, name) is getattr(nnpde, name)


def test_star_import_gives_all():
    namespace: dict = {}
    exec("from nnpde import *", namespace)
    assert set(nnpde.__all__) <= set(namespace)
    assert isinstance(nnpde.__version__, str) and nnpde.__version__


# Public functions of nnpde.backprop with an autodiff twin of the same name and signature
# (seed001_approx_grad reproduces a seed's approximation and has none).
BACKPROP_TWINS = ["jacobian", "value_and_grad"]


def test_kernels_and_autodiff_export_the_same_names():
    """autodiff's names are kernels' names plus backprop's twin names, with no overlap."""
    assert sorted(autodiff.__all__) == sorted(kernels.__all__ + BACKPROP_TWINS)
    assert len(set(kernels.__all__)) == len(kernels.__all__)
    assert len(set(autodiff.__all__)) == len(autodiff.__all__)
    assert not set(kernels.__all__) & set(BACKPROP_TWINS)
    expected = {
        "value", "grad_theta", "grad_x", "hessian_x", "laplacian_x", "grad_x_theta", "jet",
        "hessian_x_theta", "laplacian_x_theta", "value_vjp", "grad_x_vjp", "hessian_x_vjp",
        "laplacian_x_vjp", "operator_vjp", "operator_rows",
    }  # fmt: skip
    assert expected <= set(kernels.__all__)


FUNCTIONS = [n for n in kernels.__all__ if not n.isupper()]
CONSTANTS = [n for n in kernels.__all__ if n.isupper()]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_twins_are_callable_with_the_same_signature(name):
    k, a = getattr(kernels, name), getattr(autodiff, name)
    assert callable(k) and callable(a)
    assert _params(k) == _params(a)
    names = [p[0] for p in _params(k)]
    assert names[:3] == ["net", "theta", "x"]
    assert "chunk_size" in names
    assert _signature(k).parameters["chunk_size"].kind is inspect.Parameter.KEYWORD_ONLY
    assert _signature(k).parameters["chunk_size"].default is None


@pytest.mark.parametrize("name", FUNCTIONS)
def test_public_functions_are_documented(name):
    for mod in (kernels, autodiff):
        doc = inspect.getdoc(getattr(mod, name))
        assert doc and doc.strip(), f"{mod.__name__}.{name} has no docstring"


@pytest.mark.parametrize("name", CONSTANTS)
def test_constants_agree(name):
    assert getattr(kernels, name) == getattr(autodiff, name)


def test_backprop_exports():
    assert sorted(backprop.__all__) == sorted(BACKPROP_TWINS + ["seed001_approx_grad"])


@pytest.mark.parametrize("name", BACKPROP_TWINS)
def test_backprop_twins_have_the_same_signature(name):
    b, a = getattr(backprop, name), getattr(autodiff, name)
    assert callable(b) and callable(a)
    assert _params(b) == _params(a)
    names = [p[0] for p in _params(b)]
    assert names[:3] == ["net", "params", "x"]
    for mod in (backprop, autodiff):
        doc = inspect.getdoc(getattr(mod, name))
        assert doc and doc.strip(), f"{mod.__name__}.{name} has no docstring"


def test_operator_functions_take_the_four_weights_by_keyword():
    for mod in (kernels, autodiff):
        for fn in (mod.operator_vjp, mod.operator_rows):
            params = _signature(fn).parameters
            for w in ("value", "grad", "hessian", "laplacian"):
                assert params[w].kind is inspect.Parameter.KEYWORD_ONLY
                assert params[w].default is None


# ---- the solver engine (issue 15) ------------------------------------------------------------
SOLVERS = ["LM", "GaussNewtonCG", "Optax", "LBFGS"]
RESULT_MEMBERS = ["running", "converged", "max_steps", "time_limit", "stalled", "diverged",
                  "nonfinite", "interrupted"]  # fmt: skip


def test_engine_names_are_public():
    assert {*SOLVERS, "RESULTS", "CGConfig"} <= set(nnpde.__all__)
    assert [m.name for m in nnpde.RESULTS] == RESULT_MEMBERS
    assert not importlib.util.find_spec("nnpde.training"), "nnpde.training was removed"


@pytest.mark.parametrize("name", SOLVERS)
def test_solvers_are_frozen_hashable_and_documented(name):
    import dataclasses

    import optax

    cls = getattr(nnpde, name)
    make = (lambda: cls(optax.sgd(1e-3))) if name == "Optax" else cls
    a, b = make(), make()
    for method in ("init", "step", "terminate", "record"):
        assert callable(getattr(a, method)), method
    if name != "Optax":  # Optax's identity is its transformation's, new at each optax call
        assert a == b and hash(a) == hash(b)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.atol = 1.0
    assert "Example" in inspect.getdoc(cls)


def test_solve_and_fit_share_their_run_options():
    """Both take solver, key, theta0 and a nnpde.RunOptions as keyword-only arguments, and
    every field of RunOptions (and method=, solver's older name) as a keyword too."""
    import dataclasses

    for fn in (nnpde.solve, nnpde.fit):
        params = _signature(fn).parameters
        for name in ("solver", "key", "theta0", "options"):
            assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, (fn.__name__, name)
        assert params["keywords"].kind is inspect.Parameter.VAR_KEYWORD
        for removed in ("tol", "learning_rate", "lm", "cg", "divergence"):
            assert removed not in params, (fn.__name__, removed)
        doc = inspect.getdoc(fn)
        for field in dataclasses.fields(nnpde.RunOptions):
            assert field.name in doc, (fn.__name__, field.name)
    fields = {f.name for f in dataclasses.fields(nnpde.RunOptions)}
    assert fields == {"steps", "steps_per_call", "callback", "progress", "time_limit",
                      "checkpoint", "checkpoint_every", "resume"}  # fmt: skip


def test_geometry_exports():
    """Polygon and the set operations are public, and every domain has the operators."""
    from nnpde import geometry

    assert sorted(geometry.__all__) == ["Difference", "Intersection", "Polygon", "Union"]
    for name in geometry.__all__:
        assert getattr(nnpde, name) is getattr(geometry, name)
    box, disk = nnpde.Box((0.0, 0.0), (1.0, 1.0)), nnpde.Disk((1.0, 1.0), 0.5)
    assert isinstance(box - disk, nnpde.Difference)
    assert isinstance(box | disk, nnpde.Union)
    assert isinstance(box & disk, nnpde.Intersection)
    for domain in (box, disk, nnpde.Polygon([(0, 0), (1, 0), (0, 1)]), box - disk):
        assert callable(domain.distance) and callable(domain.sample_boundary)

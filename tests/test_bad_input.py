"""Bad inputs raise the documented errors, naming the offending argument; NaN propagates."""

from __future__ import annotations

import re

import jax.numpy as jnp
import numpy as np
import pytest
from kernel_cases import ALL_CASES, MODULES, POINTWISE, VJPS, call_case, make_inputs

import nnpde
from nnpde import TwoLayerNet

MODULE_NAMES = list(MODULES)
NET = TwoLayerNet(2, (4, 3), "tanh")
P = 5


@pytest.fixture
def inputs():
    return make_inputs(NET, P)


def _fn_name(case: str) -> str:
    return case.split("[")[0]


CASE_PARAMS = [
    pytest.param(module, case, id=f"{module}-{case}")
    for module in MODULE_NAMES
    for case in ALL_CASES
]


# ---- x -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("module", "case"), CASE_PARAMS)
def test_x_of_wrong_rank(module, case, inputs):
    theta, x, w = inputs
    for bad in (x[0], x[None]):  # (D,) and (1, P, D)
        with pytest.raises(ValueError, match=rf"{_fn_name(case)}: x must have shape \(P, 2\)"):
            call_case(MODULES[module], case, NET, theta, bad, w)


@pytest.mark.parametrize(("module", "case"), CASE_PARAMS)
def test_x_with_wrong_number_of_coordinates(module, case, inputs):
    theta, _, w = inputs
    x3 = jnp.ones((P, 3))
    with pytest.raises(ValueError, match=r"x has 3 coordinates.*dim=2"):
        call_case(MODULES[module], case, NET, theta, x3, w)


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_rank1_x_message_suggests_a_fix(module, inputs):
    theta, x, _ = inputs
    with pytest.raises(ValueError, match=re.escape("x[None, :]")):
        MODULES[module].value(NET, theta, x[0])


# ---- theta ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("module", "case"), CASE_PARAMS)
def test_theta_of_wrong_shape(module, case, inputs):
    theta, x, w = inputs
    nt = NET.num_params
    for bad in (theta[:-1], jnp.concatenate([theta, theta[:1]]), theta[None], theta[0]):
        with pytest.raises(ValueError, match=rf"{_fn_name(case)}: theta must have shape \({nt},\)"):
            call_case(MODULES[module], case, NET, bad, x, w)


# ---- dtypes --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("module", "case"), CASE_PARAMS)
def test_non_float_theta_or_x(module, case, inputs):
    theta, x, w = inputs
    with pytest.raises(TypeError, match="theta must be a floating-point array"):
        call_case(MODULES[module], case, NET, jnp.arange(NET.num_params), x, w)
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        call_case(MODULES[module], case, NET, theta, jnp.ones((P, 2), jnp.int32), w)
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        call_case(MODULES[module], case, NET, theta, jnp.ones((P, 2), bool), w)


@pytest.mark.parametrize(("module", "case"), CASE_PARAMS)
def test_mixed_float_dtypes(module, case, inputs):
    theta, x, w = inputs
    with pytest.raises(TypeError, match="x and theta must have the same dtype"):
        call_case(MODULES[module], case, NET, theta, x.astype(jnp.float32), w)
    w32 = {k: v.astype(jnp.float32) for k, v in w.items()}
    with pytest.raises(TypeError, match="x and theta must have the same dtype"):
        call_case(MODULES[module], case, NET, theta.astype(jnp.float32), x, w32)


def test_numpy_inputs_are_accepted():
    theta, x, _ = make_inputs(NET, 3)
    want = np.asarray(nnpde.kernels.value(NET, theta, x))
    got = nnpde.kernels.value(NET, np.asarray(theta), np.asarray(x))
    np.testing.assert_array_equal(np.asarray(got), want)


# ---- operator weights ----------------------------------------------------------------------------
WEIGHT_LABEL = {"value": "alpha", "grad": "beta", "hessian": "h", "laplacian": "lambda"}


def _weight_arg(fn, slot):
    """The argument name an error must mention: ``weights`` for the named VJPs."""
    return "weights" if fn in VJPS else slot


BAD_WEIGHT_SHAPES = {
    "value": [(P + 1,), (P, 1)],
    "grad": [(P, 3), (P,), (P, 2, 1)],
    "hessian": [(P, 2), (P, 2, 3), (P + 1, 2, 2)],
    "laplacian": [(P - 1,), (1, P)],
}


def _call_weight(mod, fn, slot, theta, x, weight):
    if fn in VJPS:
        return getattr(mod, fn)(NET, theta, x, weight)
    return getattr(mod, fn)(NET, theta, x, **{slot: weight})


WEIGHT_PARAMS = [
    pytest.param(module, fn, slot, id=f"{module}-{fn}-{slot}")
    for module in MODULE_NAMES
    for fn in [*VJPS, "operator_vjp", "operator_rows"]
    for slot in (WEIGHT_LABEL if fn.startswith("operator") else [VJPS[fn][0]])
]


@pytest.mark.parametrize(("module", "fn", "slot"), WEIGHT_PARAMS)
def test_weights_of_wrong_shape(module, fn, slot, inputs):
    theta, x, _ = inputs
    for shape in BAD_WEIGHT_SHAPES[slot]:
        label = re.escape(f"{_weight_arg(fn, slot)} must have shape")
        with pytest.raises(ValueError, match=rf"{fn}: {label}"):
            _call_weight(MODULES[module], fn, slot, theta, x, jnp.ones(shape))


@pytest.mark.parametrize(("module", "fn", "slot"), WEIGHT_PARAMS)
def test_weights_of_wrong_dtype(module, fn, slot, inputs):
    theta, x, w = inputs
    label = re.escape(_weight_arg(fn, slot))
    with pytest.raises(TypeError, match=rf"{fn}: {label} has dtype float32"):
        _call_weight(MODULES[module], fn, slot, theta, x, w[slot].astype(jnp.float32))
    with pytest.raises(TypeError, match=rf"{fn}: {label} must be a floating-point array"):
        _call_weight(MODULES[module], fn, slot, theta, x, w[slot].astype(jnp.int32))


@pytest.mark.parametrize("module", MODULE_NAMES)
@pytest.mark.parametrize("fn", list(VJPS))
def test_named_vjp_requires_its_weights(module, fn, inputs):
    theta, x, _ = inputs
    with pytest.raises(TypeError, match=rf"{fn}: the weights argument is required"):
        getattr(MODULES[module], fn)(NET, theta, x, None)


# ---- chunk_size and net --------------------------------------------------------------------------
@pytest.mark.parametrize(("module", "case"), CASE_PARAMS)
def test_bad_chunk_size(module, case, inputs):
    theta, x, w = inputs
    for bad in (0, -3, True, 2.5):
        msg = rf"{_fn_name(case)}: chunk_size must be a positive int"
        with pytest.raises(ValueError, match=msg):
            call_case(MODULES[module], case, NET, theta, x, w, chunk_size=bad)


@pytest.mark.parametrize("module", MODULE_NAMES)
@pytest.mark.parametrize("fn", list(POINTWISE))
def test_net_must_be_a_two_layer_net(module, fn, inputs):
    theta, x, _ = inputs
    with pytest.raises(TypeError, match=rf"{fn}: net must be a nnpde.TwoLayerNet"):
        getattr(MODULES[module], fn)("not a net", theta, x)


# ---- TwoLayerNet ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, -1, 1.5, 2.0, True, "2", None])
def test_bad_dim(dim):
    with pytest.raises(ValueError, match="dim must be a positive int"):
        TwoLayerNet(dim, (4, 3))


@pytest.mark.parametrize(
    "hidden", [(0, 3), (4, 0), (-1, 3), (4,), (4, 3, 2), (4.0, 3), (True, 3), "ab", None, 4]
)
def test_bad_hidden(hidden):
    with pytest.raises(ValueError, match=r"hidden must be two positive ints \(M1, M2\)"):
        TwoLayerNet(2, hidden)


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'tanhh'"):
        TwoLayerNet(2, (4, 3), "tanhh")


def test_unpack_and_pack_errors():
    net = TwoLayerNet(2, (4, 3))
    nt = net.num_params
    with pytest.raises(ValueError, match=rf"theta must have shape \(\.\.\., {nt}\)"):
        net.unpack(jnp.zeros(nt + 1))
    with pytest.raises(ValueError, match="theta must have shape"):
        net.unpack(jnp.zeros(()))
    good = net.unpack(jnp.zeros(nt))
    with pytest.raises(ValueError, match=re.escape("params.w must have shape (3, 4)")):
        net.pack(good._replace(w=jnp.zeros((4, 3))))
    with pytest.raises(ValueError, match=re.escape("params.b must have shape (4,)")):
        net.pack(good._replace(b=jnp.zeros(5)))
    with pytest.raises(ValueError, match="params must hold 5 arrays"):
        net.pack(tuple(good)[:4])


# ---- NaN is propagated, not cleaned --------------------------------------------------------------
@pytest.mark.parametrize("module", MODULE_NAMES)
@pytest.mark.parametrize("chunk_size", [None, 2])
def test_nan_in_x_propagates(module, chunk_size, inputs):
    mod = MODULES[module]
    theta, x, w = inputs
    x = x.at[1, 0].set(jnp.nan)
    lap = np.asarray(mod.laplacian_x(NET, theta, x, chunk_size=chunk_size))
    assert np.isnan(lap[1])
    assert np.all(np.isfinite(np.delete(lap, 1)))  # other points untouched
    vjp = np.asarray(mod.laplacian_x_vjp(NET, theta, x, w["laplacian"], chunk_size=chunk_size))
    assert np.all(np.isnan(vjp))
    rows = np.asarray(mod.operator_rows(NET, theta, x, value=w["value"], chunk_size=chunk_size))
    assert np.all(np.isnan(rows[1]))
    if module == "kernels":
        # The hand-written rows are computed point by point, so other rows stay finite.
        # (autodiff's jax.jacrev pulls 0 * NaN through ops shared by all points, so there
        # every row is NaN; that is still "NaN in, NaN out".)
        assert np.all(np.isfinite(np.delete(rows, 1, axis=0)))


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_nan_in_theta_propagates(module, inputs):
    mod = MODULES[module]
    theta, x, w = inputs
    theta = theta.at[0].set(jnp.nan)  # a_1: enters every point's output
    assert np.all(np.isnan(np.asarray(mod.value(NET, theta, x))))
    assert np.any(np.isnan(np.asarray(mod.value_vjp(NET, theta, x, w["value"]))))


# ---- observations: nnpde.Data (issue 18, item 3) -----------------------------------------------
X3 = np.full((3, 2), 0.5)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: nnpde.Data(np.zeros(3), np.zeros(3)), ValueError,
         r"Data: x must have shape \(Q, D\) with Q >= 1, got \(3,\)"),
        (lambda: nnpde.Data(np.zeros((0, 2)), np.zeros(0)), ValueError, r"Data: x must have shape"),
        (lambda: nnpde.Data(X3, np.zeros(4)), ValueError,
         r"Data: values must have shape \(3,\), one per point of x \(3, 2\), got \(4,\)"),
        (lambda: nnpde.Data(X3, np.zeros((3, 1))), ValueError, r"Data: values must have shape"),
        (lambda: nnpde.Data(X3, [0.0, np.nan, 1.0]), ValueError,
         r"Data: values contains NaN or Inf at 1 of its 3 points \(the first at index 1\)"),
        (lambda: nnpde.Data(np.where(X3 > 0, np.inf, 0), np.zeros(3)), ValueError,
         r"Data: x contains NaN or Inf"),
        (lambda: nnpde.Data(X3, np.zeros(3) + 1j), ValueError, r"Data: values must be real"),
        (lambda: nnpde.Data("abc", np.zeros(3)), TypeError, r"Data: x must be a real array"),
        (lambda: nnpde.Data(X3, np.zeros(3), component=-1), ValueError,
         r"Data: component must be an int >= 0, got -1"),
        (lambda: nnpde.Data(X3, np.zeros(3), component=1.0), ValueError, r"Data: component"),
        (lambda: nnpde.Data(X3, np.zeros(3), weight=-2.0), ValueError,
         r"Data: weight must be a positive finite number or None, got -2\.0"),
        (lambda: nnpde.Data(X3, np.zeros(3), weight=0.0), ValueError, r"Data: weight"),
        (lambda: nnpde.Data(X3, np.zeros(3), weight=np.nan), ValueError, r"Data: weight"),
        (lambda: nnpde.Data(X3, np.zeros(3), weight="1"), ValueError, r"Data: weight"),
    ],
)  # fmt: skip
def test_bad_data_names_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


def _system(**kw):
    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    return nnpde.Problem(box, lambda x, u: jnp.stack([u[0].laplacian, u[1].laplacian]),
                         components=2, **kw)  # fmt: skip


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        ([nnpde.Data(X3, np.zeros(3), component=2)], ValueError,
         r"Problem: data\[0\] observes component 2, but the problem has components=2"),
        ([nnpde.Data(X3, np.zeros(3)), nnpde.Data(np.ones((2, 3)), np.zeros(2))], ValueError,
         r"Problem: data\[1\]\.x must have shape \(Q, 2\) for this 2-D problem, got \(2, 3\)"),
        ([nnpde.Data(X3, np.zeros(3)), (X3, np.zeros(3))], TypeError,
         r"Problem: data must be a nnpde\.Data, a list of them, or a pair"),
        ((X3, np.zeros((3, 2)), 1), TypeError, r"Problem: data must be"),
        ((X3, np.where(np.eye(3, 2) > 0, np.nan, 0.0)), ValueError,
         r"u_obs contains NaN or Inf; to observe only some components"),
    ],
)  # fmt: skip
def test_bad_observations_of_a_problem_are_named(data, error, match):
    with pytest.raises(error, match=match):
        _system(data=data)


def test_bad_data_weight_is_named():
    with pytest.raises(ValueError, match="Problem: data_weight must be positive"):
        _system(data_weight=-1.0)

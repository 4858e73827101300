"""Hand-written kernels (nnpde.kernels) against their autodiff twins (nnpde.autodiff).

Every public kernel, VJP and operator function is compared in float64 with a relative error
of at most F64_RTOL, for every activation that supports the derivative order the kernel needs,
at several (D, M1, M2) including D = 1 and M1 != M2, for P = 1 and P > 1, with θ scaled so that
the activations leave their linear range. Chunked evaluation (chunk_size < P, not dividing P)
must agree with unchunked evaluation.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F64_RTOL, rel_err
from kernel_cases import (
    ALL_CASES,
    MODULES,
    POINTWISE,
    VJPS,
    WEIGHT_SUBSETS,
    Config,
    RawModule,
    call_case,
    case_order,
    case_shape,
    evaluate,
    is_pure_second_order,
    make_inputs,
    operator_case,
)

import nnpde

BOTH = (("kernels", None), ("autodiff", None))

# (D, M1, M2, P): every activation at these two, tanh alone at the rest (compilation per
# configuration dominates the run time, so the full cross product is kept small).
ALL_ACTIVATION_SHAPES = [(2, 4, 7, 9), (1, 5, 3, 1)]
TANH_ONLY_SHAPES = [(3, 6, 5, 9), (10, 8, 4, 9)]


def _cases_for(activation: str) -> tuple:
    order = nnpde.get_activation(activation).order
    cases = [c for c in ALL_CASES if case_order(c) <= order]
    if order < 2:  # relu: the operator functions with the value weight only
        cases += [operator_case(fn, ("value",)) for fn in ("operator_vjp", "operator_rows")]
    return tuple(cases)


# Snapshot at collection time (tests may register more activations while the suite runs).
ACTIVATIONS = tuple(nnpde.list_activations())


def _configs():
    out = []
    for act in ACTIVATIONS:
        out += [Config(act, *shape) for shape in ALL_ACTIVATION_SHAPES]
    out += [Config("tanh", *shape) for shape in TANH_ONLY_SHAPES]
    return out


CONFIGS = _configs()
MATRIX = [
    pytest.param(cfg, case, id=f"{cfg.id}-{case}")
    for cfg in CONFIGS
    for case in _cases_for(cfg.activation)
]


def both(cfg: Config):
    return evaluate(cfg, _cases_for(cfg.activation), BOTH)


def test_matrix_covers_every_activation_and_kernel():
    """The parametrisation itself: every registered activation, every case it supports."""
    covered = {(cfg.activation, case) for cfg in CONFIGS for case in _cases_for(cfg.activation)}
    assert {"tanh", "sigmoid", "softplus", "sin", "identity", "relu"} <= set(ACTIVATIONS)
    for act in ACTIVATIONS:
        order = nnpde.get_activation(act).order
        for case in ALL_CASES:
            assert ((act, case) in covered) == (case_order(case) <= order), (act, case)
    assert ("relu", "value_vjp") in covered
    assert ("relu", "hessian_x") not in covered
    dims = {cfg.dim for cfg in CONFIGS}
    assert 1 in dims and max(dims) >= 10
    assert any(cfg.m1 != cfg.m2 for cfg in CONFIGS)
    assert {1, 9} <= {cfg.points for cfg in CONFIGS}


@pytest.mark.parametrize(("cfg", "case"), MATRIX)
def test_kernel_matches_autodiff(cfg: Config, case: str):
    res = both(cfg)
    k = res["kernels", None, case]
    a = res["autodiff", None, case]
    expected_shape = case_shape(case, cfg.net, cfg.points)
    assert k.shape == expected_shape
    assert a.shape == expected_shape
    assert k.dtype == a.dtype == np.float64
    assert np.all(np.isfinite(k))
    err = rel_err(k, a)
    assert err <= F64_RTOL, f"{case}: relative error {err:.3e} > {F64_RTOL:.0e}"
    if cfg.activation == "identity" and is_pure_second_order(case):
        # A network linear in x has zero second x-derivatives, exactly.
        assert np.all(k == 0)
    else:
        # The comparison must not be vacuous.
        assert np.max(np.abs(a)) > 0


SUBSET_CFG = Config("tanh", 3, 6, 5, 9)
# Every single weight, and mixes that pair each kind of term with another; the full set of four
# is part of the main matrix above.
SUBSETS = [s for s in WEIGHT_SUBSETS if len(s) == 1] + [
    ("value", "grad"),
    ("grad", "hessian"),
    ("hessian", "laplacian"),
    ("value", "grad", "laplacian"),
]
SUBSET_CASES = tuple(
    operator_case(fn, subset) for subset in SUBSETS for fn in ("operator_vjp", "operator_rows")
)


@pytest.mark.parametrize("case", SUBSET_CASES)
def test_operator_weight_subsets_match_autodiff(case: str):
    res = evaluate(SUBSET_CFG, SUBSET_CASES, BOTH)
    k = res["kernels", None, case]
    a = res["autodiff", None, case]
    assert k.shape == a.shape == case_shape(case, SUBSET_CFG.net, SUBSET_CFG.points)
    assert rel_err(k, a) <= F64_RTOL
    assert np.max(np.abs(a)) > 0


@pytest.mark.parametrize("module", ["kernels", "autodiff"])
def test_operator_without_weights_is_zero(module: str):
    mod = MODULES[module]
    net = nnpde.TwoLayerNet(2, (4, 3), "tanh")
    theta, x, _ = make_inputs(net, 5)
    vjp = mod.operator_vjp(net, theta, x)
    rows = mod.operator_rows(net, theta, x)
    assert vjp.shape == (net.num_params,)
    assert rows.shape == (5, net.num_params)
    assert vjp.dtype == rows.dtype == jnp.float64
    assert np.all(np.asarray(vjp) == 0)
    assert np.all(np.asarray(rows) == 0)


def test_symmetric_part_of_hessian_weights_is_what_counts():
    """Only (h + hᵀ)/2 enters h:∇²N, so h and its transpose give the same VJP."""
    net = nnpde.TwoLayerNet(3, (6, 5), "tanh")
    theta, x, w = make_inputs(net, 9)
    h = w["hessian"]
    assert not np.allclose(h, jnp.swapaxes(h, 1, 2))
    out = nnpde.kernels.hessian_x_vjp(net, theta, x, h)
    out_t = nnpde.kernels.hessian_x_vjp(net, theta, x, jnp.swapaxes(h, 1, 2))
    assert rel_err(out_t, out) <= F64_RTOL


# ---- chunking ------------------------------------------------------------------------------------
CHUNK_SETUPS = [(Config("sigmoid", 2, 4, 7, 9), 2), (Config("tanh", 3, 6, 5, 9), 4)]


@pytest.mark.parametrize(
    ("cfg", "chunk", "case"),
    [
        pytest.param(cfg, chunk, case, id=f"{cfg.id}-chunk{chunk}-{case}")
        for cfg, chunk in CHUNK_SETUPS
        for case in _cases_for(cfg.activation)
    ],
)
def test_chunking_matches_unchunked(cfg: Config, chunk: int, case: str):
    """Public kernels called directly with chunk_size < P (not dividing P) vs chunk_size=None."""
    assert chunk < cfg.points and cfg.points % chunk != 0  # really exercises padded blocks
    theta, x, w = make_inputs(cfg.net, cfg.points)
    k_chunked = call_case(nnpde.kernels, case, cfg.net, theta, x, w, chunk)
    k_plain = both(cfg)["kernels", None, case]
    assert k_chunked.shape == k_plain.shape == case_shape(case, cfg.net, cfg.points)
    assert k_chunked.dtype == jnp.float64
    assert rel_err(k_chunked, k_plain) <= F64_RTOL
    assert np.max(np.abs(k_plain)) > 0


@pytest.mark.parametrize("case", list(POINTWISE))
def test_autodiff_accepts_and_ignores_chunk_size(case):
    net = nnpde.TwoLayerNet(2, (4, 3), "tanh")
    theta, x, w = make_inputs(net, 5)
    a = call_case(nnpde.autodiff, case, net, theta, x, w, None)
    b = call_case(nnpde.autodiff, case, net, theta, x, w, 2)
    assert rel_err(b, a) <= F64_RTOL


# ---- identities between the kernels themselves (no autodiff involved) ----------------------------
@pytest.mark.parametrize(
    "cfg",
    [pytest.param(c, id=c.id) for c in CONFIGS if nnpde.get_activation(c.activation).order >= 3],
)
def test_kernels_are_mutually_consistent(cfg: Config):
    res = both(cfg)

    def k(case):
        return res["kernels", None, case]

    _, _, w = make_inputs(cfg.net, cfg.points)
    w = {name: np.asarray(v) for name, v in w.items()}
    ein = functools.partial(np.einsum, optimize=True)
    checks = {
        "hessian_x symmetric": (k("hessian_x"), np.swapaxes(k("hessian_x"), 1, 2)),
        "laplacian_x = tr hessian_x": (k("laplacian_x"), ein("pii->p", k("hessian_x"))),
        "laplacian_x_theta = tr hessian_x_theta": (
            k("laplacian_x_theta"),
            ein("piit->pt", k("hessian_x_theta")),
        ),
        "value_vjp": (k("value_vjp"), w["value"] @ k("grad_theta")),
        "grad_x_vjp": (k("grad_x_vjp"), ein("pi,pit->t", w["grad"], k("grad_x_theta"))),
        "hessian_x_vjp": (
            k("hessian_x_vjp"),
            ein("pil,pilt->t", w["hessian"], k("hessian_x_theta")),
        ),
        "laplacian_x_vjp": (k("laplacian_x_vjp"), w["laplacian"] @ k("laplacian_x_theta")),
        "operator_vjp = sum of rows": (
            k(operator_case("operator_vjp", ("value", "grad", "hessian", "laplacian"))),
            k(operator_case("operator_rows", ("value", "grad", "hessian", "laplacian"))).sum(0),
        ),
        "operator_rows from jacobians": (
            k(operator_case("operator_rows", ("value", "grad", "hessian", "laplacian"))),
            w["value"][:, None] * k("grad_theta")
            + ein("pi,pit->pt", w["grad"], k("grad_x_theta"))
            + ein("pil,pilt->pt", w["hessian"], k("hessian_x_theta"))
            + w["laplacian"][:, None] * k("laplacian_x_theta"),
        ),
    }
    failed = {name: rel_err(a, b) for name, (a, b) in checks.items()}
    failed = {name: e for name, e in failed.items() if not e <= F64_RTOL}
    assert not failed, f"inconsistent kernels: {failed}"


# ---- edge cases ----------------------------------------------------------------------------------
EMPTY_NET = nnpde.TwoLayerNet(2, (4, 3), "tanh")


@pytest.mark.parametrize("case", ALL_CASES)
def test_empty_batch_gives_empty_or_zero_output(case):
    """P = 0 points: per-point outputs are empty, sums over points (the VJPs) are zero."""
    theta, x, w = make_inputs(EMPTY_NET, 0)
    shape = case_shape(case, EMPTY_NET, 0)
    for module in ("autodiff", "kernels"):
        out = np.asarray(call_case(MODULES[module], case, EMPTY_NET, theta, x, w))
        assert out.shape == shape, module
        assert out.dtype == np.float64, module
        assert np.all(out == 0), module


@pytest.mark.parametrize("module", ["kernels", "autodiff"])
def test_every_function_is_clean_under_rank_promotion_raise(module):
    """No implicit rank promotion inside the library (``jax_numpy_rank_promotion="raise"``).

    Only tracing is needed (``jax.eval_shape``): the check happens at trace time. The
    undecorated implementations are traced, so this test does not depend on whether the public
    jitted wrappers can be nested in another trace (test_jit.py checks that).
    """
    mod = RawModule(MODULES[module])
    net = nnpde.TwoLayerNet(2, (4, 3), "tanh")
    theta, x, w = make_inputs(net, 3)
    offenders = {}
    with jax.numpy_rank_promotion("raise"):
        for case in ALL_CASES:
            fn = functools.partial(call_case, mod, case, net)
            try:
                jax.eval_shape(fn, theta, x, w)
            except ValueError as err:
                if "rank_promotion" not in str(err):
                    raise
                offenders[case] = str(err).split(" and with the config")[0]
    assert not offenders, f"{module}: implicit rank promotion in {offenders}"


def test_vjps_are_named_after_their_operator_slot():
    """Sanity check of the test catalogue: each named VJP equals operator_vjp with its slot."""
    net = nnpde.TwoLayerNet(2, (4, 3), "tanh")
    theta, x, w = make_inputs(net, 4)
    for name, (slot, _) in VJPS.items():
        direct = getattr(nnpde.kernels, name)(net, theta, x, w[slot])
        via_operator = nnpde.kernels.operator_vjp(net, theta, x, **{slot: w[slot]})
        assert rel_err(direct, via_operator) <= F64_RTOL, name

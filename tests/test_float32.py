"""float32: kernels and autodiff twins agree to F32_RTOL and return float32."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F32_RTOL, rel_err
from kernel_cases import ALL_CASES, MODULES, Config, call_case, case_shape, evaluate, make_inputs

BOTH = (("kernels", None), ("autodiff", None))
CONFIGS = [Config("tanh", 2, 4, 7, 9, "float32"), Config("softplus", 3, 6, 5, 9, "float32")]
CASES = tuple(ALL_CASES)


@pytest.mark.parametrize(
    ("cfg", "case"),
    [pytest.param(cfg, case, id=f"{cfg.id}-{case}") for cfg in CONFIGS for case in CASES],
)
def test_float32_kernels_match_autodiff(cfg, case):
    res = evaluate(cfg, CASES, BOTH)
    k = res["kernels", None, case]
    a = res["autodiff", None, case]
    assert k.dtype == np.float32
    assert a.dtype == np.float32
    assert k.shape == a.shape == case_shape(case, cfg.net, cfg.points)
    assert np.all(np.isfinite(k))
    err = rel_err(k, a)
    assert err <= F32_RTOL, f"{case}: float32 relative error {err:.2e} > {F32_RTOL:.0e}"
    assert np.max(np.abs(a)) > 0


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c.id for c in CONFIGS])
def test_float32_kernels_are_accurate(cfg):
    """The float32 kernels against the float64 autodiff result for the same (rounded) inputs:
    the hand-written kernels are at least as accurate as F32_RTOL."""
    net = cfg.net
    theta, x, w = make_inputs(net, cfg.points, jnp.float32)
    up = {name: v.astype(jnp.float64) for name, v in w.items()}
    for case in ("laplacian_x", "hessian_x_theta", "laplacian_x_vjp"):
        k = call_case(MODULES["kernels"], case, net, theta, x, w)
        ref = call_case(
            MODULES["autodiff"], case, net, theta.astype(jnp.float64), x.astype(jnp.float64), up
        )
        assert k.dtype == jnp.float32
        assert rel_err(k, ref) <= F32_RTOL, case


def test_float32_init_and_inputs():
    cfg = CONFIGS[0]
    theta, x, w = make_inputs(cfg.net, 3, jnp.float32)
    assert theta.dtype == x.dtype == jnp.float32
    assert all(v.dtype == jnp.float32 for v in w.values())

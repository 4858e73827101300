"""Activations: closed-form derivatives vs jax.grad, float32 robustness, the registry, relu's
order limit, identity's zero Hessian."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F64_RTOL, rel_err
from kernel_cases import ALL_CASES, MODULES, call_case, case_order, make_inputs

import nnpde
from nnpde import Activation, get_activation, list_activations, register_activation
from nnpde.activations import MAX_ORDER

BUILTIN = ["identity", "relu", "sigmoid", "sin", "softplus", "tanh"]
_names = itertools.count()


@pytest.fixture(autouse=True)
def _restore_registry():
    """Removes activations registered by a test, so other test files see the built-ins only."""
    registry = getattr(nnpde.activations, "_REGISTRY", None)
    saved = dict(registry) if registry is not None else None
    yield
    if registry is not None:
        registry.clear()
        registry.update(saved)


def _unique(prefix: str) -> str:
    """A fresh registry name, so tests never collide with each other or with doctests."""
    return f"_test_{prefix}_{next(_names)}"


def _points(dtype=jnp.float64):
    # Many points including |z| up to 30 (saturated tanh/sigmoid, softplus ~ z); 0 is avoided
    # because relu's derivative is undefined there.
    z = np.concatenate(
        [np.linspace(-30, 30, 601), [-29.9, -17.3, -5.5, -1e-3, 1e-3, 0.77, 5.5, 17.3, 29.9]]
    )
    z = z[z != 0]
    return jnp.asarray(z, dtype)


def test_builtin_names_are_registered():
    assert set(BUILTIN) <= set(list_activations())
    assert list_activations() == sorted(list_activations())
    for name in BUILTIN:
        act = get_activation(name)
        assert isinstance(act, Activation)
        assert act.name == name
        assert get_activation(act) is act
    assert get_activation("relu").order == 1
    assert all(get_activation(n).order == MAX_ORDER for n in BUILTIN if n != "relu")
    assert MAX_ORDER >= 5  # θ-derivatives of fourth x-derivatives need f^(5)


@pytest.mark.parametrize("name", BUILTIN)
def test_closed_form_derivatives_match_autodiff(name):
    act = get_activation(name)
    z = _points()
    scalar = [act.f]
    for _ in range(3):
        scalar.append(jax.grad(scalar[-1]))
    reference = [jax.vmap(g)(z) for g in scalar]
    closed = [act.f(z), act.df(z), act.d2f(z), act.d3f(z)]
    from_up_to = act.up_to(z, act.order)
    assert len(from_up_to) == act.order + 1
    for n, (c, r) in enumerate(zip(closed, reference, strict=True)):
        assert c.shape == z.shape and c.dtype == jnp.float64, n
        np.testing.assert_allclose(
            np.asarray(c), np.asarray(r), rtol=1e-12, atol=1e-14, err_msg=f"{name} derivative {n}"
        )
    for n, (u, c) in enumerate(zip(from_up_to[:4], closed[: len(from_up_to)], strict=True)):
        np.testing.assert_allclose(
            np.asarray(u), np.asarray(c), rtol=1e-14, atol=0, err_msg=f"{name}.up_to derivative {n}"
        )
    # the callable form is f
    np.testing.assert_array_equal(np.asarray(act(z)), np.asarray(act.f(z)))


@pytest.mark.parametrize("name", [n for n in BUILTIN if n != "relu"])
def test_higher_derivatives_match_autodiff(name):
    """f^(4) .. f^(MAX_ORDER) (the polynomial closed forms) against nested jax.grad, and the
    ``higher`` callables agree with ``up_to``. Relative to max(1, |f^(n)|): the derivatives
    grow like n! (tanh^(6) reaches ~30)."""
    act = get_activation(name)
    z = _points()
    scalar = [act.f]
    for _ in range(MAX_ORDER):
        scalar.append(jax.grad(scalar[-1]))
    every = act.up_to(z, MAX_ORDER)
    assert len(every) == MAX_ORDER + 1 and len(act.higher) == MAX_ORDER - 3
    for n in range(4, MAX_ORDER + 1):
        ref = np.asarray(jax.vmap(scalar[n])(z))
        got = np.asarray(every[n])
        err = np.max(np.abs(got - ref) / np.maximum(1.0, np.abs(ref)))
        assert err <= 1e-12, (name, n, err)
        np.testing.assert_array_equal(np.asarray(act.higher[n - 4](z)), got)
    assert np.max(np.abs(np.asarray(every[5]))) > 0 or name == "identity"


def test_higher_order_of_a_registered_activation():
    """``higher`` raises the order a registered activation may be used to; without it the
    fourth-order kernels refuse it."""
    t = get_activation("tanh")
    name = _unique("tanh5")
    act = register_activation(name, jnp.tanh, t.df, t.d2f, t.d3f, order=5, higher=t.higher[:2])
    assert act.order == 5
    z = _points()
    np.testing.assert_array_equal(np.asarray(act.up_to(z, 5)[5]), np.asarray(t.up_to(z, 5)[5]))
    with pytest.raises(ValueError, match="order 6"):
        act.up_to(z, 6)
    with pytest.raises(ValueError, match=r"order must be 0\.\.4"):
        register_activation(_unique("bad"), jnp.tanh, t.df, t.d2f, t.d3f, order=5,
                            higher=t.higher[:1])  # fmt: skip
    with pytest.raises(TypeError, match=r"higher\[0\] must be callable"):
        register_activation(_unique("bad"), jnp.tanh, t.df, t.d2f, t.d3f, higher=(1.0,))


@pytest.mark.parametrize("name", BUILTIN)
def test_float32_extreme_inputs_stay_finite(name):
    act = get_activation(name)
    z = jnp.concatenate(
        [
            jnp.linspace(-1e4, 1e4, 2001, dtype=jnp.float32),
            jnp.asarray([-1e4, -88.8, -88.7, -50.0, 50.0, 88.7, 88.8, 1e4], jnp.float32),
        ]
    )
    outs = [act.f(z), act.df(z), act.d2f(z), act.d3f(z), *(g(z) for g in act.higher)]
    for n, out in enumerate(outs):
        assert out.dtype == jnp.float32, (name, n)
        bad = np.asarray(z)[~np.isfinite(np.asarray(out))]
        assert bad.size == 0, f"{name} derivative {n} not finite at z = {bad[:5]}"


def test_relu_up_to_refuses_second_order():
    relu = get_activation("relu")
    z = jnp.linspace(-1.0, 1.0, 4)
    assert len(relu.up_to(z, 1)) == 2
    with pytest.raises(ValueError, match="order 2"):
        relu.up_to(z, 2)
    with pytest.raises(ValueError, match="order 3"):
        relu.up_to(z, 3)


# ---- relu in the kernels -------------------------------------------------------------------------
RELU_NET = nnpde.TwoLayerNet(2, (4, 3), "relu")


@pytest.mark.parametrize("module", ["kernels", "autodiff"])
@pytest.mark.parametrize("case", [c for c in ALL_CASES if case_order(c) >= 2])
def test_relu_refuses_second_and_third_order(module, case):
    theta, x, w = make_inputs(RELU_NET, 3)
    order = case_order(case)
    with pytest.raises(ValueError, match=rf"order {order}.*'relu'|'relu'.*order {order}"):
        call_case(MODULES[module], case, RELU_NET, theta, x, w)


@pytest.mark.parametrize("case", ["value", "grad_theta", "grad_x", "value_vjp"])
def test_relu_first_order_kernels_match_autodiff(case):
    theta, x, w = make_inputs(RELU_NET, 7)
    k = call_case(nnpde.kernels, case, RELU_NET, theta, x, w)
    a = call_case(nnpde.autodiff, case, RELU_NET, theta, x, w)
    assert rel_err(k, a) <= F64_RTOL
    assert np.max(np.abs(np.asarray(a))) > 0


# ---- identity ------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["kernels", "autodiff"])
def test_identity_network_has_zero_hessian(module):
    mod = MODULES[module]
    net = nnpde.TwoLayerNet(3, (5, 4), "identity")
    theta, x, _ = make_inputs(net, 6)
    assert np.all(np.asarray(mod.hessian_x(net, theta, x)) == 0)
    assert np.all(np.asarray(mod.laplacian_x(net, theta, x)) == 0)
    assert np.all(np.asarray(mod.laplacian_x_theta(net, theta, x)) == 0)
    # ... while the gradient is the constant vᵀ wᵀ a at every point
    p = net.unpack(theta)
    grad = np.asarray(mod.grad_x(net, theta, x))
    want = np.asarray(p.v).T @ np.asarray(p.w).T @ np.asarray(p.a)
    assert np.max(np.abs(want)) > 0
    for row in grad:
        assert rel_err(row, want) <= F64_RTOL


# ---- user-registered activations -----------------------------------------------------------------
def _scaled_tanh():
    """f(z) = 2 tanh(z / 2) and its derivatives, t = tanh(z / 2)."""

    def t(z):
        return jnp.tanh(z / 2)

    return (
        lambda z: 2 * t(z),
        lambda z: 1 - t(z) ** 2,
        lambda z: -t(z) * (1 - t(z) ** 2),
        lambda z: 0.5 * (1 - t(z) ** 2) * (3 * t(z) ** 2 - 1),
    )


def _cube():
    return (
        lambda z: z**3,
        lambda z: 3 * z**2,
        lambda z: 6 * z,
        lambda z: 6 * jnp.ones_like(z),
    )


CUSTOM_CASES = [
    "hessian_x",
    "grad_x_theta",
    "laplacian_x_theta",
    "hessian_x_vjp",
    "operator_rows[value+grad+hessian+laplacian]",
]


@pytest.mark.parametrize("maker", [_scaled_tanh, _cube], ids=["scaled_tanh", "cube"])
def test_registered_activation_is_used_by_kernels(maker):
    name = _unique(maker.__name__.strip("_"))
    act = register_activation(name, *maker())
    assert isinstance(act, Activation)
    assert act.name == name and act.order == 3
    assert get_activation(name) is act
    assert name in list_activations()
    net = nnpde.TwoLayerNet(2, (4, 3), name)
    assert net.activation is act
    theta, x, w = make_inputs(net, 5)
    for case in CUSTOM_CASES:
        k = call_case(nnpde.kernels, case, net, theta, x, w)
        a = call_case(nnpde.autodiff, case, net, theta, x, w)
        assert rel_err(k, a) <= F64_RTOL, case
        assert np.max(np.abs(np.asarray(a))) > 0, case


def test_wrong_registered_derivative_is_caught_by_the_comparison():
    """The kernels use the registered f'' while autodiff differentiates f, so a wrong f'' makes
    them disagree: the kernel-vs-autodiff comparisons can fail."""
    f, df, _, d3f = _scaled_tanh()
    name = _unique("wrong_d2f")
    register_activation(name, f, df, lambda z: jnp.zeros_like(z), d3f)
    net = nnpde.TwoLayerNet(2, (4, 3), name)
    theta, x, _ = make_inputs(net, 5)
    k = nnpde.kernels.hessian_x(net, theta, x)
    a = nnpde.autodiff.hessian_x(net, theta, x)
    assert rel_err(k, a) > 1e-3


def test_registered_order_limits_the_kernels():
    f, df, d2f, d3f = _scaled_tanh()
    name = _unique("order2")
    act = register_activation(name, f, df, d2f, d3f, order=2)
    assert act.order == 2
    net = nnpde.TwoLayerNet(2, (4, 3), name)
    theta, x, _ = make_inputs(net, 4)
    k = nnpde.kernels.laplacian_x(net, theta, x)  # order 2: allowed
    assert rel_err(k, nnpde.autodiff.laplacian_x(net, theta, x)) <= F64_RTOL
    for mod in (nnpde.kernels, nnpde.autodiff):
        with pytest.raises(ValueError, match="order 3"):
            mod.laplacian_x_theta(net, theta, x)


def test_register_duplicate_name_needs_overwrite():
    f, df, d2f, d3f = _cube()
    name = _unique("dup")
    first = register_activation(name, f, df, d2f, d3f)
    with pytest.raises(ValueError, match=f"{name}.*already registered"):
        register_activation(name, *_scaled_tanh())
    assert get_activation(name) is first
    second = register_activation(name, *_scaled_tanh(), overwrite=True)
    assert get_activation(name) is second
    assert second is not first
    with pytest.raises(ValueError, match="already registered"):
        register_activation("tanh", f, df, d2f, d3f)


@pytest.mark.parametrize("slot", range(4))
def test_register_rejects_non_callables(slot):
    funcs = list(_cube())
    funcs[slot] = 3.0
    label = ("f", "df", "d2f", "d3f")[slot]
    name = _unique("noncallable")
    with pytest.raises(TypeError, match=rf"\b{label} must be callable"):
        register_activation(name, *funcs)
    assert name not in list_activations()


def test_register_rejects_bad_name_and_order():
    funcs = _cube()
    with pytest.raises(TypeError, match="name"):
        register_activation("", *funcs)
    with pytest.raises(TypeError, match="name"):
        register_activation(3, *funcs)
    name = _unique("badorder")
    with pytest.raises(ValueError, match="order"):
        register_activation(name, *funcs, order=4)
    assert name not in list_activations()


def test_get_activation_errors():
    with pytest.raises(ValueError, match="unknown activation 'no_such_activation'"):
        get_activation("no_such_activation")
    with pytest.raises(TypeError, match="activation"):
        get_activation(3)

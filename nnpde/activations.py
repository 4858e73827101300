"""Activation functions with closed-form derivatives f, f', f'', f'''.

The hand-written kernels need the activation and its first three derivatives at every
pre-activation (seed 000 uses f, f', f'', f''' in eqs. 2-6). Each activation here gives all
four in closed form, written so that nothing overflows for |z| >> 1 in float32 (sigmoid and
softplus go through ``jax.nn``'s stable forms and never form ``exp(z)`` of a large ``z``).

``Activation.order`` is the highest derivative that is a true (classical) derivative:
ReLU's f'' is a Dirac delta, not the 0 its formula would give, so ``relu`` has order 1 and
the kernels refuse to use it where f'' or f''' is needed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

Array = jax.Array
ActivationFn = Callable[[Array], Array]

__all__ = ["Activation", "get_activation", "list_activations", "register_activation"]


@dataclasses.dataclass(frozen=True, eq=True)
class Activation:
    """An activation f and its derivatives, all element-wise.

    Attributes:
      name: the name it is registered under.
      f, df, d2f, d3f: element-wise callables ``z -> f(z)``, ``f'(z)``, ``f''(z)``, ``f'''(z)``.
      order: the highest derivative order that is valid everywhere it matters (3 for smooth
        activations, 1 for ReLU). Kernels needing a higher order raise ``ValueError``.
      derivs: optional ``z -> (f, f', f'', f''')`` computing all four at once, sharing work
        (e.g. one ``tanh``); defaults to calling the four functions.

    Hashable (functions hash by identity), so a network holding one can be a static jit argument.
    """

    name: str
    f: ActivationFn = dataclasses.field(repr=False)
    df: ActivationFn = dataclasses.field(repr=False)
    d2f: ActivationFn = dataclasses.field(repr=False)
    d3f: ActivationFn = dataclasses.field(repr=False)
    order: int = 3
    derivs: Callable[[Array], tuple[Array, Array, Array, Array]] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    def __call__(self, z: Array) -> Array:
        return self.f(z)

    def up_to(self, z: Array, order: int) -> tuple[Array, ...]:
        """Returns ``(f(z), f'(z), ..., f^(order)(z))``; ``order`` in 0..3."""
        if order > self.order:
            raise ValueError(
                f"activation {self.name!r} has a valid derivative only up to order {self.order}, "
                f"but derivative order {order} is needed here (e.g. f'' for a second-order "
                "x-derivative); choose a smooth activation such as 'tanh'"
            )
        if self.derivs is not None:
            return self.derivs(z)[: order + 1]
        return tuple(g(z) for g in (self.f, self.df, self.d2f, self.d3f)[: order + 1])


def _tanh_derivs(z):
    t = jnp.tanh(z)
    d1 = 1 - t * t
    return t, d1, -2 * t * d1, -2 * d1 * (1 - 3 * t * t)


def _sigmoid_derivs(z):
    s, sm = jax.nn.sigmoid(z), jax.nn.sigmoid(-z)  # sm = 1 - s without cancellation
    d1 = s * sm
    return s, d1, d1 * (sm - s), d1 * ((sm - s) ** 2 - 2 * d1)


def _softplus_derivs(z):
    s, sm = jax.nn.sigmoid(z), jax.nn.sigmoid(-z)
    d2 = s * sm
    return jax.nn.softplus(z), s, d2, d2 * (sm - s)


def _sin_derivs(z):
    s, c = jnp.sin(z), jnp.cos(z)
    return s, c, -s, -c


def _identity_derivs(z):
    return z, jnp.ones_like(z), jnp.zeros_like(z), jnp.zeros_like(z)


def _relu_derivs(z):
    zero = jnp.zeros_like(z)
    return jnp.maximum(z, 0), (z > 0).astype(z.dtype), zero, zero


def _from_derivs(name: str, f, derivs, order: int = 3) -> Activation:
    # ``f`` is the plain function (what the autodiff twins differentiate); ``derivs`` the
    # closed forms the hand-written kernels use.
    return Activation(
        name=name,
        f=f,
        df=lambda z: derivs(z)[1],
        d2f=lambda z: derivs(z)[2],
        d3f=lambda z: derivs(z)[3],
        order=order,
        derivs=derivs,
    )


_REGISTRY: dict[str, Activation] = {
    "tanh": _from_derivs("tanh", jnp.tanh, _tanh_derivs),
    "sigmoid": _from_derivs("sigmoid", jax.nn.sigmoid, _sigmoid_derivs),
    "softplus": _from_derivs("softplus", jax.nn.softplus, _softplus_derivs),
    "sin": _from_derivs("sin", jnp.sin, _sin_derivs),
    "identity": _from_derivs("identity", lambda z: z, _identity_derivs),
    "relu": _from_derivs("relu", jax.nn.relu, _relu_derivs, order=1),
}


def register_activation(
    name: str,
    f: ActivationFn,
    df: ActivationFn,
    d2f: ActivationFn,
    d3f: ActivationFn,
    *,
    order: int = 3,
    overwrite: bool = False,
) -> Activation:
    """Registers a user activation by its four element-wise functions.

    Args:
      name: the name to use in ``TwoLayerNet(..., activation=name)``.
      f, df, d2f, d3f: ``f`` and its first three derivatives, each ``z -> array`` element-wise.
      order: highest valid derivative order (1..3); kernels needing more raise ``ValueError``.
      overwrite: allow replacing an existing name.

    Returns:
      The registered :class:`Activation`.

    Example:
      >>> import jax.numpy as jnp
      >>> act = register_activation("cube", lambda z: z**3, lambda z: 3 * z**2,
      ...                           lambda z: 6 * z, lambda z: 6 * jnp.ones_like(z),
      ...                           overwrite=True)
      >>> float(act.d2f(jnp.array(2.0)))
      12.0
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"activation name must be a non-empty str, got {name!r}")
    for label, g in (("f", f), ("df", df), ("d2f", d2f), ("d3f", d3f)):
        if not callable(g):
            raise TypeError(
                f"register_activation: {label} must be callable, got {type(g).__name__}"
            )
    if order not in (0, 1, 2, 3):
        raise ValueError(f"register_activation: order must be 0..3, got {order!r}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"activation {name!r} is already registered; pass overwrite=True")
    act = Activation(name=name, f=f, df=df, d2f=d2f, d3f=d3f, order=order)
    _REGISTRY[name] = act
    return act


def get_activation(activation: str | Activation) -> Activation:
    """Returns the :class:`Activation` for a registered name (or passes one through)."""
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be a name (str) or an Activation, got {type(activation).__name__}"
        )
    try:
        return _REGISTRY[activation]
    except KeyError:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {sorted(_REGISTRY)} "
            "or one added with nnpde.register_activation"
        ) from None


def list_activations() -> list[str]:
    """Names of all registered activations."""
    return sorted(_REGISTRY)

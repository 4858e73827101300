"""Activation functions with closed-form derivatives f, f', f'', f''', ..., f^(6).

The hand-written kernels need the activation and its derivatives at every pre-activation: up
to f''' for seed 000's eqs. 2-6, and up to f^(5) for the θ-derivatives of fourth
x-derivatives (:mod:`nnpde.taylor`). Each built-in smooth activation gives them in closed form
up to ``MAX_ORDER`` = 6, written so that nothing overflows for |z| >> 1 in float32 (sigmoid
and softplus go through ``jax.nn``'s stable forms and never form ``exp(z)`` of a large ``z``).

Beyond f''' the closed forms are polynomials. With t = tanh z and d/dz = (1 - t²) d/dt,

    tanh^(n) = (1 - t²) Q_n(t),   Q_1 = 1,   Q_{n+1} = -2t Q_n + (1 - t²) Q_n',

so Q_4 = -24t³ + 16t, Q_5 = 120t⁴ - 120t² + 16, Q_6 = -720t⁵ + 960t³ - 272t. The sigmoid is
σ(z) = (1 + tanh(z/2))/2, so σ^(n) = 2^(1-n) σ(1-σ) Q_n(σ - (1-σ)) with σ(1-σ) formed without
cancellation; softplus^(n) = σ^(n-1); sin^(n)(z) = sin(z + nπ/2).

``Activation.order`` is the highest derivative that is a true (classical) derivative:
ReLU's f'' is a Dirac delta, not the 0 its formula would give, so ``relu`` has order 1 and
the kernels refuse to use it where f'' or f''' is needed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
ActivationFn = Callable[[Array], Array]

__all__ = [
    "MAX_ORDER",
    "Activation",
    "get_activation",
    "list_activations",
    "register_activation",
]

#: The highest derivative order the built-in smooth activations give in closed form.
MAX_ORDER = 6


@dataclasses.dataclass(frozen=True, eq=True)
class Activation:
    """An activation f and its derivatives, all element-wise.

    Attributes:
      name: the name it is registered under.
      f, df, d2f, d3f: element-wise callables ``z -> f(z)``, ``f'(z)``, ``f''(z)``, ``f'''(z)``.
      order: the highest derivative order that is valid everywhere it matters (``MAX_ORDER``
        for the smooth built-ins, 1 for ReLU, 3 by default for a registered activation).
        Kernels needing a higher order raise ``ValueError``.
      derivs: optional ``(z, n) -> (f, f', ..., f^(n))`` (n >= 3; at least n + 1 entries)
        computing them at once, sharing work (e.g. one ``tanh``); defaults to calling the
        functions one by one.
      higher: element-wise callables for f^(4), f^(5), ... (``order`` is at most
        3 + len(higher) when there is no ``derivs``); the fourth-order kernels of
        :mod:`nnpde.taylor` need them.

    Hashable (functions hash by identity), so a network holding one can be a static jit argument.
    """

    name: str
    f: ActivationFn = dataclasses.field(repr=False)
    df: ActivationFn = dataclasses.field(repr=False)
    d2f: ActivationFn = dataclasses.field(repr=False)
    d3f: ActivationFn = dataclasses.field(repr=False)
    order: int = 3
    derivs: Callable[..., tuple[Array, ...]] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )
    higher: tuple[ActivationFn, ...] = dataclasses.field(default=(), repr=False)

    def __call__(self, z: Array) -> Array:
        return self.f(z)

    def up_to(self, z: Array, order: int) -> tuple[Array, ...]:
        """Returns ``(f(z), f'(z), ..., f^(order)(z))``; ``order`` in 0..``self.order``."""
        if order > self.order:
            raise ValueError(
                f"activation {self.name!r} has a valid derivative only up to order {self.order}, "
                f"but derivative order {order} is needed here (e.g. f'' for a second-order "
                "x-derivative); choose a smooth activation such as 'tanh'"
            )
        if self.derivs is not None:
            return tuple(self.derivs(z, max(order, 3)))[: order + 1]
        fns = (self.f, self.df, self.d2f, self.d3f) + tuple(self.higher)
        return tuple(g(z) for g in fns[: order + 1])


# ---- closed forms ---------------------------------------------------------------------------
def _poly_q(n: int) -> np.ndarray:
    """Integer coefficients (lowest degree first) of Q_n, tanh^(n) = (1 - t²) Q_n(t), n >= 1."""
    P = np.polynomial.polynomial
    q = np.array([1.0])
    for _ in range(n - 1):
        q = P.polyadd(P.polymul([0.0, -2.0], q), P.polymul([1.0, 0.0, -1.0], P.polyder(q)))
    return q


_Q = {n: _poly_q(n) for n in range(1, MAX_ORDER + 1)}


def _horner(coeffs: np.ndarray, t: Array) -> Array:
    out = jnp.full_like(t, float(coeffs[-1]))
    for c in coeffs[-2::-1]:
        out = out * t + float(c)
    return out


def _poly_derivs(t: Array, d1: Array, scale: float, order: int) -> list:
    """scale^(n-1) d1 Q_n(t) for n = 4..order: tanh^(n) (t = tanh z, d1 = 1 - t², scale 1) or,
    through σ^(n) = 2^(1-n) σ(1-σ) Q_n(2σ - 1), the sigmoid's (d1 = σ(1-σ), scale 1/2)."""
    return [scale ** (n - 1) * d1 * _horner(_Q[n], t) for n in range(4, order + 1)]


# Each ``*_derivs(z, order)`` returns (f, f', ..., f^(order)) with order >= 3 (callers slice);
# the first four are the forms the seed-000 kernels have always used, the rest polynomials.
def _tanh_derivs(z, order=3):
    t = jnp.tanh(z)
    d1 = 1 - t * t
    return (t, d1, -2 * t * d1, -2 * d1 * (1 - 3 * t * t), *_poly_derivs(t, d1, 1.0, order))


def _sigmoid_derivs(z, order=3):
    s, sm = jax.nn.sigmoid(z), jax.nn.sigmoid(-z)  # sm = 1 - s without cancellation
    d1 = s * sm
    low = (s, d1, d1 * (sm - s), d1 * ((sm - s) ** 2 - 2 * d1))
    return low + tuple(_poly_derivs(s - sm, d1, 0.5, order))


def _softplus_derivs(z, order=3):
    return (jax.nn.softplus(z),) + _sigmoid_derivs(z, max(order - 1, 3))[:order]


def _sin_derivs(z, order=3):
    s, c = jnp.sin(z), jnp.cos(z)
    return tuple((s, c, -s, -c)[n % 4] for n in range(order + 1))


def _identity_derivs(z, order=3):
    zero = jnp.zeros_like(z)
    return (z, jnp.ones_like(z)) + (zero,) * (order - 1)


def _relu_derivs(z, order=3):
    zero = jnp.zeros_like(z)
    return (jnp.maximum(z, 0), (z > 0).astype(z.dtype)) + (zero,) * (order - 1)


def _from_derivs(name: str, f, derivs, order: int = MAX_ORDER) -> Activation:
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
        higher=tuple((lambda z, n=n: derivs(z, n)[n]) for n in range(4, MAX_ORDER + 1)),
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
    higher: tuple = (),
    overwrite: bool = False,
) -> Activation:
    """Registers a user activation by its element-wise derivatives.

    Args:
      name: the name to use in ``TwoLayerNet(..., activation=name)``.
      f, df, d2f, d3f: ``f`` and its first three derivatives, each ``z -> array`` element-wise.
      order: highest valid derivative order, 0..3 + len(higher); kernels needing more raise
        ``ValueError``.
      higher: f^(4), f^(5), ... as element-wise callables, for the fourth-order kernels of
        :mod:`nnpde.taylor` (the θ-derivatives of a fourth x-derivative need f^(5)).
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
    if not isinstance(higher, (tuple, list)):
        raise TypeError(
            f"register_activation: higher must be a tuple of callables, got {type(higher).__name__}"
        )
    labels = ["f", "df", "d2f", "d3f"] + [f"higher[{i}]" for i in range(len(higher))]
    for label, g in zip(labels, (f, df, d2f, d3f, *higher)):
        if not callable(g):
            raise TypeError(
                f"register_activation: {label} must be callable, got {type(g).__name__}"
            )
    top = 3 + len(higher)
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= top:
        raise ValueError(
            f"register_activation: order must be 0..{top} (3 + len(higher)), got {order!r}"
        )
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"activation {name!r} is already registered; pass overwrite=True")
    act = Activation(name=name, f=f, df=df, d2f=d2f, d3f=d3f, order=order, higher=tuple(higher))
    _REGISTRY[name] = act
    return act


def require_order(activation, need: int, reads: str) -> None:
    """Refuses an activation whose closed-form derivatives stop below order ``need``, the order
    the θ-derivatives of what the equation ``reads`` (a phrase for the message) require."""
    act = get_activation(activation)
    if act.order < need:
        raise ValueError(
            f"{reads}; the θ-derivatives need the activation's derivative of order {need}, but "
            f"{act.name!r} is valid only up to order {act.order}; use a smooth activation such "
            f"as 'tanh'"
        )


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

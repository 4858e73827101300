"""The two-hidden-layer network of seed 000 and its flat parameter layout (eq. 7).

    N(x, θ) = Σ_j a_j f(A2_j),  A2_j = Σ_k w_jk f(A1_k) + c_j,  A1_k = Σ_l v_kl x_l + b_k   (1a-c)

with j = 1..M2 (second hidden layer), k = 1..M1 (first hidden layer), l = 1..D (inputs).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnpde.activations import Activation, get_activation

Array = jax.Array

__all__ = ["Params", "TwoLayerNet"]


def _is_size(n) -> bool:
    """A positive int (numpy ints too; bools are not sizes)."""
    return isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) and n >= 1


_FLOAT_DTYPES = tuple(jnp.dtype(t) for t in (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64))


def _check_key(key, where: str) -> None:
    """One PRNG key: a typed key of shape () or legacy raw uint32 key data (shape (2,))."""
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key) and shape == ():
        return
    if dtype == jnp.uint32 and shape is not None and len(shape) == 1:  # raw key data
        return
    got = f"{type(key).__name__} of shape {shape} and dtype {dtype}" if dtype else repr(key)
    raise TypeError(f"{where}: key must be one PRNG key, e.g. jax.random.key(0), got {got}")


class Params(NamedTuple):
    """Readable view of θ (seed 000, eq. 7a-e); ``TwoLayerNet.unpack`` / ``pack`` convert."""

    a: Array  # shape=(M2,)      output weights              (7a)
    w: Array  # shape=(M2, M1)   layer-2 weights, w[j, k]    (7b)
    c: Array  # shape=(M2,)      layer-2 biases              (7c)
    v: Array  # shape=(M1, D)    layer-1 weights, v[k, l]    (7d)
    b: Array  # shape=(M1,)      layer-1 biases              (7e)


@dataclasses.dataclass(frozen=True)
class TwoLayerNet:
    """Static spec of N(x, θ) with D inputs, hidden widths (M1, M2) and one output.

    Frozen and hashable: pass it as a static argument of ``jax.jit``. It holds no arrays; the
    parameters are a flat vector θ of length ``num_params`` = M1(1 + D + M2) + 2 M2 laid out as
    seed 000 eq. 7: ``a`` (M2), then ``w`` row by row (M2 x M1), then ``c`` (M2), then ``v`` row
    by row (M1 x D), then ``b`` (M1).

    Args:
      dim: D, the number of inputs (>= 1).
      hidden: (M1, M2), widths of the first and second hidden layers (each >= 1).
      activation: a registered name (``nnpde.list_activations()``) or an ``Activation``.

    Example:
      >>> import jax
      >>> net = TwoLayerNet(2, (10, 10), "tanh")
      >>> net.num_params
      150
      >>> theta = net.init(jax.random.key(0))
      >>> theta.shape
      (150,)
    """

    dim: int
    hidden: tuple[int, int] = (32, 32)
    activation: Activation | str = "tanh"

    def __post_init__(self):
        if not _is_size(self.dim):
            raise ValueError(f"TwoLayerNet: dim must be a positive int, got {self.dim!r}")
        hidden = tuple(self.hidden) if isinstance(self.hidden, (tuple, list)) else None
        if hidden is None or len(hidden) != 2 or not all(_is_size(m) for m in hidden):
            raise ValueError(
                f"TwoLayerNet: hidden must be two positive ints (M1, M2), got {self.hidden!r}"
            )
        # numpy ints become Python ints, so equal specs hash equal (one jit cache entry).
        object.__setattr__(self, "dim", int(self.dim))
        object.__setattr__(self, "hidden", tuple(int(m) for m in hidden))
        object.__setattr__(self, "activation", get_activation(self.activation))

    def __repr__(self) -> str:
        return (
            f"TwoLayerNet(dim={self.dim}, hidden={self.hidden}, "
            f"activation={self.activation.name!r})"
        )

    # ---- sizes ------------------------------------------------------------------------------
    @property
    def m1(self) -> int:
        """M1, the width of the first hidden layer."""
        return self.hidden[0]

    @property
    def m2(self) -> int:
        """M2, the width of the second hidden layer."""
        return self.hidden[1]

    @property
    def num_params(self) -> int:
        """NT = M1(1 + D + M2) + 2 M2 (seed 000, after eq. 7)."""
        return self.m1 * (1 + self.dim + self.m2) + 2 * self.m2

    @property
    def offsets(self) -> Params:
        """0-based start index of each block of θ: a, w, c, v, b (seed 000 eq. 7a-e)."""
        m1, m2, d = self.m1, self.m2, self.dim
        return Params(a=0, w=m2, c=m2 + m1 * m2, v=2 * m2 + m1 * m2, b=2 * m2 + m1 * m2 + m1 * d)

    @property
    def shapes(self) -> Params:
        """Shapes of the blocks of θ."""
        m1, m2, d = self.m1, self.m2, self.dim
        return Params(a=(m2,), w=(m2, m1), c=(m2,), v=(m1, d), b=(m1,))

    # ---- parameters -------------------------------------------------------------------------
    def unpack(self, theta: Array) -> Params:
        """Splits θ (..., NT) into ``Params`` (eq. 7; leading batch axes are kept).

        With 1-based seed indices: a_j = θ_j, w_jk = θ_{M2 + M1(j-1) + k},
        c_j = θ_{M2 + M1 M2 + j}, v_kl = θ_{2 M2 + M1 M2 + D(k-1) + l},
        b_k = θ_{2 M2 + M1 M2 + M1 D + k}.
        """
        theta = jnp.asarray(theta)
        if theta.ndim < 1 or theta.shape[-1] != self.num_params:
            raise ValueError(
                f"theta must have shape (..., {self.num_params}) for {self!r}, "
                f"got shape {tuple(theta.shape)}"
            )
        batch = theta.shape[:-1]
        parts = []
        for start, shape in zip(self.offsets, self.shapes):
            size = math.prod(shape)
            parts.append(theta[..., start : start + size].reshape(batch + shape))
        return Params(*parts)

    def pack(self, params: Params) -> Array:
        """Inverse of ``unpack``: concatenates (a, w, c, v, b) into θ (..., NT)."""
        if len(params) != 5:
            raise ValueError(f"params must hold 5 arrays (a, w, c, v, b), got {len(params)}")
        params = Params(*(jnp.asarray(p) for p in params))
        batch = params.a.shape[:-1]
        for name, p, shape in zip(Params._fields, params, self.shapes):
            if p.shape != batch + shape:
                raise ValueError(
                    f"params.{name} must have shape {batch + shape}, got {tuple(p.shape)}"
                )
        flat = [p.reshape(batch + (math.prod(s),)) for p, s in zip(params, self.shapes)]
        return jnp.concatenate(flat, axis=-1)

    def init(self, key: Array, dtype=None) -> Array:
        """Random θ (NT,): LeCun-normal weights, PyTorch-style uniform biases.

        Weights into a layer with fan-in n are N(0, 1/n) (LeCun normal: v with n = D, w with
        n = M1, a with n = M2), so pre-activations stay O(1) for O(1) inputs; biases are
        U(-1/sqrt(n), 1/sqrt(n)) (the ``torch.nn.Linear`` default), so the first-layer
        hyperplanes do not all pass through the origin.

        Args:
          key: a ``jax.random`` key.
          dtype: float dtype; default float32, or float64 when ``jax_enable_x64`` is on.

        Raises:
          TypeError: ``key`` is not one PRNG key, or ``dtype`` is not float16, bfloat16,
            float32 or float64.
        """
        try:
            dtype = jnp.zeros((), dtype if dtype is not None else float).dtype
        except TypeError as err:
            raise TypeError(f"TwoLayerNet.init: dtype {dtype!r} is not a dtype ({err})") from None
        if dtype not in _FLOAT_DTYPES:
            raise TypeError(
                "TwoLayerNet.init: dtype must be float16, bfloat16, float32 or float64, "
                f"got {dtype}"
            )
        _check_key(key, "TwoLayerNet.init")
        ka, kw, kc, kv, kb = jax.random.split(key, 5)
        m1, m2, d = self.m1, self.m2, self.dim

        def normal(k, shape, fan_in):
            return jax.random.normal(k, shape, dtype) / math.sqrt(fan_in)

        def uniform(k, shape, fan_in):
            bound = 1 / math.sqrt(fan_in)
            return jax.random.uniform(k, shape, dtype, -bound, bound)

        return self.pack(
            Params(
                a=normal(ka, (m2,), m2),
                w=normal(kw, (m2, m1), m1),
                c=uniform(kc, (m2,), m1),
                v=normal(kv, (m1, d), d),
                b=uniform(kb, (m1,), d),
            )
        )

    def apply(self, theta: Array, x: Array) -> Array:
        """N(x, θ) at ONE point x (D,) -> scalar, by eq. 1 (the reference for autodiff)."""
        p = self.unpack(theta)
        f = self.activation.f
        o1 = f(p.v @ x + p.b)
        o2 = f(p.w @ o1 + p.c)
        return p.a @ o2

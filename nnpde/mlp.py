"""A fully connected network of any depth K (seeds 001, 003, 004) and its flat parameter view.

With sizes (N0, N1, ..., NK), samples in rows (x of shape (P, N0)) and layer k = 1..K,

    A⁰ = x,   Zᵏ = Aᵏ⁻¹ Wᵏᵀ + bᵏ,   Aᵏ = f(Zᵏ) (k < K),   Aᴷ = out(Zᴷ)

which is seed 001 eqs. (6)-(10) and seed 004 eqs. (42)-(43) with the sample index in rows
(seed 001 keeps samples in columns, Z = W A + b; seed 003 keeps them in rows but stores the
transposed Wᵀ). Wᵏ has shape (N_k, N_{k-1}) and bᵏ shape (N_k,), as in seed 001. ``out`` is
the identity (regression), softmax (classification, seed 001 eq. 10) or any registered
element-wise activation (seed 004 uses the sigmoid on every layer).

The parameters are a tuple of K pairs ``(W, b)``; ``ravel`` / ``unravel`` convert to one flat
vector θ (NT,) in layer order, each layer's W row by row then its b, so that the flat-vector
solvers and Levenberg-Marquardt can use the network. Hand-written gradients are in
:mod:`nnpde.backprop`, their autodiff twins in :mod:`nnpde.autodiff`.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from nnpde.activations import Activation, get_activation
from nnpde.network import Params, TwoLayerNet

Array = jax.Array
Layer = tuple[Array, Array]  # (W (N_k, N_{k-1}), b (N_k,))
MLPParams = tuple[Layer, ...]  # K layers, first to last

__all__ = ["MLP", "MLPParams"]

SOFTMAX = "softmax"


def _registered(act: Activation) -> bool:
    try:
        return get_activation(act.name) == act
    except ValueError:
        return False


def _is_size(n) -> bool:
    return isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) and n >= 1


@dataclasses.dataclass(frozen=True)
class MLP:
    """Static spec of a K-layer perceptron with sizes (N0, ..., NK); holds no arrays.

    Frozen and hashable: pass it as a static argument of ``jax.jit``.

    Args:
      sizes: (N0, N1, ..., NK), the input width, the hidden widths and the output width; at
        least two entries (K = len(sizes) - 1 >= 1 layers), each a positive int.
      activation: f of the hidden layers 1..K-1, a registered name
        (``nnpde.list_activations()``) or an ``Activation``.
      output: the last layer's function: ``"identity"`` (default), ``"softmax"`` (rows of
        Aᴷ are probabilities; needs NK >= 2) or another registered element-wise activation
        (or an ``Activation``). Stored as its name when it is registered under that name.

    Raises:
      ValueError: fewer than two sizes, a size that is not a positive int, an unknown
        activation or output.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> net = MLP((2, 8, 8, 3), "tanh", output="softmax")
      >>> net.num_layers, net.num_params
      (3, 123)
      >>> params = net.init(jax.random.key(0))
      >>> [w.shape for w, b in params]
      [(8, 2), (8, 8), (3, 8)]
      >>> a = net.apply(params, jnp.ones((5, 2), params[0][0].dtype))
      >>> a.shape, bool(jnp.allclose(a.sum(axis=1), 1.0))
      ((5, 3), True)
      >>> net.unravel(net.ravel(params))[2][1].shape
      (3,)
    """

    sizes: tuple[int, ...]
    activation: Activation | str = "tanh"
    output: Activation | str = "identity"

    def __post_init__(self):
        sizes = tuple(self.sizes) if isinstance(self.sizes, (tuple, list)) else None
        if sizes is None or len(sizes) < 2:
            raise ValueError(
                "MLP: sizes must be a tuple (N0, N1, ..., NK) of at least two positive ints "
                f"(K = len(sizes) - 1 >= 1 layers), got {self.sizes!r}"
            )
        bad = [n for n in sizes if not _is_size(n)]
        if bad:
            raise ValueError(f"MLP: every size must be a positive int, got {bad[0]!r} in {sizes}")
        object.__setattr__(self, "sizes", tuple(int(n) for n in sizes))
        object.__setattr__(self, "activation", get_activation(self.activation))
        output = self.output
        if output != SOFTMAX:
            try:
                act = get_activation(output)
            except (TypeError, ValueError) as err:
                raise type(err)(
                    f"MLP: unknown output {self.output!r}; expected 'identity', 'softmax' or a "
                    f"registered activation ({err})"
                ) from None
            # Keep the name when it is the registered activation (so ``net.output == "identity"``
            # reads naturally); an unregistered Activation object is kept as it is.
            registered = isinstance(output, str) or _registered(act)
            output = act.name if registered else act
        elif sizes[-1] < 2:
            raise ValueError(
                f"MLP: output='softmax' needs at least 2 outputs (NK >= 2), got sizes {sizes}"
            )
        object.__setattr__(self, "output", output)

    def __repr__(self) -> str:
        return (
            f"MLP(sizes={self.sizes}, activation={self.activation.name!r}, "
            f"output={self.output_name!r})"
        )

    # ---- sizes ------------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        """K, the number of weight layers (hidden layers + 1)."""
        return len(self.sizes) - 1

    @property
    def in_dim(self) -> int:
        """N0, the number of inputs."""
        return self.sizes[0]

    @property
    def out_dim(self) -> int:
        """NK, the number of outputs."""
        return self.sizes[-1]

    @property
    def output_name(self) -> str:
        """``"softmax"`` or the name of the element-wise output activation."""
        return self.output if isinstance(self.output, str) else self.output.name

    @property
    def output_activation(self) -> Activation | None:
        """The element-wise output :class:`~nnpde.Activation`; None for softmax."""
        if self.output == SOFTMAX:
            return None
        return get_activation(self.output)

    @property
    def shapes(self) -> tuple[tuple[tuple[int, int], tuple[int]], ...]:
        """((N_k, N_{k-1}), (N_k,)) for each layer k = 1..K."""
        return tuple(((n, m), (n,)) for m, n in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def num_params(self) -> int:
        """NT = Σ_k N_k (N_{k-1} + 1)."""
        return sum(n * (m + 1) for m, n in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def offsets(self) -> tuple[tuple[int, int], ...]:
        """0-based start in θ of each layer's W and b (the ``ravel`` layout)."""
        out, start = [], 0
        for (n, m), _ in self.shapes:
            out.append((start, start + n * m))
            start += n * (m + 1)
        return tuple(out)

    # ---- parameters -------------------------------------------------------------------------
    def check_params(self, params, where: str = "MLP") -> MLPParams:
        """Validates a parameter tree and returns it as a tuple of (W, b) array pairs.

        Args:
          params: K pairs ``(W, b)`` (tuples or lists) of floating-point arrays (jax or numpy)
            with W (N_k, N_{k-1}) and b (N_k,), all of one dtype.
          where: the function name to put in error messages.

        Raises:
          TypeError: not a sequence of pairs, a leaf that is not an array, a non-float dtype
            or mixed dtypes.
          ValueError: wrong number of layers or a wrong shape.
        """
        k = self.num_layers
        if not isinstance(params, (tuple, list)):
            raise TypeError(
                f"{where}: params must be a tuple of {k} (W, b) pairs for {self!r}, "
                f"got {type(params).__name__}"
                + ("; a flat θ goes through net.unravel(theta)" if hasattr(params, "shape") else "")
            )
        if len(params) != k:
            raise ValueError(
                f"{where}: params must hold {k} (W, b) pairs (one per layer) for {self!r}, "
                f"got {len(params)}"
            )
        out, dtype = [], None
        for i, (layer, shapes) in enumerate(zip(params, self.shapes), start=1):
            if not isinstance(layer, (tuple, list)) or len(layer) != 2:
                raise TypeError(
                    f"{where}: params[{i - 1}] (layer {i}) must be a pair (W, b), got "
                    f"{type(layer).__name__}"
                    + (f" of length {len(layer)}" if isinstance(layer, (tuple, list)) else "")
                )
            pair = []
            for name, arr, shape in zip(("W", "b"), layer, shapes):
                label = f"params[{i - 1}] {name} (layer {i})"
                if not isinstance(arr, (jax.Array, np.ndarray)):
                    raise TypeError(
                        f"{where}: {label} must be a jax or numpy array, got {type(arr).__name__}"
                    )
                if not jnp.issubdtype(arr.dtype, jnp.floating):
                    raise TypeError(f"{where}: {label} must be floating point, got {arr.dtype}")
                if tuple(arr.shape) != shape:
                    raise ValueError(
                        f"{where}: {label} must have shape {shape} for sizes {self.sizes}, "
                        f"got {tuple(arr.shape)}"
                    )
                if dtype is None:
                    dtype = arr.dtype
                elif arr.dtype != dtype:
                    raise TypeError(
                        f"{where}: all parameters must have one dtype; {label} has {arr.dtype} "
                        f"but params[0] W has {dtype}"
                    )
                pair.append(jnp.asarray(arr))
            out.append(tuple(pair))
        return tuple(out)

    def check_x(self, x, dtype, where: str = "MLP") -> tuple[Array, bool]:
        """Validates inputs x (P, N0) or (N0,); returns (x as (P, N0), whether it was 1-D)."""
        if not isinstance(x, (jax.Array, np.ndarray)):
            x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(f"{where}: x must be a floating-point array, got dtype {x.dtype}")
        if x.dtype != dtype:
            raise TypeError(
                f"{where}: x and params must have the same dtype, got x {x.dtype} and params "
                f"{dtype}; cast one of them (e.g. x.astype({str(dtype)!r}))"
            )
        single = x.ndim == 1
        if x.ndim not in (1, 2) or x.shape[-1] != self.in_dim:
            raise ValueError(
                f"{where}: x must have shape (P, {self.in_dim}) (a batch of samples) or "
                f"({self.in_dim},) (one sample) for N0 = {self.in_dim}, got {tuple(x.shape)}"
            )
        x = jnp.asarray(x)
        return (x[None, :] if single else x), single

    def init(self, key: Array, dtype=None) -> MLPParams:
        """Random parameters: LeCun-normal weights, PyTorch-style uniform biases.

        Wᵏ ~ N(0, 1/N_{k-1}) (LeCun normal, fan-in N_{k-1}) and bᵏ ~ U(±1/√N_{k-1}) (the
        ``torch.nn.Linear`` default), as :meth:`nnpde.TwoLayerNet.init`.

        Args:
          key: a ``jax.random`` key.
          dtype: float dtype; default float32, or float64 when ``jax_enable_x64`` is on.

        Returns:
          K pairs (W (N_k, N_{k-1}), b (N_k,)).
        """
        dtype = jnp.zeros((), dtype if dtype is not None else float).dtype
        params = []
        for k, ((n, m), _) in zip(jax.random.split(key, self.num_layers), self.shapes):
            kw, kb = jax.random.split(k)
            bound = 1 / math.sqrt(m)
            w = jax.random.normal(kw, (n, m), dtype) / math.sqrt(m)
            b = jax.random.uniform(kb, (n,), dtype, -bound, bound)
            params.append((w, b))
        return tuple(params)

    def ravel(self, params) -> Array:
        """Flat θ (NT,): layer 1..K, each W row by row (N_k x N_{k-1}) then b (N_k)."""
        params = self.check_params(params, "MLP.ravel")
        return jnp.concatenate([part for w, b in params for part in (w.reshape(-1), b)])

    def unravel(self, theta) -> MLPParams:
        """Inverse of :meth:`ravel`: θ (NT,) -> K pairs (W, b)."""
        theta = jnp.asarray(theta)
        if theta.shape != (self.num_params,):
            raise ValueError(
                f"MLP.unravel: theta must have shape ({self.num_params},) = (num_params,) for "
                f"{self!r}, got {tuple(theta.shape)}"
            )
        return tuple(
            (theta[s : s + n * m].reshape(n, m), theta[t : t + n])
            for ((n, m), _), (s, t) in zip(self.shapes, self.offsets)
        )

    # ---- evaluation -------------------------------------------------------------------------
    def logits(self, params, x) -> Array:
        """Zᴷ, the last layer's pre-activation: (P, NK) for x (P, N0), (NK,) for x (N0,)."""
        params = self.check_params(params, "MLP.logits")
        x2, single = self.check_x(x, params[0][0].dtype, "MLP.logits")
        a = x2
        for k, (w, b) in enumerate(params, start=1):
            z = a @ w.T + b[None, :]
            if k < self.num_layers:
                a = self.activation.f(z)
        return z[0] if single else z

    def apply(self, params, x) -> Array:
        """Aᴷ = out(Zᴷ): (P, NK) for x (P, N0), (NK,) for x (N0,) (seed 001 eqs. 6-10)."""
        z = self.logits(params, x)
        if self.output == SOFTMAX:
            return jax.nn.softmax(z, axis=-1)
        return self.output_activation.f(z)

    # ---- seed 000's network as an MLP -------------------------------------------------------
    @classmethod
    def from_two_layer(cls, net: TwoLayerNet, theta) -> tuple[MLP, MLPParams]:
        """The :class:`~nnpde.TwoLayerNet` N(x, θ) of seed 000 as an MLP (D, M1, M2, 1).

        N = Σ_j a_j f(Σ_k w_jk f(Σ_l v_kl x_l + b_k) + c_j) is the MLP with W¹ = v, b¹ = b,
        W² = w, b² = c, W³ = aᵀ (1, M2), b³ = 0 and identity output; seed 002's network
        (sigmoid, no biases, linear output wᵀz) is the case b = c = 0.

        Returns:
          (mlp, params) with ``mlp.apply(params, x)[:, 0] == kernels.value(net, theta, x)``.

        Example:
          >>> import jax, nnpde
          >>> net = nnpde.TwoLayerNet(2, (4, 3), "sigmoid")
          >>> mlp, params = MLP.from_two_layer(net, net.init(jax.random.key(0)))
          >>> mlp
          MLP(sizes=(2, 4, 3, 1), activation='sigmoid', output='identity')
        """
        if not isinstance(net, TwoLayerNet):
            raise TypeError(f"MLP.from_two_layer: net must be a TwoLayerNet, got {net!r}")
        p = net.unpack(theta)
        if p.a.ndim != 1:
            raise ValueError(
                f"MLP.from_two_layer: theta must have shape ({net.num_params},), "
                f"got {tuple(jnp.shape(theta))}"
            )
        mlp = cls((net.dim, net.m1, net.m2, 1), net.activation, "identity")
        return mlp, ((p.v, p.b), (p.w, p.c), (p.a[None, :], jnp.zeros((1,), p.a.dtype)))

    def two_layer_theta(self, params) -> Array:
        """Inverse of :meth:`from_two_layer`: θ (NT,) of ``TwoLayerNet(N0, (N1, N2))``.

        The output bias b³ is dropped (``from_two_layer`` sets it to 0). Applied to a gradient
        tree of this MLP it gives the gradient with respect to θ in seed 000's eq. 7 layout.
        """
        if len(self.sizes) != 4 or self.out_dim != 1 or self.output_name != "identity":
            raise ValueError(
                f"MLP.two_layer_theta needs sizes (D, M1, M2, 1) with identity output, got {self!r}"
            )
        (v, b), (w, c), (a, _) = self.check_params(params, "MLP.two_layer_theta")
        net = TwoLayerNet(self.in_dim, (self.sizes[1], self.sizes[2]), self.activation)
        return net.pack(Params(a=a[0], w=w, c=c, v=v, b=b))

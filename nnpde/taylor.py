"""Mixed partial x-derivatives of the two-layer network up to fourth order, and their θ-adjoints.

Extends seed 000 (eqs. 3d, 4, 5, 6: first and second x-derivatives and their θ-derivatives) to
any mixed partial ∂^α N = ∂^n N / ∂x_{i_1} ... ∂x_{i_n} of order n <= 4, e.g. α = (0, 0, 0, 0)
(u'''' in 1-D), (0, 0, 1, 1) (∂⁴/∂x²∂y²) or (0, 0, 0) (u'''). Seed symbols: A1 = v x + b
(M1), O1 = f(A1), A2 = w O1 + c (M2), N = a·f(A2) (eqs. 1a-c); f1^(n) = f^(n)(A1),
f2^(n) = f^(n)(A2).

Why direct multivariate Faà di Bruno (and not polarization of directional jets): x enters
only through A1, which is affine in x, so every partial of the first layer is one term,

    ∂_B O1 = f1^(|B|) ⊙ v_B,      v_B = Π_{i ∈ B} v_:i   (element-wise over the M1 neurons)

for a sub-multiset B of α's axes; the second layer's pre-activation is linear in O1, so
∂_B A2 = w ∂_B O1 =: Z_B, one column of ONE matrix product Z = w X with the stack
X = [O1, ∂_B O1 ...] (M1, S) over the S distinct sub-multisets B of the requested partials.
The output layer then needs the multivariate chain rule (Faà di Bruno) for one composition,

    ∂^α f(A2) = Σ_{π ∈ Π(α)} f2^(|π|) Π_{B ∈ π} Z_B,     ∂^α N = a · ∂^α f(A2),

a sum over the set partitions π of α's positions (Bell numbers: 1, 2, 5, 15 terms for n = 1..4,
fewer after grouping equal products). This is exact (no cancellation between directions) and
cheapest: the dominant cost, the (M2 x M1) product, is paid once per distinct sub-multiset,
e.g. S = 13 columns (with O1) for the biharmonic's three partials ∂⁴x, ∂²x∂²y, ∂⁴y at D = 2,
where polarization needs the order-1..4 jets along e0, e1, e0 ± e1: 16 columns, and loses
digits to the differences. For a single pure partial such as ∂⁴x the two coincide (S = 5).
Every partial of order <= 2 is the seed's formula (eq. 3d: α = (i,); eq. 4: α = (i, l)).

θ-derivatives (the Jacobian rows and the VJP) are reverse mode through this forward pass,
written out as in :mod:`nnpde.kernels`: for F = Σ_k c_k ∂^{α_k} N with per-point weights c,
grouping the partition terms τ (each a multiset of blocks B, m_τ = |τ| blocks) with the
weights W_τ = Σ_k c_k count_k(τ),

    ∂F/∂a = G = Σ_τ W_τ f2^(m_τ) Π_{B∈τ} Z_B,        ∂F/∂c = Ā2 = a ⊙ Σ_τ W_τ f2^(m_τ+1) Π Z_B,
    Z̄_B = a ⊙ Σ_{τ ∋ B} W_τ f2^(m_τ) ∂(Π_{B'∈τ} Z_B')/∂Z_B,   Z̄_∅ = Ā2 (A2 = Z_∅ + c),
    ∂F/∂w = Σ_B Z̄_B ⊗ X_B,      Y_B = wᵀ Z̄_B,
    ∂F/∂b = Ā1 = Σ_B f1^(|B|+1) ⊙ v_B ⊙ Y_B,
    ∂F/∂v_:i = Ā1 x_i + Σ_{B ∋ i} n_i(B) f1^(|B|) ⊙ Y_B ⊙ v_{B∖i}

(n_i(B): how often axis i occurs in B). The same L = [Ā2, Z̄_B] (M2, S) and X stacks as the
operator kernels (``_cols``), so ∂F/∂w is one product L Xᵀ for the sums over points and the
rows are S outer products per point. Orders of f needed: |α| for the values, |α| + 1 for
anything with a θ-derivative (f^(5) for fourth-order rows).

Layout: points last, as in :mod:`nnpde._cols` (every per-point array is (features, P), every
sum over points a matrix product or a reduction along the contiguous axis), in blocks of
``chunk_size`` points. The public functions take and return points first: x (P, D), weights
(P, K), values (P, K), rows (P, NT).

``axes`` names the partials: a tuple of multi-indices, each a tuple of axes in 0..D-1 (order
does not matter: ∂x∂y = ∂y∂x), e.g. ``((0, 0, 0, 0), (0, 0, 1, 1), (1, 1, 1, 1))``; a single
multi-index of ints, e.g. ``(0, 0, 0, 0)``, means that one partial; ``()`` inside the tuple is
N itself. The autodiff twins (nested ``jax.jvp``) are in :mod:`nnpde.autodiff`, same names.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from nnpde import _cols
from nnpde._checks import check_chunk_size, check_inputs, check_weights
from nnpde._jit import kernel_jit
from nnpde.network import Params, TwoLayerNet

Array = jax.Array

__all__ = [
    "MAX_PARTIAL_ORDER",
    "Plan",
    "normalize_axes",
    "partials_x",
    "partials_x_gram",
    "partials_x_jvp",
    "partials_x_rows",
    "partials_x_theta",
    "partials_x_vjp",
    "plan",
]

#: The highest order of a partial derivative these kernels take.
MAX_PARTIAL_ORDER = 4

_STATIC = ("net", "axes", "chunk_size")
_jit = functools.partial(kernel_jit, static_argnames=_STATIC, tuned=False)


# ---- the static structure of a set of partials ------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Plan:
    """The Faà di Bruno structure of K partials ∂^{α_k} (static, hashable; see :func:`plan`).

    Attributes:
      axes: the K multi-indices α_k, each a sorted tuple of axes.
      subsets: the S distinct sub-multisets B of the α_k (sorted tuples), ``()`` first: the
        columns of the stacks X = [∂_B O1] and Z = w X.
      terms: the T distinct partition terms τ, each a sorted tuple of indices into ``subsets``
        (one per block; ``()`` for N itself).
      counts: (K, T) integers, how many set partitions of α_k give term τ.
    """

    axes: tuple[tuple[int, ...], ...]
    subsets: tuple[tuple[int, ...], ...]
    terms: tuple[tuple[int, ...], ...]
    counts: tuple[tuple[int, ...], ...]

    @property
    def order(self) -> int:
        """max |α_k|: the activation order the values need (one more for θ-derivatives)."""
        return max(len(a) for a in self.axes)

    def removed(self, s: int, i: int) -> int:
        """Index of the sub-multiset ``subsets[s]`` with one axis ``i`` removed."""
        rest = list(self.subsets[s])
        rest.remove(i)
        return self.subsets.index(tuple(rest))


def _set_partitions(items: list):
    """All set partitions of ``items`` (lists of blocks)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        yield [[first]] + part
        for i in range(len(part)):
            yield part[:i] + [[first] + part[i]] + part[i + 1 :]


@functools.lru_cache(maxsize=256)
def plan(axes: tuple[tuple[int, ...], ...]) -> Plan:
    """The :class:`Plan` of normalized ``axes`` (see :func:`normalize_axes`), cached.

    Example:
      >>> p = plan(((0, 0, 0, 0),))
      >>> p.subsets
      ((), (0,), (0, 0), (0, 0, 0), (0, 0, 0, 0))
      >>> len(p.terms), p.counts  # f'''' Z1⁴ + 6 f''' Z1² Z2 + f''(3 Z2² + 4 Z1 Z3) + f' Z4
      (5, ((1, 4, 3, 6, 1),))
    """
    subs = set()
    for alpha in axes:
        for r in range(len(alpha) + 1):
            subs.update(tuple(sorted(c)) for c in itertools.combinations(alpha, r))
    subsets = tuple(sorted(subs, key=lambda s: (len(s), s)))
    index = {s: n for n, s in enumerate(subsets)}
    per_partial = []
    for alpha in axes:
        counter = Counter()
        for part in _set_partitions(list(range(len(alpha)))):
            blocks = (index[tuple(sorted(alpha[i] for i in block))] for block in part)
            counter[tuple(sorted(blocks))] += 1
        per_partial.append(counter)
    terms = tuple(sorted(set().union(*per_partial), key=lambda t: (len(t), t)))
    counts = tuple(tuple(c.get(t, 0) for t in terms) for c in per_partial)
    return Plan(axes=axes, subsets=subsets, terms=terms, counts=counts)


def normalize_axes(axes, dim: int, kernel: str = "partials_x") -> tuple[tuple[int, ...], ...]:
    """``axes`` as a tuple of sorted multi-indices, checked against D = ``dim``.

    Accepts a sequence of multi-indices (``((0, 0), (0, 1))``) or one multi-index of ints
    (``(0, 0, 0, 0)``). Raises ``TypeError``/``ValueError`` naming ``kernel``.
    """
    if not isinstance(axes, (tuple, list)) or len(axes) == 0:
        raise TypeError(
            f"{kernel}: axes must be a non-empty tuple of multi-indices such as ((0, 0, 0, 0),) "
            f"or one multi-index such as (0, 0, 1, 1), got {axes!r}"
        )

    def is_int(i):
        return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))

    if all(is_int(i) for i in axes):
        axes = (axes,)
    out = []
    for alpha in axes:
        if not isinstance(alpha, (tuple, list)) or not all(is_int(i) for i in alpha):
            raise TypeError(f"{kernel}: each multi-index must be a tuple of ints, got {alpha!r}")
        if len(alpha) > MAX_PARTIAL_ORDER:
            raise ValueError(
                f"{kernel}: partials up to order {MAX_PARTIAL_ORDER} are available, got "
                f"{tuple(alpha)} of order {len(alpha)}"
            )
        bad = [int(i) for i in alpha if not 0 <= int(i) < dim]
        if bad:
            raise ValueError(
                f"{kernel}: axis {bad[0]} of {tuple(alpha)} is out of range for D = {dim} "
                f"(axes are 0..{dim - 1})"
            )
        out.append(tuple(sorted(int(i) for i in alpha)))
    return tuple(out)


# ---- the forward pass and its adjoint, points last --------------------------------------------
def _monomials(v: Array, pl: Plan) -> list:
    """v_B = Π_{i∈B} v_:i (M1,) for every sub-multiset B (None for B = ())."""
    out = []
    for B in pl.subsets:
        m = None
        for i in B:
            m = v[:, i] if m is None else m * v[:, i]
        out.append(m)
    return out


def _forward(net: TwoLayerNet, p: Params, pl: Plan, xt: Array, extra: int):
    """Layer-1 derivatives F1, v_B, the stack X (M1, S, P), Z = w X (M2, S, P) and F2.

    ``extra`` = 1 adds one more derivative order (for the θ-adjoint)."""
    order = pl.order + extra
    F1 = net.activation.up_to(_cols._mix(p.v, xt) + p.b[:, None], order)  # f1^(n) (M1, P)
    vB = _monomials(p.v, pl)
    cols = [F1[len(B)] if m is None else F1[len(B)] * m[:, None] for B, m in zip(pl.subsets, vB)]
    X = jnp.stack(cols, axis=1)  # (M1, S, P): ∂_B O1
    m1, s, n = X.shape
    Z = (p.w @ X.reshape(m1, s * n)).reshape(-1, s, n)  # ∂_B A2 (Z_∅ = A2 - c)
    F2 = net.activation.up_to(Z[:, 0] + p.c[:, None], order)
    return F1, vB, X, Z, F2


def _product(Z: Array, blocks: tuple[int, ...]) -> Array | None:
    """Π_{B∈τ} Z_B (M2, P), None for the empty term."""
    out = None
    for b in blocks:
        out = Z[:, b] if out is None else out * Z[:, b]
    return out


def _times(h: Array, prod: Array | None) -> Array:
    return h if prod is None else h * prod


def _term_values(pl: Plan, Z: Array, F2) -> Array:
    """f2^(m_τ) Π_{B∈τ} Z_B for every term τ: (M2, T, P)."""
    return jnp.stack([_times(F2[len(t)], _product(Z, t)) for t in pl.terms], axis=1)


def _values_block(net: TwoLayerNet, p: Params, pl: Plan, xt: Array) -> Array:
    """∂^{α_k} N at the block's points: (K, P)."""
    _, _, _, Z, F2 = _forward(net, p, pl, xt, 0)
    T = _term_values(pl, Z, F2)
    m2, t, n = T.shape
    per_term = (p.a[None] @ T.reshape(m2, t * n)).reshape(t, n)  # a · (f2 Π Z) per term
    return _cols._mix(np.asarray(pl.counts, dtype=np.float64).astype(per_term.dtype), per_term)


def _term_weights(pl: Plan, c: Array) -> Array:
    """W_τ = Σ_k c_k count_k(τ): (T, P) from the weights c (K, P)."""
    counts = np.asarray(pl.counts, dtype=np.float64).T  # (T, K)
    return _cols._mix(counts.astype(c.dtype), c)


def _adjoint(net: TwoLayerNet, p: Params, pl: Plan, xt: Array, c: Array):
    """The per-point factors of ∂F/∂θ, F = Σ_k c_k ∂^{α_k} N (module docstring).

    Returns (X (M1, S, P), L (M2, S, P), G = ∂F/∂a (M2, P), Ā2 (M2, P), Ā1 (M1, P),
    F1, v_B, Y = wᵀL (M1, S, P))."""
    F1, vB, X, Z, F2 = _forward(net, p, pl, xt, 1)
    W = _term_weights(pl, c)
    a = p.a[:, None]
    G = a2 = None
    zbar = [None] * len(pl.subsets)
    for n, t in enumerate(pl.terms):
        prod = _product(Z, t)
        h = W[n][None] * F2[len(t)]
        G = _add(G, _times(h, prod))
        a2 = _add(a2, _times(W[n][None] * F2[len(t) + 1], prod))
        for b, mult in Counter(t).items():  # ∂(Π Z)/∂Z_b = mult Z_b^(mult-1) Π others
            rest = list(t)
            rest.remove(b)
            zbar[b] = _add(zbar[b], _times(mult * h, _product(Z, tuple(rest))))
    a2 = a * a2
    zero = jnp.zeros_like(G)
    L = jnp.stack([a2] + [zero if z is None else a * z for z in zbar[1:]], axis=1)
    m2, s, n = L.shape
    # wᵀ as its own array keeps it a plain (M1 x M2)(M2 x SP) product on CPU (see _cols).
    wt = lax.optimization_barrier(p.w.T)
    Y = (wt @ L.reshape(m2, s * n)).reshape(-1, s, n)
    a1 = None
    for sidx, (B, m) in enumerate(zip(pl.subsets, vB)):
        a1 = _add(a1, _times(F1[len(B) + 1] * Y[:, sidx], None if m is None else m[:, None]))
    return X, L, G, a2, a1, F1, vB, Y


def _add(acc, term):
    return term if acc is None else acc + term


def _dense_v(pl: Plan, F1, vB, Y, d: int) -> list:
    """Σ_{B∋i} n_i(B) f1^(|B|) ⊙ Y_B ⊙ v_{B∖i} per axis i: D arrays (M1, P) (zeros as None)."""
    out = [None] * d
    for sidx, B in enumerate(pl.subsets):
        for i, mult in Counter(B).items():
            rest = vB[pl.removed(sidx, i)]
            t = mult * F1[len(B)] * Y[:, sidx]
            out[i] = _add(out[i], _times(t, None if rest is None else rest[:, None]))
    return out


def _rows_block(net: TwoLayerNet, p: Params, pl: Plan, xt: Array, c: Array) -> Array:
    """Jᵀ for the block: ∂F_p/∂θ as columns, (NT, P) in θ's order (seed 000 eq. 7)."""
    X, L, G, a2, a1, F1, vB, Y = _adjoint(net, p, pl, xt, c)
    gw = sum(L[:, None, s] * X[None, :, s] for s in range(L.shape[1]))  # (M2, M1, P)
    dense = _dense_v(pl, F1, vB, Y, net.dim)
    gv = jnp.stack(
        [a1 * xt[i][None] + (0 if t is None else t) for i, t in enumerate(dense)], axis=1
    )  # (M1, D, P)
    parts = [G, gw, a2, gv, a1]
    return jnp.concatenate([t.reshape(-1, t.shape[-1]) for t in parts], axis=0)


def _vjp_block(net: TwoLayerNet, p: Params, pl: Plan, xt: Array, c: Array) -> Params:
    """Σ over the block's points of ∂F_p/∂θ, as Params (sums along the contiguous axis)."""
    X, L, G, a2, a1, F1, vB, Y = _adjoint(net, p, pl, xt, c)
    m2, s, n = L.shape
    gw = L.reshape(m2, s * n) @ X.reshape(X.shape[0], s * n).T  # Σ_p Σ_B Z̄_B ⊗ X_B
    dense = _dense_v(pl, F1, vB, Y, net.dim)
    gv = a1 @ xt.T  # (M1, D): Σ_p Ā1 x_pᵀ
    extra = [jnp.zeros_like(a1[:, 0]) if t is None else t.sum(1) for t in dense]
    gv = gv + jnp.stack(extra, axis=1)
    return Params(a=G.sum(1), w=gw, c=a2.sum(1), v=gv, b=a1.sum(1))


def _weighted_block(net: TwoLayerNet, p: Params, pl: Plan, xt: Array, c: Array) -> Array:
    """F_p = Σ_k c_pk ∂^{α_k} N(x_p) for the block: (P,)."""
    _, _, _, Z, F2 = _forward(net, p, pl, xt, 0)
    W = _term_weights(pl, c)
    G = None
    for n, t in enumerate(pl.terms):
        G = _add(G, _times(W[n][None] * F2[len(t)], _product(Z, t)))
    return (p.a[None] @ G)[0]


# ---- blocking over points (points last) -------------------------------------------------------
def _map_last(fn, chunk: int, *args) -> Array:
    """``fn(*block)`` -> (..., chunk) per block of points-last ``args``, joined: (..., P)."""
    n = args[0].shape[-1]
    if n <= chunk:
        return fn(*args)
    out = lax.map(lambda blk: fn(*blk), _cols.split_last(chunk, args))  # (nb, ..., chunk)
    out = jnp.moveaxis(out, 0, -2)
    return out.reshape(out.shape[:-2] + (-1,))[..., :n]


def _chunk(pl: Plan, rows: bool, chunk_size: int | None) -> int:
    """Points per block: on CPU 16384 / S (a power of two, >= 256; S the stacked columns) for
    values and sums, 1024 for rows; ``GPU_CHUNK_SIZE`` (65536) elsewhere."""
    if chunk_size is not None:
        return chunk_size
    if jax.default_backend() != "cpu":
        return 1 << 16
    if rows:
        return 1024
    per_point = 16384 // len(pl.subsets)
    return max(256, 1 << (per_point.bit_length() - 1))


def _check(net, theta, x, axes, kernel: str, extra: int, chunk_size):
    """(theta, x, Plan) checked; ``extra`` = 1 when θ-derivatives need one more order of f."""
    if not isinstance(net, TwoLayerNet):  # named before axes are checked against net.dim
        check_inputs(net, theta, x, kernel, 0)
    pl = plan(normalize_axes(axes, net.dim, kernel))
    theta, x = check_inputs(net, theta, x, kernel, pl.order + extra)
    check_chunk_size(chunk_size, kernel)
    return theta, x, pl


def _weights(weights, x, pl: Plan, kernel: str) -> Array:
    if weights is None:
        raise TypeError(f"{kernel}: weights (shape (P, K) = {(x.shape[0], len(pl.axes))}) "
                        "are required, got None")  # fmt: skip
    return check_weights(weights, "weights", (x.shape[0], len(pl.axes)), x.dtype, kernel)


def _public(fn):
    """Normalizes ``axes`` (lists to tuples) before the jitted ``fn`` hashes it."""

    @functools.wraps(fn)
    def wrapper(net, theta, x, axes, *args, **kwargs):
        if isinstance(net, TwoLayerNet) and isinstance(axes, (tuple, list)):
            try:
                axes = normalize_axes(axes, net.dim, fn.__name__)
            except (TypeError, ValueError):
                pass  # the jitted function raises it with the same message
        return fn(net, theta, x, axes, *args, **kwargs)

    return wrapper


# ---- public kernels -----------------------------------------------------------------------------
@_public
@_jit
def partials_x(net: TwoLayerNet, theta: Array, x: Array, axes, *, chunk_size=None) -> Array:
    """Mixed partials ∂^{α_k} N(x_p) of order <= 4: shape (P, K).

    Extends seed 000 eqs. (3d) and (4) (orders 1, 2) by the multivariate Faà di Bruno formula
    through the two layers (module docstring); cost O(P·M1·M2·S) for the S distinct
    sub-multisets of the requested partials.

    Args:
      net: the network spec (static).
      theta: parameters, shape (NT,).
      x: points, shape (P, D).
      axes: K multi-indices, e.g. ``((0, 0, 0, 0), (0, 0, 1, 1))`` (static).
      chunk_size: points per block (default: 16384 / S on CPU).

    Returns:
      Shape (P, K), column k the partial ``axes[k]``.

    Example:
      >>> import jax, jax.numpy as jnp, nnpde
      >>> net = nnpde.TwoLayerNet(2, (6, 5), "tanh")
      >>> theta = net.init(jax.random.key(0))
      >>> x = jnp.ones((3, 2), theta.dtype)
      >>> nnpde.kernels.partials_x(net, theta, x, ((0, 0, 0, 0), (0, 0, 1, 1))).shape
      (3, 2)
    """
    theta, x, pl = _check(net, theta, x, axes, "partials_x", 0, chunk_size)
    if x.shape[0] == 0:
        return jnp.zeros((0, len(pl.axes)), x.dtype)
    block = functools.partial(_values_block, net, net.unpack(theta), pl)
    return _map_last(block, _chunk(pl, False, chunk_size), x.T).T


@_public
@_jit
def partials_x_rows(
    net: TwoLayerNet, theta: Array, x: Array, axes, weights: Array, *, chunk_size=None
) -> Array:
    """Weighted Jacobian rows Σ_k c_pk ∂θ ∂^{α_k} N(x_p): shape (P, NT).

    The rows of a residual Jacobian J_p = Σ_k (∂r_p/∂u_{α_k}) ∂θ∂^{α_k}N, one pass of the
    θ-adjoint per block (module docstring), without the (P, K, NT) tensor. Extends seed 000
    eqs. (5) and (6) (θ-derivatives of first and second x-derivatives) to order 4; needs the
    activation's derivative of order |α| + 1.

    Args:
      net, theta, x, axes, chunk_size: as in :func:`partials_x` (rows: 1024 points per block
        on CPU).
      weights: c, shape (P, K).

    Returns:
      Shape (P, NT), in θ's layout (seed 000 eq. 7).
    """
    theta, x, pl = _check(net, theta, x, axes, "partials_x_rows", 1, chunk_size)
    c = _weights(weights, x, pl, "partials_x_rows")
    if x.shape[0] == 0:
        return jnp.zeros((0, net.num_params), x.dtype)
    block = functools.partial(_rows_block, net, net.unpack(theta), pl)
    return _map_last(block, _chunk(pl, True, chunk_size), x.T, c.T).T


@_public
@_jit
def partials_x_theta(net: TwoLayerNet, theta: Array, x: Array, axes, *, chunk_size=None) -> Array:
    """∂θ ∂^{α_k} N(x_p) for every partial: shape (P, K, NT).

    :func:`partials_x_rows` with unit weights on one partial at a time (K passes). Memory
    O(P·K·NT); prefer the weighted rows where a contraction over k is all you need.
    """
    theta, x, pl = _check(net, theta, x, axes, "partials_x_theta", 1, chunk_size)
    k = len(pl.axes)
    if x.shape[0] == 0:
        return jnp.zeros((0, k, net.num_params), x.dtype)
    block = functools.partial(_rows_block, net, net.unpack(theta), pl)
    chunk = _chunk(pl, True, chunk_size)
    ones = jnp.ones((1, x.shape[0]), x.dtype)

    def one(e):  # rows with unit weight on partial e (K,): (NT, P)
        return _map_last(block, chunk, x.T, e[:, None] * ones)

    return jax.vmap(one, out_axes=1)(jnp.eye(k, dtype=x.dtype)).T  # (NT, K, P) -> (P, K, NT)


@_public
@_jit
def partials_x_vjp(
    net: TwoLayerNet, theta: Array, x: Array, axes, weights: Array, *, chunk_size=None
) -> Array:
    """Σ_p Σ_k r_pk ∂θ ∂^{α_k} N(x_p): shape (NT,) — the θ-gradient of Σ_p Σ_k r_pk ∂^{α_k} N_p.

    Seed 000 eqs. (5), (6) extended to order 4 and contracted over points: per block of points
    one (M2 x SP)(SP x M1) product for ∂/∂w, reductions along the contiguous axis for the
    rest; the (P, NT) Jacobian is never formed, memory independent of P.

    Args:
      net, theta, x, axes, chunk_size: as in :func:`partials_x`.
      weights: r, shape (P, K).

    Returns:
      Shape (NT,), in θ's layout.
    """
    theta, x, pl = _check(net, theta, x, axes, "partials_x_vjp", 1, chunk_size)
    r = _weights(weights, x, pl, "partials_x_vjp")
    if x.shape[0] == 0:
        return jnp.zeros_like(theta)
    block = functools.partial(_vjp_block, net, net.unpack(theta), pl)
    return net.pack(_cols.sum_blocks(block, _chunk(pl, False, chunk_size), x.T, r.T))


@_public
@_jit
def partials_x_jvp(
    net: TwoLayerNet,
    theta: Array,
    x: Array,
    axes,
    tangent: Array,
    weights: Array,
    *,
    chunk_size=None,
) -> Array:
    """(J t)_p = Σ_k c_pk ∂θ∂^{α_k} N(x_p) · t: shape (P,), never forming J.

    Forward mode (``jax.jvp``) through the hand-written forward pass of :func:`partials_x`
    along the θ-direction t: exact, cost a small multiple of the values', memory independent
    of P beyond the output.

    Args:
      net, theta, x, axes, chunk_size: as in :func:`partials_x`.
      tangent: t, shape (NT,), θ's dtype.
      weights: c, shape (P, K).
    """
    theta, x, pl = _check(net, theta, x, axes, "partials_x_jvp", 1, chunk_size)
    c = _weights(weights, x, pl, "partials_x_jvp")
    tangent = check_weights(tangent, "tangent", (net.num_params,), theta.dtype, "partials_x_jvp")
    if x.shape[0] == 0:
        return jnp.zeros((0,), x.dtype)

    def block(xt, ct):
        fn = lambda t: _weighted_block(net, net.unpack(t), pl, xt, ct)  # noqa: E731
        return jax.jvp(fn, (theta,), (tangent,))[1]

    return _map_last(block, _chunk(pl, False, chunk_size), x.T, c.T)


@_public
@_jit
def partials_x_gram(
    net: TwoLayerNet, theta: Array, x: Array, axes, r: Array, weights: Array, *, chunk_size=None
) -> tuple[Array, Array]:
    """(JᵀJ, Jᵀr) of the rows J_p = Σ_k c_pk ∂θ∂^{α_k} N(x_p), accumulated over blocks.

    As :func:`nnpde.kernels.operator_gram`: each block of points forms Jᵀ (NT, chunk) and adds
    its upper blocks of JᵀJ and Jᵀr, so memory is O(chunk·NT + NT²) for any P.

    Args:
      net, theta, x, axes, chunk_size: as in :func:`partials_x_rows`.
      r: residuals, shape (P,).
      weights: c, shape (P, K).

    Returns:
      (JᵀJ (NT, NT), exactly symmetric; Jᵀr (NT,)).
    """
    theta, x, pl = _check(net, theta, x, axes, "partials_x_gram", 1, chunk_size)
    c = _weights(weights, x, pl, "partials_x_gram")
    if r is None:
        raise TypeError("partials_x_gram: r (the residuals, shape (P,)) is required, got None")
    r = check_weights(r, "r", x.shape[:1], x.dtype, "partials_x_gram")
    nt = net.num_params
    if x.shape[0] == 0:
        return jnp.zeros((nt, nt), x.dtype), jnp.zeros((nt,), x.dtype)
    p = net.unpack(theta)

    def block(rb, xt, ct):
        Jt = _rows_block(net, p, pl, xt, ct)
        cut = _cols.gram_splits(nt)
        parts = [Jt[cut[i] : cut[i + 1]] for i in range(len(cut) - 1)]
        k = len(parts)
        upper = tuple(parts[i] @ parts[j].T for i in range(k) for j in range(i, k))
        return upper, Jt @ rb

    upper, Jtr = _cols.sum_blocks(block, _chunk(pl, True, chunk_size), r, x.T, c.T)
    JtJ = _cols.assemble_gram(upper, nt)
    return 0.5 * (JtJ + JtJ.T), Jtr

"""Low-discrepancy and random point sets in the unit cube [0, 1)^D.

``sobol`` is the Sobol' sequence with Joe & Kuo's direction numbers (new-joe-kuo-6.21201,
dimensions 1-21), Gray-code order, unscrambled, optionally shifted at random (Cranley-Patterson
rotation, so a ``key`` gives independent but still low-discrepancy sets); ``halton`` uses the
first D primes as bases. Both are generated in numpy (exact integer arithmetic), once per call,
outside the hot path. References: S. Joe and F. Y. Kuo, SIAM J. Sci. Comput. 30 (2008) 2635;
J. H. Halton, Numer. Math. 2 (1960) 84.
"""

from __future__ import annotations

import jax
import numpy as np

__all__ = ["MAX_POINTS", "MAX_SOBOL_DIM", "halton", "sobol", "unit_cube"]

# (degree s, coefficient a, initial direction numbers m_1..m_s) for dimensions 2, 3, ...
_JOE_KUO = (
    (1, 0, (1,)),
    (2, 1, (1, 3)),
    (3, 1, (1, 3, 1)),
    (3, 2, (1, 1, 1)),
    (4, 1, (1, 1, 3, 3)),
    (4, 4, (1, 3, 5, 13)),
    (5, 2, (1, 1, 5, 5, 17)),
    (5, 4, (1, 1, 5, 5, 5)),
    (5, 7, (1, 1, 7, 11, 19)),
    (5, 11, (1, 1, 5, 1, 1)),
    (5, 13, (1, 1, 1, 3, 11)),
    (5, 14, (1, 3, 5, 5, 31)),
    (6, 1, (1, 3, 3, 9, 7, 49)),
    (6, 13, (1, 1, 1, 15, 21, 21)),
    (6, 16, (1, 3, 1, 13, 27, 49)),
    (6, 19, (1, 1, 1, 15, 7, 5)),
    (6, 22, (1, 3, 1, 15, 13, 25)),
    (6, 25, (1, 1, 5, 5, 19, 61)),
    (7, 1, (1, 3, 7, 11, 23, 15, 103)),
    (7, 4, (1, 3, 7, 13, 13, 15, 69)),
)
MAX_SOBOL_DIM = len(_JOE_KUO) + 1
_BITS = 52
#: The most points one call makes (10^8 points of D = 3 take 2.4 GB in float64): larger
#: requests, e.g. a grid whose n^D is astronomically large, raise ``ValueError`` at once instead
#: of exhausting memory or running for hours.
MAX_POINTS = 10**8


def _count(n, what: str, minimum: int = 1) -> int:
    """``n`` as a Python int in ``minimum..MAX_POINTS`` (numpy ints accepted, bools not)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < minimum:
        kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{what} must be {kind}, got {n!r}")
    if n > MAX_POINTS:
        raise ValueError(
            f"{what} = {n} is more than nnpde.sampling.MAX_POINTS = {MAX_POINTS} points"
        )
    return int(n)


def _dim(dim, limit: int | None = None, what: str = "dim") -> int:
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"{what} must be a positive int, got {dim!r}")
    if limit is not None and dim > limit:
        raise ValueError(
            f"sobol: dim must be in 1..{limit}, got {dim}; use method='halton' "
            "or 'uniform' in higher dimensions"
        )
    return int(dim)


def _direction_numbers(dim: int) -> np.ndarray:
    """V[j, k] = m_k 2^(BITS - k - 1): integer direction numbers, (dim, BITS)."""
    v = np.zeros((dim, _BITS), dtype=np.uint64)
    v[0] = [1 << (_BITS - 1 - k) for k in range(_BITS)]  # dimension 1: van der Corput
    for j in range(1, dim):
        s, a, m0 = _JOE_KUO[j - 1]
        m = list(m0)
        for k in range(s, _BITS):
            new = m[k - s] ^ (m[k - s] << s)
            for i in range(1, s):
                if (a >> (s - 1 - i)) & 1:
                    new ^= m[k - i] << i
            m.append(new)
        v[j] = [m[k] << (_BITS - 1 - k) for k in range(_BITS)]
    return v


def sobol(n: int, dim: int) -> np.ndarray:
    """The first ``n`` points of the unscrambled Sobol' sequence in [0, 1)^dim: (n, dim).

    In Gray-code order: point i is the XOR of the direction numbers of the set bits of
    gray(i) = i ^ (i >> 1), so point i differs from point i - 1 in one direction number.

    Raises:
      ValueError: ``n`` not an int in 0..MAX_POINTS or ``dim`` not in 1..MAX_SOBOL_DIM.
    """
    return _sobol(_count(n, "sobol: n", minimum=0), _dim(dim, MAX_SOBOL_DIM, "sobol: dim"))


def _sobol(n: int, dim: int) -> np.ndarray:
    v = _direction_numbers(dim)
    out = np.zeros((n, dim), dtype=np.uint64)
    # gray(2^k + j) = 2^k | gray(2^k - 1 - j): the points 2^k .. 2^(k+1) - 1 are the earlier
    # ones in reverse order with direction number k XOR-ed in (each point made once).
    k = 0
    while (1 << k) < n:
        lo, hi = 1 << k, min(1 << (k + 1), n)
        out[lo:hi] = out[:lo][::-1][: hi - lo] ^ v[:, k]
        k += 1
    return out.astype(np.float64) / float(1 << _BITS)


def _primes(k: int) -> list[int]:
    ps: list[int] = []
    c = 2
    while len(ps) < k:
        if all(c % p for p in ps if p * p <= c):
            ps.append(c)
        c += 1
    return ps


def halton(n: int, dim: int, *, skip: int = 1) -> np.ndarray:
    """Halton points ``skip .. skip + n - 1`` in [0, 1)^dim (bases: the first ``dim`` primes).

    Raises:
      ValueError: ``n`` not an int in 0..MAX_POINTS, ``dim`` not a positive int, or ``skip``
        not an int >= 0.
    """
    n = _count(n, "halton: n", minimum=0)
    dim = _dim(dim, what="halton: dim")
    if isinstance(skip, (bool, np.bool_)) or not isinstance(skip, (int, np.integer)) or skip < 0:
        raise ValueError(f"halton: skip must be an int >= 0, got {skip!r}")
    if skip > 2**62 - n:
        raise ValueError(f"halton: skip = {skip} is too large for int64 point indices")
    idx = np.arange(skip, skip + n, dtype=np.int64)
    out = np.zeros((n, dim))
    for j, base in enumerate(_primes(dim)):
        i, f, r = idx.copy(), 1.0, np.zeros(n)
        while np.any(i > 0):
            f /= base
            r += f * (i % base)
            i //= base
        out[:, j] = r
    return out


def _rng(key) -> np.random.Generator:
    """A numpy generator seeded by a JAX PRNG key (float64 draws whatever jax_enable_x64 says).

    Raises:
      TypeError: ``key`` is not one PRNG key (``jax.random.key(seed)``) or legacy raw key data
        (``jax.random.PRNGKey(seed)``, uint32 of shape (2,)).
    """
    try:
        if not (
            isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
        ):
            raw = np.asarray(key)
            if raw.dtype.kind not in "iu" or raw.ndim != 1:
                raise TypeError("not raw key data")
            if raw.size and (raw.min() < 0 or raw.max() > np.iinfo(np.uint32).max):
                raise TypeError("raw key data must be uint32 values")
            key = jax.random.wrap_key_data(raw.astype(np.uint32))
        if key.shape != ():
            raise TypeError(f"a batch of {key.shape} keys")
        data = np.asarray(jax.random.key_data(key)).ravel().tolist()
    except Exception as err:
        raise TypeError(
            f"key must be one JAX PRNG key, e.g. jax.random.key(0), got {_describe(key)} ({err})"
        ) from None
    return np.random.default_rng(data)


def _describe(value) -> str:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{type(value).__name__} of shape {tuple(shape)} and dtype {dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_sampling(method, key) -> np.random.Generator | None:
    """Checks ``method`` and ``key`` (as ``unit_cube`` takes them); returns the key's generator."""
    if not isinstance(method, str) or method not in ("sobol", "halton", "uniform"):
        raise ValueError(
            f"unknown sampling method {method!r}; expected 'sobol', 'halton' or 'uniform'"
        )
    if method == "uniform" and key is None:
        raise ValueError("method='uniform' needs a key (e.g. key=jax.random.key(0))")
    return None if key is None else _rng(key)


def unit_cube(n: int, dim: int, *, key=None, method: str = "sobol") -> np.ndarray:
    """``n`` points in [0, 1)^dim by ``method`` ("sobol", "halton" or "uniform"): (n, dim).

    With ``key``, the low-discrepancy sets are shifted by a random vector modulo 1 (and the
    first, all-zero Sobol' point is kept off the corner); "uniform" requires a key.

    Raises:
      ValueError: ``n`` not an int in 1..MAX_POINTS, ``dim`` not a positive int (at most
        MAX_SOBOL_DIM for "sobol"), or an unknown ``method``.
      TypeError: ``key`` is not a PRNG key.
    """
    n = _count(n, "number of points")
    dim = _dim(dim, MAX_SOBOL_DIM if method == "sobol" else None)
    rng = _check_sampling(method, key)
    if method == "uniform":
        return rng.random((n, dim))
    pts = _sobol(n + 1, dim)[1:] if method == "sobol" else halton(n, dim)  # Sobol': no corner 0
    if rng is not None:
        pts = np.mod(pts + rng.random(dim), 1.0)
    return pts

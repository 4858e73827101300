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

__all__ = ["MAX_SOBOL_DIM", "halton", "sobol", "unit_cube"]

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
    """The first ``n`` points of the unscrambled Sobol' sequence in [0, 1)^dim: (n, dim)."""
    if not 1 <= dim <= MAX_SOBOL_DIM:
        raise ValueError(
            f"sobol: dim must be in 1..{MAX_SOBOL_DIM}, got {dim}; use method='halton' "
            "or 'uniform' in higher dimensions"
        )
    v = _direction_numbers(dim)
    out = np.zeros((n, dim), dtype=np.uint64)
    x = np.zeros(dim, dtype=np.uint64)
    for i in range(1, n):  # Gray code: point i differs from i-1 by one direction number
        c = (i & -i).bit_length() - 1  # index of the lowest set bit of i
        x ^= v[:, c]
        out[i] = x
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
    """Halton points ``skip .. skip + n - 1`` in [0, 1)^dim (bases: the first ``dim`` primes)."""
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
    """A numpy generator seeded by a JAX PRNG key (float64 draws whatever jax_enable_x64 says)."""
    if not (isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)):
        key = jax.random.wrap_key_data(np.asarray(key, dtype=np.uint32))
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())


def unit_cube(n: int, dim: int, *, key=None, method: str = "sobol") -> np.ndarray:
    """``n`` points in [0, 1)^dim by ``method`` ("sobol", "halton" or "uniform"): (n, dim).

    With ``key``, the low-discrepancy sets are shifted by a random vector modulo 1 (and the
    first, all-zero Sobol' point is kept off the corner); "uniform" requires a key.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"number of points must be a positive int, got {n!r}")
    if method == "uniform":
        if key is None:
            raise ValueError("method='uniform' needs a key (e.g. key=jax.random.key(0))")
        return _rng(key).random((n, dim))
    if method == "sobol":
        pts = sobol(n + 1, dim)[1:]  # skip the corner point 0
    elif method == "halton":
        pts = halton(n, dim)
    else:
        raise ValueError(
            f"unknown sampling method {method!r}; expected 'sobol', 'halton' or 'uniform'"
        )
    if key is not None:
        shift = _rng(key).random(dim)
        pts = np.mod(pts + shift, 1.0)
    return pts

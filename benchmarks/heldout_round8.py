"""The eighth round of held-out problems for ``benchmarks/heldout.py --round 8``.

Written on 2026-12-08 after round 7 (whose clamped beam found the trial solution dropping an
initial slope next to far-end data): the Blasius boundary layer, a third-order nonlinear ODE
with its slope given at the far end (a ``Neumann`` condition next to an ``Initial`` value and
slope). The user's choices follow ``docs/choosing.md``.

Each builder returns the dict ``heldout.py`` runs: problem, hidden, points, exact (x (D,) ->
()), pde (the reference's own residual, for ``--check``), bcs, source.
"""

from __future__ import annotations

import jax
import numpy as np
from robustness_problems import hermite_interpolant, ode_table

import nnpde

# f''(0) of Blasius' equation f''' + f f''/2 = 0 with f'(∞) = 1 (Boyd, "The Blasius function:
# computations before computers, the value of tricks, undergraduate projects, and open research
# problems", SIAM Review 50 (2008) 791, eq. (2.4)).
_KAPPA = 0.332057336215196
_BLASIUS = {"T": 8.0, "nodes": 8001}


def _blasius_reference():
    """(f(x) (1,) -> () as a cubic Hermite interpolant, f'(T)) by scipy's DOP853 from f(0) = 0,
    f'(0) = 0, f''(0) = κ (rtol = atol = 1e-13, :func:`ode_table`)."""
    t, y, dy = ode_table(lambda y: np.array([y[1], y[2], -0.5 * y[0] * y[2]]),
                         [0.0, 0.0, _KAPPA], _BLASIUS["T"], _BLASIUS["nodes"], 1e-13,
                         "Blasius")  # fmt: skip
    interp = hermite_interpolant(t, y[:, :1], dy[:, :1])
    return (lambda x: interp(x)[0]), float(y[-1, 1])


def blasius():
    """f''' + f f''/2 = 0 on [0, 8], f(0) = f'(0) = 0, f'(8) = f'_ref(8) (= 1 - 3.7e-6, the
    far field): Blasius' boundary layer, third order and nonlinear, with the slope given at
    both ends.

    Source: Blasius (1908); the reference is scipy's DOP853 from Boyd's f''(0), interpolated
    (cubic Hermite, 8001 nodes)."""
    reference, slope_end = _blasius_reference()

    def pde(x):  # the interpolant's own residual: O(h²), not round-off
        d3 = jax.jacfwd(jax.hessian(reference))(x)[0, 0, 0]
        return d3 + 0.5 * reference(x) * jax.hessian(reference)(x)[0, 0]

    p = nnpde.Problem(nnpde.Interval(0.0, _BLASIUS["T"]),
                      lambda x, u: u.partial(0, 0, 0) + 0.5 * u.value * u.hessian[0, 0],
                      boundary=[nnpde.Initial(lambda x: 0.0, derivative=lambda x: 0.0),
                                nnpde.Neumann(lambda x: slope_end, where="right")],
                      exact=reference, name="blasius")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=512, exact=reference, pde=pde, bcs=[],
                source="Blasius boundary layer (Boyd 2008)")


PROBLEMS = {fn.__name__: fn for fn in (blasius,)}

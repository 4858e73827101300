"""The tenth round of held-out problems for ``benchmarks/heldout.py --round 10``.

Five problems written on 2026-12-08, after the ninth round, for what the earlier sets had
little or none of: a union of boxes (a T shape: two re-entrant corners, every condition a
penalty), an exponential nonlinearity on a disk (Poisson–Boltzmann, sinh u), a 2-D boundary
layer of an advection–diffusion equation, heat in a plate with a Robin and a Neumann side, and
a three-species ODE system over a long horizon (an SIR epidemic). The user's choices follow
``docs/choosing.md``: 2×16 to 2×24 tanh nets, 2–3 residuals per parameter.

Each builder returns the dict ``heldout.py`` runs (as in the earlier rounds' modules).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from robustness_problems import hermite_interpolant, ode_table

import nnpde

PI = math.pi


def _laplacian(fn, x):
    return jnp.trace(jax.hessian(fn)(x))


def _t_data(x):
    return jnp.exp(0.3 * x[0]) * jnp.cos(0.7 * x[1])


def _t_exact(x):
    """The data plus a bump inside the T (it does not vanish on the boundary: the network must
    meet the data by penalty)."""
    return _t_data(x) + 0.5 * jnp.sin(PI * x[0] / 3.0) * jnp.sin(PI * x[1] / 2.0)


def t_shape_union():
    """-Δu = f on the T shape [0, 3] × [1, 2] ∪ [1, 2] × [0, 2] (a union of two boxes: two
    re-entrant corners at (1, 1) and (2, 1)), Dirichlet data on the whole boundary;
    u = e^{0.3x} cos(0.7y) + ½ sin(πx/3) sin(πy/2).

    Source: T-shaped domains of DeepXDE's geometry examples (CSG union of rectangles), with a
    smooth manufactured solution."""

    def source(x):  # -Δu in closed form
        bump = jnp.sin(PI * x[0] / 3) * jnp.sin(PI * x[1] / 2)
        return 0.4 * _t_data(x) + 0.5 * (PI**2 / 9 + PI**2 / 4) * bump

    def pde(x):  # by autodiff, against the closed form
        return -_laplacian(_t_exact, x) - source(x)

    dom = nnpde.Box((0.0, 1.0), (3.0, 2.0)) | nnpde.Box((1.0, 0.0), (2.0, 2.0))
    p = nnpde.Problem(dom, lambda x, u: -u.laplacian - source(x),
                      boundary=[nnpde.Dirichlet(_t_exact)], exact=_t_exact,
                      name="t_shape_union")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=_t_exact, pde=pde, bcs=[],
                source="T shape as a union of boxes (DeepXDE CSG), manufactured")


def _pb_exact(x):
    return 2.0 * (1.0 - x[0] ** 2 - x[1] ** 2) + 0.5 * x[0] + 0.25


def poisson_boltzmann_disk():
    """-Δu + sinh(u) = f on the unit disk, Dirichlet data on the circle; u = 2(1 - r²) + x/2 +
    1/4 (u up to 2.3: sinh(u) ≈ 5, the nonlinearity larger than the Laplacian's 8).

    Source: the nonlinear Poisson–Boltzmann equation of electrostatics (e.g. Holst's thesis,
    1993), manufactured solution."""

    def source(x):  # -Δu = 8 in closed form
        return 8.0 + jnp.sinh(_pb_exact(x))

    def data(x):  # the values on the circle, not u inside
        return 0.5 * x[0] + 0.25

    def pde(x):
        return -_laplacian(_pb_exact, x) + jnp.sinh(_pb_exact(x)) - source(x)

    p = nnpde.Problem(nnpde.Disk((0.0, 0.0), 1.0),
                      lambda x, u: -u.laplacian + jnp.sinh(u.value) - source(x),
                      boundary=[nnpde.Dirichlet(data)], exact=_pb_exact,
                      name="poisson_boltzmann_disk")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=_pb_exact, pde=pde, bcs=[],
                source="Poisson-Boltzmann (Holst 1993), manufactured")


_PE = 20.0


def _layer_exact(x):
    """(e^{Pe x} - 1)/(e^{Pe} - 1) · sin(πy) + x(1 - x)y: a layer of width 1/Pe at x = 1."""
    return (jnp.expm1(_PE * x[0]) / math.expm1(_PE) * jnp.sin(PI * x[1])
            + x[0] * (1 - x[0]) * x[1])  # fmt: skip


def advection_layer_2d():
    """-Δu + Pe·u_x = f on [0, 1]², Pe = 20, Dirichlet data on the boundary; the solution has a
    layer of width 1/20 at the outflow x = 1.

    Source: the convection–diffusion boundary layer (e.g. Elman, Silvester & Wathen, "Finite
    Elements and Fast Iterative Solvers", §6.1), manufactured."""

    def source(x):  # closed form: the layer term solves -E'' + Pe E' = 0, so only π²E remains
        layer = jnp.expm1(_PE * x[0]) / math.expm1(_PE) * jnp.sin(PI * x[1])
        return PI**2 * layer + 2 * x[1] + _PE * (1 - 2 * x[0]) * x[1]

    def pde(x):
        return -_laplacian(_layer_exact, x) + _PE * jax.grad(_layer_exact)(x)[0] - source(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)),
                      lambda x, u: -u.laplacian + _PE * u.grad[0] - source(x),
                      boundary=[nnpde.Dirichlet(_layer_exact)], exact=_layer_exact,
                      name="advection_layer_2d")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=2048, exact=_layer_exact, pde=pde, bcs=[],
                source="convection-diffusion layer, Pe = 20 (Elman et al. 6.1)")


_MU = 1.0768739863118149  # the least root of μ tan μ = 2 (Robin coefficient 2 at x = 1)


def _heat_exact(x):
    """e^{-(μ² + π²/4) t} cos(μx) cos(πy/2) at (x, y, t): zero flux at x = 0 and y = 0,
    u_x + 2u = 0 at x = 1, u = 0 at y = 1."""
    return (jnp.exp(-(_MU**2 + PI**2 / 4) * x[2]) * jnp.cos(_MU * x[0])
            * jnp.cos(PI * x[1] / 2))  # fmt: skip


def heat_robin_2d():
    """u_t = Δu on [0, 1]² × [0, 0.5], ∂u/∂n = 0 on x = 0 and y = 0, u_x + 2u = 0 on x = 1 (a
    Robin, cooling), u = 0 on y = 1, u(x, y, 0) = cos(μx) cos(πy/2) with μ tan μ = 2.

    Source: separation of variables with a Robin end (Carslaw & Jaeger, "Conduction of Heat in
    Solids", §3.10)."""

    def pde(x):
        h = jax.hessian(_heat_exact)(x)
        return jax.grad(_heat_exact)(x)[2] - h[0, 0] - h[1, 1]

    p = nnpde.Problem(nnpde.Box((0.0, 0.0, 0.0), (1.0, 1.0, 0.5), time=True),
                      lambda x, u: u.grad[2] - u.hessian[0, 0] - u.hessian[1, 1],
                      boundary=[nnpde.Neumann(lambda x: 0.0, where=("x0_min", "x1_min")),
                                nnpde.Robin(2.0, 1.0, lambda x: 0.0, where="x0_max"),
                                nnpde.Dirichlet(lambda x: 0.0, where="x1_max"),
                                nnpde.Initial(_heat_exact)],
                      exact=_heat_exact, name="heat_robin_2d")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=2048, exact=_heat_exact, pde=pde, bcs=[],
                source="heat with a Robin side (Carslaw & Jaeger 3.10)")


_SIR = {"beta": 0.5, "gamma": 0.1, "T": 40.0, "y0": (0.99, 0.01, 0.0), "nodes": 8001}


def _sir_rhs(y):
    s, i, _ = y
    b, g = _SIR["beta"], _SIR["gamma"]
    return np.array([-b * s * i, b * s * i - g * i, g * i])


def _sir_reference():
    t, y, dy = ode_table(_sir_rhs, list(_SIR["y0"]), _SIR["T"], _SIR["nodes"], 1e-13, "SIR")
    return hermite_interpolant(t, y, dy)


def sir_epidemic():
    """S' = -βSI, I' = βSI - γI, R' = γI on [0, 40], β = 0.5, γ = 0.1, (S, I, R)(0) = (0.99,
    0.01, 0): the epidemic rises from 1 % to a peak of ≈ 48 % near t = 15 and falls (three
    networks).

    Source: Kermack & McKendrick (1927); the reference is scipy's DOP853 at rtol 1e-13,
    interpolated (cubic Hermite, 8001 nodes)."""
    reference = _sir_reference()
    b, g = _SIR["beta"], _SIR["gamma"]

    def equation(x, w):
        s, i, r = w
        si = s.value * i.value
        return jnp.stack([s.grad[0] + b * si, i.grad[0] - b * si + g * i.value,
                          r.grad[0] - g * i.value])  # fmt: skip

    def pde(x):  # the interpolant's own residual: O(h²), not round-off
        y, dy = reference(x), jax.jacfwd(reference)(x)[:, 0]
        return dy - jnp.stack([-b * y[0] * y[1], b * y[0] * y[1] - g * y[1], g * y[1]])

    p = nnpde.Problem(nnpde.Interval(0.0, _SIR["T"]), equation, components=3,
                      boundary=[nnpde.Initial(lambda x, v=v: v, component=k)
                                for k, v in enumerate(_SIR["y0"])],
                      exact=reference, name="sir_epidemic")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=reference, pde=pde, bcs=[],
                source="SIR epidemic (Kermack & McKendrick 1927)")


PROBLEMS = {fn.__name__: fn for fn in (t_shape_union, poisson_boltzmann_disk, advection_layer_2d,
                                       heat_robin_2d, sir_epidemic)}  # fmt: skip

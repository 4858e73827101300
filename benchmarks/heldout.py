"""Held-out robustness check of ``nnpde.solve`` with its defaults.

Eight problems that are NOT in ``benchmarks/robustness_problems.py`` and were added only AFTER
``solve``'s defaults had been fixed: each is run once per seed with the defaults (the user picks
only the problem, a ``TwoLayerNet`` and a number of collocation points), with no tuning of any
setting to these problems. Every problem has an exact closed-form solution; the sources are
manufactured solutions of the kind used in textbooks and in the DeepXDE / PINNacle example sets
(variable-coefficient, semilinear and mixed-condition Poisson, Poisson on a rectangle), separation
of variables for the heat equation (Haberman), the method of characteristics for linear
advection with inflow data, Helmholtz plane waves and the forced undamped oscillator.

Each run builds a new ``Problem`` and clears JAX's caches, so its wall time includes compilation.
It is scored on the domain's test grid with its boundary (10001 points in 1-D, 101×101 in 2-D,
including (x, t)), never the training points: relative L2 and max-abs error. ``--check`` only
verifies the exact solutions: an independent autodiff residual, the Problem's own equation on
the exact solution's jet, and every boundary / initial condition at sampled boundary points.

A second round of eight (``--round 2``, ``benchmarks/heldout_round2.py``) was written on
2026-12-07, after the first round and the defaults: travelling waves, damped and dispersive
waves, Neumann data in time, a pentagon, Van der Pol and 3-D Beltrami flow.
A third round of five (``--round 3``, ``benchmarks/heldout_round3.py``), written after the
second: boxes wider than 10 along an axis (an ODE over 30 and over 40 time units, heat on
[0, 20] × [0, 50], a 20 × 1 strip) and DeepXDE's Helmholtz example at k = 4π.
A fourth round of five (``--round 4``, ``benchmarks/heldout_round4.py``), written after the
third: a box far from the origin, a box 100 times smaller than the unit square, a solution of
amplitude 1000 on an offset of 500, a boundary layer of width 0.02, and heat from t = 10.
A fifth round of five (``--round 5``, ``benchmarks/heldout_round5.py``), written after the
fourth: a Gaussian bump, an interior layer, a coupled elliptic system, an inverse problem with
two coefficients (scored by the larger of u's and the coefficients' relative errors) and heat
in (x, y, t).
A sixth round of six (``--round 6``, ``benchmarks/heldout_round6.py``), written after the
fifth: Poisson on an annulus, a clamped plate on the disk (fourth order, Dirichlet and
Neumann data), Stokes flow, the pendulum at 115°, an inverse ODE with two coefficients and
advection by a rotating field in (x, y, t).
A seventh round of four (``--round 7``, ``benchmarks/heldout_round7.py``), written after the
sixth: a Robin condition on a circle, a strip periodic in x, a coupled pair with Neumann
conditions only, and a nonlinear fourth-order ODE clamped at both ends.
An eighth round of one (``--round 8``, ``benchmarks/heldout_round8.py``): the Blasius boundary
layer (third order, nonlinear, a slope at each end).
``--without-slope-scaling`` runs them with the start before its slope rule for wide boxes
(``nnpde.solvers.SLOPE_WIDTH``).

    python benchmarks/heldout.py [--check] [--round N] [--problems ...] [--seeds ...] [--out FILE]
    python benchmarks/heldout.py --check                                  # exact solutions only
    python benchmarks/heldout.py --problems forced_oscillator --seeds 3   # one run
    python benchmarks/heldout.py --out benchmarks/results/heldout-cpu.md  # and .json beside it
    python benchmarks/heldout.py --round 2 --out benchmarks/results/heldout-round2-cpu.md
    python benchmarks/heldout.py --round 3 --out benchmarks/results/heldout-round3-cpu.md
    python benchmarks/heldout.py --round 4 --out benchmarks/results/heldout-round4-cpu.md
    python benchmarks/heldout.py --round 5 --out benchmarks/results/heldout-round5-cpu.md
    python benchmarks/heldout.py --round 6 --out benchmarks/results/heldout-round6-cpu.md
    python benchmarks/heldout.py --round 7 --out benchmarks/results/heldout-round7-cpu.md
    python benchmarks/heldout.py --round 8 --out benchmarks/results/heldout-round8-cpu.md

Without ``--out`` the report is only printed. Results: ``benchmarks/results/heldout-cpu.md``,
``benchmarks/results/heldout-round2-cpu.md``.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import pathlib
import statistics
import sys

import jax

jax.config.update("jax_enable_x64", True)

import heldout_round2  # noqa: E402
import heldout_round3  # noqa: E402
import heldout_round4  # noqa: E402
import heldout_round5  # noqa: E402
import heldout_round6  # noqa: E402
import heldout_round7  # noqa: E402
import heldout_round8  # noqa: E402
import heldout_round9  # noqa: E402
import heldout_round10  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import robustness  # noqa: E402
from robustness_problems import Case  # noqa: E402

import nnpde  # noqa: E402

PI = math.pi
SEEDS = (0, 1, 2, 3, 4)
THRESHOLDS = (1e-6, 1e-4)
# face names of Box.sample_boundary for the names a boundary condition's ``where`` may use
FACE_ALIAS = {"left": "x0_min", "right": "x0_max", "bottom": "x1_min", "top": "x1_max"}


def lap(fn, x):
    return jnp.trace(jax.hessian(fn)(x))


# Each builder returns dict(problem, hidden, points, exact, pde, bcs, source): ``pde(x)`` is an
# independent residual of the exact solution for ``--check``, ``bcs`` a list of extra
# (fn(x) -> residual, points) conditions to verify there.


def var_coef_poisson():
    """-div(k grad u) = f on [0,1]², k = 1 + x² + y², Dirichlet data;
    u = exp(x) sin(πy) + x/2 (non-zero boundary data).

    Source: textbook manufactured solution for a variable-coefficient elliptic equation
    (LeVeque / FEniCS-tutorial style)."""

    def k(x):
        return 1.0 + x[0] ** 2 + x[1] ** 2

    def exact(x):
        return jnp.exp(x[0]) * jnp.sin(PI * x[1]) + 0.5 * x[0]

    def f(x):
        def flux(y):
            return k(y) * jax.grad(exact)(y)

        return -jnp.trace(jax.jacfwd(flux)(x))

    def eq(x, u):
        kx = k(x)
        gk = jnp.array([2 * x[0], 2 * x[1]])
        return -(kx * u.laplacian + gk @ u.grad) - f(x)

    def pde(x):
        gk = jnp.array([2 * x[0], 2 * x[1]])
        return -(k(x) * lap(exact, x) + gk @ jax.grad(exact)(x)) - f(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), eq, boundary=[nnpde.Dirichlet(exact)],
                      exact=exact, name="var_coef_poisson")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured variable-coefficient Poisson (k = 1 + x^2 + y^2)")  # fmt: skip


def poisson_rect():
    """-Δu = 5π² sin(2πx) cos(πy) on [0,2]×[0,1], Dirichlet data;
    u = sin(2πx) cos(πy) + x y.

    Source: manufactured Poisson problem on a rectangle (PINNacle-style Poisson 2-D)."""

    def exact(x):
        return jnp.sin(2 * PI * x[0]) * jnp.cos(PI * x[1]) + x[0] * x[1]

    def f(x):
        return 5 * PI**2 * jnp.sin(2 * PI * x[0]) * jnp.cos(PI * x[1])

    def eq(x, u):
        return -u.laplacian - f(x)

    def pde(x):
        return -lap(exact, x) - f(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (2.0, 1.0)), eq, boundary=[nnpde.Dirichlet(exact)],
                      exact=exact, name="poisson_rect")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured Poisson on a rectangle "
                       "(PINNacle-style Poisson 2d)")  # fmt: skip


def heat_two_mode():
    """u_t = u_xx on x ∈ [0,2], t ∈ [0,1], u(0,t) = u(2,t) = 0, initial data from
    u = e^(-π²t/4) sin(πx/2) + ½ e^(-π²t) sin(πx) (two modes).

    Source: separation of variables (Haberman, heat equation on [0, L], L = 2)."""

    def exact(x):
        return (jnp.exp(-PI**2 * x[1] / 4) * jnp.sin(PI * x[0] / 2)
                + 0.5 * jnp.exp(-PI**2 * x[1]) * jnp.sin(PI * x[0]))  # fmt: skip

    def zero(x):
        return 0.0

    def eq(x, u):
        return u.grad[1] - u.hessian[0, 0]

    def pde(x):
        return jax.grad(exact)(x)[1] - jax.hessian(exact)(x)[0, 0]

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (2.0, 1.0), time=True), eq,
                      boundary=[nnpde.Dirichlet(zero), nnpde.Initial(exact)],
                      exact=exact, name="heat_two_mode")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="separation of variables "
                       "(Haberman, heat equation on [0, L], L = 2)")  # fmt: skip


def nonlinear_poisson_cubic():
    """-Δu + u³ = f on [0,1]², Dirichlet data (0.5); u = sin(πx) sin(πy) + 0.5.

    Source: manufactured solution of a semilinear Poisson equation."""

    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1]) + 0.5

    def f(x):
        return 2 * PI**2 * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1]) + exact(x) ** 3

    def eq(x, u):
        return -u.laplacian + u.value**3 - f(x)

    def pde(x):
        return -lap(exact, x) + exact(x) ** 3 - f(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), eq, boundary=[nnpde.Dirichlet(exact)],
                      exact=exact, name="nonlinear_poisson_cubic")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured semilinear Poisson -Δu + u³ = f")  # fmt: skip


def transport_inflow():
    """u_t + 2 u_x = 0 on x ∈ [0,1], t ∈ [0,1], u(x,0) = sin(2πx), inflow u(0,t) = sin(-4πt);
    u = sin(2π(x - 2t)).

    Source: linear advection with an inflow boundary (method of characteristics)."""
    c = 2.0

    def exact(x):
        return jnp.sin(2 * PI * (x[0] - c * x[1]))

    def eq(x, u):
        return u.grad[1] + c * u.grad[0]

    def pde(x):
        return jax.grad(exact)(x)[1] + c * jax.grad(exact)(x)[0]

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True), eq,
                      boundary=[nnpde.Dirichlet(exact, where="left"), nnpde.Initial(exact)],
                      exact=exact, name="transport_inflow")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="linear advection with inflow boundary "
                       "(method of characteristics)")  # fmt: skip


def helmholtz_plane_wave():
    """Δu + k²u = 0 on [0,1]², k = 2π, Dirichlet data;
    u = sin(k(0.6x + 0.8y)) + cos(k(0.8x - 0.6y)) (two oblique plane waves, not separable).

    Source: Helmholtz plane-wave solutions (textbook; k = 2π is not a Dirichlet eigenvalue)."""
    k = 2 * PI

    def exact(x):
        return jnp.sin(k * (0.6 * x[0] + 0.8 * x[1])) + jnp.cos(k * (0.8 * x[0] - 0.6 * x[1]))

    def eq(x, u):
        return u.laplacian + k**2 * u.value

    def pde(x):
        return lap(exact, x) + k**2 * exact(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), eq, boundary=[nnpde.Dirichlet(exact)],
                      exact=exact, name="helmholtz_plane_wave")  # fmt: skip
    return dict(problem=p, hidden=(24, 24), points=2048, exact=exact, pde=pde, bcs=[],
                source="Helmholtz plane-wave solutions (textbook; k = 2π is not a Dirichlet "
                       "eigenvalue)")  # fmt: skip


def forced_oscillator():
    """u'' + u = cos(2t) on t ∈ [0,6], u(0) = 1, u'(0) = 0; u = (4/3) cos t - (1/3) cos 2t.

    Source: the undamped forced oscillator (textbook ODE, closed form)."""

    def exact(x):
        return 4.0 / 3.0 * jnp.cos(x[0]) - 1.0 / 3.0 * jnp.cos(2 * x[0])

    def one(x):
        return 1.0

    def zero(x):
        return 0.0

    def eq(x, u):
        return u.laplacian + u.value - jnp.cos(2 * x[0])

    def pde(x):
        return lap(exact, x) + exact(x) - jnp.cos(2 * x[0])

    def u0(x):
        return exact(x) - 1.0

    def d0(x):
        return jax.grad(exact)(x)[0]

    p = nnpde.Problem(nnpde.Interval(0.0, 6.0), eq,
                      boundary=[nnpde.Initial(one, derivative=zero)],
                      exact=exact, name="forced_oscillator")  # fmt: skip
    bcs = [(u0, np.array([[0.0]])), (d0, np.array([[0.0]]))]
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=bcs,
                source="undamped forced oscillator (textbook ODE, closed form)")  # fmt: skip


def poisson_mixed_bc():
    """-Δu = f on [0,1]², u = sin(2x + y) + x y²; Dirichlet on the left and bottom, Neumann on
    the right (u_x = g), Robin on the top (u + u_y = h).

    Source: manufactured Poisson problem with mixed conditions (DeepXDE-style)."""

    def exact(x):
        return jnp.sin(2 * x[0] + x[1]) + x[0] * x[1] ** 2

    def f(x):
        return 5 * jnp.sin(2 * x[0] + x[1]) - 2 * x[0]

    def gx(x):
        return jax.grad(exact)(x)[0]

    def h(x):
        return exact(x) + jax.grad(exact)(x)[1]

    def eq(x, u):
        return -u.laplacian - f(x)

    def pde(x):
        return -lap(exact, x) - f(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), eq,
                      boundary=[nnpde.Dirichlet(exact, where=["left", "bottom"]),
                                nnpde.Neumann(gx, where="right"),
                                nnpde.Robin(1.0, 1.0, h, where="top")],
                      exact=exact, name="poisson_mixed_bc")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured Poisson with mixed Dirichlet/Neumann/Robin "
                       "(DeepXDE-style)")  # fmt: skip


PROBLEMS = {fn.__name__: fn for fn in (var_coef_poisson, poisson_rect, heat_two_mode,
                                       nonlinear_poisson_cubic, transport_inflow,
                                       helmholtz_plane_wave, forced_oscillator,
                                       poisson_mixed_bc)}  # fmt: skip
ROUNDS = {1: PROBLEMS, 2: heldout_round2.PROBLEMS,  # round 2: written on 2026-12-07
          3: heldout_round3.PROBLEMS,  # round 3: wide boxes and Helmholtz k = 4π, same day
          4: heldout_round4.PROBLEMS,  # round 4: offset, tiny and late boxes, amplitude, layer
          5: heldout_round5.PROBLEMS,  # round 5: bump, interior layer, system, inverse, 2-D heat
          6: heldout_round6.PROBLEMS,  # round 6: annulus, clamped disk, Stokes, pendulum, ...
          7: heldout_round7.PROBLEMS,  # round 7: Robin circle, periodic strip, Neumann pair, beam
          8: heldout_round8.PROBLEMS,  # round 8: Blasius
          9: heldout_round9.PROBLEMS,  # round 9: KdV, Kepler, L shape, plate, triangle
          10: heldout_round10.PROBLEMS}  # round 10: T union, sinh, 2-D layer, Robin heat, SIR
ALL = {name: build for problems in ROUNDS.values() for name, build in problems.items()}


# --- exact-solution checks (--check) ---------------------------------------------------------


def jet(fn, x, order=2):
    """The exact solution's Jet at x, with the partials of order 3..``order`` in ``high``."""
    return nnpde.problem.jet_of(fn, x, order)


def initial_residual(bc, ex, dom, xb, faces):
    """Largest |exact - initial data| (and of the time derivative) at the initial points."""
    xs = xb[[f in ("t_min", "left") for f in faces]] if dom.dim > 1 else np.array([[0.0]])
    if not len(xs):
        return "no points"
    t = dom.dim - 1

    def one(p):
        r = [ex(p) - bc.value(p)]
        if bc.derivative is not None:
            r.append(jax.grad(ex)(p)[t] - bc.derivative(p))
        return jnp.stack(r)

    return float(jnp.max(jnp.abs(jax.jit(jax.vmap(one))(jnp.asarray(xs)))))


def face_residual(bc, ex, xb, nb, faces):
    """(largest residual, number of points) of a Dirichlet / Neumann / Robin / OperatorBC at the
    sampled boundary points of its faces (never the time faces)."""
    kind, where = type(bc).__name__, bc.where
    ws = None if where is None else ((where,) if isinstance(where, str) else tuple(where))
    if ws is not None:  # a Box's faces are x0_min, ...; an Interval's "left" and "right"
        ws = tuple(FACE_ALIAS.get(w, w) for w in ws) + ws
    sel = np.array([(f not in ("t_min", "t_max")) and (ws is None or f in ws) for f in faces])

    def one(p, n):
        dn = jnp.dot(n, jax.grad(ex)(p))
        if kind == "Dirichlet":
            return ex(p) - bc.value(p)
        if kind == "Neumann":
            return dn - bc.flux(p)
        if kind == "OperatorBC":
            return bc.residual(p, jet(ex, p, 4))
        return bc.alpha * ex(p) + bc.beta * dn - bc.value(p)  # Robin

    r = jax.jit(jax.vmap(one))(jnp.asarray(xb[sel]), jnp.asarray(nb[sel]))
    return f"{kind}{ws}", (float(jnp.max(jnp.abs(r))), int(sel.sum()))


def periodic_residual(bc, ex, dom, xb):
    """Largest |u - u(x + L e_axis)| (and of ∂u/∂x_axis) over sampled points moved to the
    lower face of ``bc.axis``."""
    a = jnp.asarray(xb[:32]).at[:, bc.axis].set(dom.lower[bc.axis])
    b = a.at[:, bc.axis].set(dom.upper[bc.axis])

    def one(p, q):
        r = [ex(p) - ex(q)]
        if bc.derivative:
            r.append(jax.grad(ex)(p)[bc.axis] - jax.grad(ex)(q)[bc.axis])
        return jnp.stack(r)

    return float(jnp.max(jnp.abs(jax.jit(jax.vmap(one))(a, b))))


def component(ex, k, components):
    """The k-th component of the exact solution as a scalar function."""
    return ex if components == 1 else (lambda y: ex(y)[k])


def equation_residual(prob, ex, x, params=None):
    """Largest |equation| of the Problem fed the exact solution's jets at the points x (and,
    for an inverse problem, the true coefficients ``params``)."""
    k = prob.components
    extra = () if params is None else (params,)

    order = 4 if k == 1 and extra == () else 2  # the partials a Jet of the problem holds

    def one(xi):
        jets = tuple(jet(component(ex, i, k), xi, order) for i in range(k))
        return jnp.abs(jnp.asarray(prob.equation(xi, jets[0] if k == 1 else jets, *extra)))

    return float(jnp.max(jax.jit(jax.vmap(one))(x)))


def check(name):
    """Exact solution against (a) an independent autodiff residual, (b) the Problem's own
    equation fed the exact jet, (c) every boundary / initial / periodic condition at sampled
    boundary points (per component)."""
    c = ALL[name]()
    prob, ex = c["problem"], c["exact"]
    dom = prob.domain
    x = jnp.asarray(dom.sample(16, key=jax.random.key(7)))
    out = {"pde_indep": float(jnp.max(jnp.abs(jax.vmap(c["pde"])(x)))),
           "pde_problem": equation_residual(prob, ex, x, c.get("params"))}  # fmt: skip
    for i, (fn, pts) in enumerate(c["bcs"]):
        out[f"extra{i}"] = float(jnp.max(jnp.abs(jax.vmap(fn)(jnp.asarray(pts)))))
    bs = dom.sample_boundary(256, key=jax.random.key(3))
    xb, nb, faces = np.asarray(bs.x), np.asarray(bs.normal), [str(f) for f in bs.face]
    for bc in prob.boundary:
        kind, exk = type(bc).__name__, component(ex, bc.component, prob.components)
        if kind == "Initial":
            out[f"Initial[{bc.component}]"] = initial_residual(bc, exk, dom, xb, faces)
        elif kind == "Periodic":
            out[f"Periodic[{bc.component}]"] = periodic_residual(bc, exk, dom, xb)
        else:
            key, value = face_residual(bc, exk, xb, nb, faces)
            out[f"{key}[{bc.component}]"] = value
    return out


# --- runs --------------------------------------------------------------------------------------


def make_case(name) -> Case:
    """The held-out problem ``name`` as the robustness benchmark's ``Case`` (a fresh Problem
    each call)."""
    c = ALL[name]()
    return Case(c["problem"], c["hidden"], c["points"], c["exact"], params=c.get("params"),
                source=c["source"])  # fmt: skip


def run_once(name, seed):
    """One ``nnpde.solve`` with its defaults, scored on the test grid (a JSON-able record):
    the robustness benchmark's own run, test set and scoring (``robustness.solve_once``,
    ``test_points``, ``score``, ``run_info``)."""
    case = make_case(name)  # a fresh Problem per run: the run pays its compilation
    out = robustness.solve_once(case, "lm", seed)
    sol = out["sol"]
    xt = robustness.test_points(case.problem.domain)
    uref = np.asarray(jax.vmap(case.reference)(jnp.asarray(xt))).reshape(xt.shape[0], -1)
    errors = robustness.score(case, sol, xt, uref)
    rec = dict(problem=name, seed=seed, hidden=list(case.hidden), points=case.points,
               nt=int(sol.theta.shape[0]), rel_l2=errors["error"], max_abs=errors["max_abs"],
               wall_s=out["wall_s"], result=out["result"], status=out["status"],
               steps=len(sol.history["loss"]), final_loss=float(sol.history["loss"][-1]))
    if "param_err" in errors:  # an inverse problem: rel_l2 is the larger of u's and this
        rec.update(u_rel_l2=errors["rel_l2"], param_err=errors["param_err"],
                   params={k: float(v) for k, v in errors["params"].items()})  # fmt: skip
    rec.update(robustness.run_info(sol.info))
    return rec


def run_line(rec):
    ratio = rec.get("validation", {}).get("ratio")
    return (f"{rec['problem']} seed {rec['seed']}: rel {rec['rel_l2']:.2e} "
            f"max {rec['max_abs']:.2e} {rec['wall_s']:.1f}s {rec['result']} "
            f"steps {rec['steps']} restarts {rec.get('restarts')} "
            f"validation ratio {ratio if ratio is None else f'{ratio:.1f}'}")  # fmt: skip


# --- report ------------------------------------------------------------------------------------


def summary_row(name, rs):
    """One table row of the runs ``rs`` of problem ``name``."""
    rel = [r["rel_l2"] for r in rs]
    h, nt, pts = rs[0]["hidden"], rs[0]["nt"], rs[0]["points"]
    ok = [f"{sum(e <= t for e in rel)}/{len(rel)}" for t in THRESHOLDS]
    ends = collections.Counter(r["result"] for r in rs)
    steps = [r["steps"] for r in rs]
    restarts = ", ".join(f"s{r['seed']}:{r['restarts']}" for r in rs if r.get("restarts"))
    cells = [name, f"{len(h)}x{h[0]} ({nt})", f"{pts} ({pts / nt:.1f})",
             f"{statistics.median(rel):.1e}", f"{max(rel):.1e}", *ok,
             f"{statistics.median(r['max_abs'] for r in rs):.1e}",
             f"{statistics.median(r['wall_s'] for r in rs):.1f}",
             ", ".join(f"{k} {v}" for k, v in ends.items()),
             f"{min(steps)}-{max(steps)}", restarts or "-"]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def seed_line(name, rs):
    def one(r):
        ratio = r.get("validation", {}).get("ratio")
        return f"s{r['seed']} {r['rel_l2']:.1e}" + ("" if ratio is None else f" (x{ratio:.1f})")

    return f"- {name}: " + ", ".join(one(r) for r in rs)


def markdown(records, meta):
    """The Markdown report: command, machine, one row per problem, per-seed errors."""
    by = collections.defaultdict(list)
    for r in records:
        by[r["problem"]].append(r)
    lines = ["# Held-out robustness check of `nnpde.solve` defaults (LM)", "",
             f"Command: `{meta['command']}`  ", f"Date: {meta['date']}  ",
             f"Machine: {meta['processor']}, {meta['cpus']} CPUs; Python {meta['python']}, "
             f"jax {meta['jax']}, float64", "",
             "| problem | net (NT) | points (per param) | median rel-L2 | worst rel-L2 | <=1e-6 "
             "| <=1e-4 | median max-abs | median wall s | results | steps (min-max) | restarts |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"]  # fmt: skip
    lines += [summary_row(name, rs) for name, rs in by.items()]
    lines += ["", "Per-seed rel-L2 / validation ratio (RMS interior residual at fresh Sobol' "
              "points / at training points):", ""]  # fmt: skip
    lines += [seed_line(name, rs) for name, rs in by.items()]
    return "\n".join(lines) + "\n"


def write(out, report, payload):
    """Writes the report to ``out`` (.md) and the records to the .json beside it."""
    path = pathlib.Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report)
    path.with_suffix(".json").write_text(json.dumps(payload, indent=1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="verify the exact solutions only")
    ap.add_argument("--round", type=int, default=1, choices=sorted(ROUNDS),
                    help="the set of problems (1: the first eight; 2: written 2026-12-07; "
                    "3: wide boxes and Helmholtz k = 4π, written after round 2; 4: offset, "
                    "tiny and late boxes, a large amplitude, a boundary layer, after round 3; "
                    "5: a bump, an interior layer, a system, two coefficients, 2-D heat; "
                    "6: an annulus, a clamped disk, Stokes, a pendulum, an inverse ODE, "
                    "rotating advection; 7: Robin on a circle, a periodic strip, a Neumann "
                    "pair, a clamped nonlinear beam; 8: Blasius; 9: KdV, a Kepler orbit, an "
                    "L shape, a simply supported plate, a triangle with a Neumann edge; 10: a T "
                    "union, Poisson-Boltzmann, a 2-D layer, heat with a Robin side, SIR)")
    ap.add_argument("--problems", nargs="*", default=None, choices=list(ALL),
                    help="problems of any round (default: those of --round)")
    ap.add_argument("--seeds", nargs="*", type=int, default=list(SEEDS))
    ap.add_argument("--out", default=None, help="a Markdown report (and .json beside it)")
    ap.add_argument("--without-slope-scaling", action="store_true",
                    help="keep the start's O(1) first-layer slopes on boxes wider than "
                    "nnpde.solvers.SLOPE_WIDTH (the start before that rule), for an A/B")
    ap.add_argument("--march-after", type=int, default=None, metavar="N",
                    help="restarts march in time once N attempts stalled (nnpde.march."
                    "AFTER_STALLS, default 2), for an A/B")
    a = ap.parse_args(argv)
    if a.without_slope_scaling:
        nnpde.solvers.SLOPE_WIDTH = float("inf")
    if a.march_after is not None:
        nnpde.march.AFTER_STALLS = a.march_after
    a.problems = list(ROUNDS[a.round]) if a.problems is None else a.problems
    if a.check:
        for n in a.problems:
            print(n, check(n), flush=True)
        return 0
    args = sys.argv[1:] if argv is None else argv
    meta = {"command": " ".join(["python benchmarks/heldout.py", *args]), **robustness.machine()}
    records = []
    for n in a.problems:
        for s in a.seeds:
            records.append(run_once(n, s))
            print(run_line(records[-1]), flush=True)
        if a.out:  # after every problem, so an interrupted sweep still leaves a report
            write(a.out, markdown(records, meta), {"meta": meta, "runs": records})
    print(markdown(records, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())

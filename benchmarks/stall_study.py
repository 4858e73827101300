"""Why dense Levenberg-Marquardt stalls, and which changes to the METHOD fix it (issue 16, item 1).

A self-contained LM loop (one jitted ``lax.while_loop`` per run, per-step loss, μ, ρ and
accept/reject recorded) over the model of :func:`nnpde.collocation.make_collocation`, so
that the damping, scaling, acceptance, geodesic acceleration, restarts and the problem set-up
(domain normalisation, the scale of the trial factor B, initialisation, activation, points)
can be varied without touching ``nnpde/``.

A *variant* is a ``+``-joined list of tokens applied to the library's defaults (``base``: Marquardt
scaling D = max(diag JᵀJ, 1e-12·max diag), Nielsen's update, μ0 = 1e-3, accept iff the loss
decreases, no geodesic, LeCun init, tanh, the case's points):

  more | ident            D: Moré's running max of diag(JᵀJ) | I (μ0 × max diag)
  classic | delayed       μ update: ×10/÷10 | Transtrum's delayed gratification ×2 on reject, ÷3
  rho=X                   accept iff ρ > X (actual / predicted decrease)
  bold=B                  also accept uphill steps with (1 - cos∠(δ, δ_prev))^B·C_new ≤ C
  mu0=X  geo[=A]          initial μ; geodesic acceleration with ‖a‖ ≤ A‖δ‖ (A = 0.75)
  restart=mu|perturb[=S]  when μ reaches its cap: reset μ to μ0 | θ += S·rms(θ)·ξ and reset μ
  norm                    the network sees the domain mapped to [-1, 1]^D
  bscale                  B divided by its maximum over the domain
  act=sin  vinit=X  ainit=X  activation; first-layer (v) / output (a) init scale factor
  pts=grid|sobol  npts=N  steps=N  hidden=M1xM2

Usage:
  python benchmarks/stall_study.py run --cases a,c --variants base,geo --seeds 0-4
  python benchmarks/stall_study.py trace --case a --variant base --seed 0
  python benchmarks/stall_study.py table   # writes benchmarks/results/stall-study-cpu.md
  python benchmarks/stall_study.py starts --case a --k 4   # K starts vmapped vs sequential
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from collections.abc import Callable

# one XLA thread: the 2-core machine is shared, and a thread pool oversubscribed by other
# processes made runs ~100x slower (0.3 s -> 40 s per run of case a at load 16)
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from nnpde import Box, Dirichlet, Initial, Interval, Problem, TwoLayerNet  # noqa: E402
from nnpde.collocation import make_collocation  # noqa: E402
from nnpde.trial import build_trial  # noqa: E402

PI = np.pi
HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_JSON = os.path.join(HERE, "results", "stall-study-cpu.json")
RESULTS_MD = os.path.join(HERE, "results", "stall-study-cpu.md")


# ---- problems ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    """A problem with its network, points, step budget and test grid (points per axis)."""

    key: str
    label: str
    build: Callable[[], Problem]
    hidden: tuple
    points: tuple  # ("grid", n per axis) | ("sobol", n)
    steps: int
    test_n: int
    reference: Callable | None = None  # exact(x_test (N, D)) -> (N,) or (N, K) when no exact


def _poisson2d():
    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])

    return Problem(Box((0.0, 0.0), (1.0, 1.0)),
                   lambda x, u: u.laplacian + 2 * PI**2 * exact(x),
                   boundary=[Dirichlet(lambda x: 0.0)], exact=exact, name="poisson2d")  # fmt: skip


def _poisson3d():
    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1]) * jnp.sin(PI * x[2])

    return Problem(Box((0.0,) * 3, (1.0,) * 3),
                   lambda x, u: u.laplacian + 3 * PI**2 * exact(x),
                   boundary=[Dirichlet(lambda x: 0.0)], exact=exact, name="poisson3d")  # fmt: skip


_RD_D = 0.1


def _reaction_diffusion():
    """u_t = 0.1 u_xx - u³ + f on [0,1]x[0,1] (x, t), u = e^{-t} sin(πx) + ½ sin(2πx) cos(πt)."""

    def exact(x):
        return (jnp.exp(-x[1]) * jnp.sin(PI * x[0])
                + 0.5 * jnp.sin(2 * PI * x[0]) * jnp.cos(PI * x[1]))  # fmt: skip

    def source(x):
        g = jax.grad(exact)(x)
        h = jax.hessian(exact)(x)
        return g[1] - _RD_D * h[0, 0] + exact(x) ** 3

    def equation(x, u):
        return u.grad[1] - _RD_D * u.hessian[0, 0] + u.value**3 - source(x)

    return Problem(Box((0.0, 0.0), (1.0, 1.0), time=True), equation,
                   boundary=[Dirichlet(exact), Initial(exact)], exact=exact,
                   name="reaction_diffusion")  # fmt: skip


def _wave():
    """u_tt = 4 u_xx on [0,1]², u = sin(πx)cos(2πt) + ½ sin(4πx)cos(8πt), u_t(x,0) = 0."""

    def exact(x):
        return (jnp.sin(PI * x[0]) * jnp.cos(2 * PI * x[1])
                + 0.5 * jnp.sin(4 * PI * x[0]) * jnp.cos(8 * PI * x[1]))  # fmt: skip

    return Problem(Box((0.0, 0.0), (1.0, 1.0), time=True),
                   lambda x, u: u.hessian[1, 1] - 4.0 * u.hessian[0, 0],
                   boundary=[Dirichlet(lambda x: 0.0),
                             Initial(exact, derivative=lambda x: 0.0)],
                   exact=exact, name="wave")  # fmt: skip


_K = 4 * PI


def _helmholtz():
    """-Δu - k²u = k² sin(kx) sin(ky) on [0,1]², k = 4π (DeepXDE's Helmholtz example, n = 2)."""

    def exact(x):
        return jnp.sin(_K * x[0]) * jnp.sin(_K * x[1])

    return Problem(Box((0.0, 0.0), (1.0, 1.0)),
                   lambda x, u: -u.laplacian - _K**2 * u.value - _K**2 * exact(x),
                   boundary=[Dirichlet(lambda x: 0.0)], exact=exact, name="helmholtz")  # fmt: skip


_LV = (1.0, 1.0, 1.0, 1.0)  # u' = a u - b u v, v' = d u v - c v
_LV0 = (2.0, 1.0)


def _lotka_volterra():
    a, b, c, d = _LV

    def equation(x, u):
        p, q = u
        return jnp.stack([p.grad[0] - (a * p.value - b * p.value * q.value),
                          q.grad[0] - (d * p.value * q.value - c * q.value)])  # fmt: skip

    return Problem(Interval(0.0, 5.0), equation,
                   boundary=[Initial(lambda x: _LV0[0], component=0),
                             Initial(lambda x: _LV0[1], component=1)],
                   components=2, name="lotka_volterra")  # fmt: skip


def _lv_reference(x):
    from scipy.integrate import solve_ivp

    a, b, c, d = _LV
    t = np.asarray(x)[:, 0]
    sol = solve_ivp(lambda _, y: [a * y[0] - b * y[0] * y[1], d * y[0] * y[1] - c * y[1]],
                    (0.0, 5.0), list(_LV0), method="DOP853", rtol=1e-13, atol=1e-13,
                    t_eval=t)  # fmt: skip
    return sol.y.T


CASES = {c.key: c for c in [
    Case("a", "Poisson 2-D sin·sin, (10,10), 16² grid", _poisson2d, (10, 10), ("grid", 16), 400,
         101),
    Case("b", "Poisson 2-D sin·sin, (32,32), 16² grid", _poisson2d, (32, 32), ("grid", 16), 400,
         101),
    Case("c", "reaction-diffusion u_t=0.1u_xx-u³+f, (16,16), 1024 Sobol", _reaction_diffusion,
         (16, 16), ("sobol", 1024), 400, 101),
    Case("d", "wave u_tt=4u_xx, 2 modes, (24,24), 1536 Sobol", _wave, (24, 24),
         ("sobol", 1536), 400, 101),
    Case("e", "Poisson 3-D sin·sin·sin, (16,16), 1024 Sobol", _poisson3d, (16, 16),
         ("sobol", 1024), 400, 31),
    Case("f", "Helmholtz k=4π, (24,24), 1024 Sobol", _helmholtz, (24, 24), ("sobol", 1024),
         400, 101),
    Case("g", "Lotka-Volterra on [0,5], (16,16)x2, 400 grid", _lotka_volterra, (16, 16),
         ("grid", 400), 400, 1001, _lv_reference),
]}  # fmt: skip


# ---- problem transforms (set-up variants) ------------------------------------------------------
def normalise(problem: Problem) -> tuple[Problem, Callable]:
    """The same problem in y = 2(x - lo)/(hi - lo) - 1 ∈ [-1, 1]^D; returns it and y ↦ x."""
    dom = problem.domain
    lo, hi = np.asarray(dom.lower), np.asarray(dom.upper)
    s = 2.0 / (hi - lo)  # dy/dx per axis
    equal = bool(np.allclose(s, s[0]))

    def to_x(y):
        return jnp.asarray(lo) + (y + 1) * (jnp.asarray(hi - lo) / 2)

    def jet_x(u):
        grad = u.grad * s
        hess = u.hessian * np.outer(s, s)
        lap = u.laplacian * s[0] ** 2 if equal else jnp.trace(hess)
        return type(u)(u.value, grad, hess, lap)

    def equation(y, u):
        jets = jet_x(u) if hasattr(u, "grad") else tuple(jet_x(v) for v in u)
        return problem.equation(to_x(y), jets)

    def moved(bc):
        if isinstance(bc, Initial):
            der = bc.derivative
            return dataclasses.replace(
                bc, value=lambda y, f=bc.value: f(to_x(y)),
                derivative=None if der is None else (lambda y, f=der: f(to_x(y)) / s[-1]))
        return dataclasses.replace(bc, value=lambda y, f=bc.value: f(to_x(y)))

    exact = problem.exact
    box = (Box((-1.0,) * dom.dim, (1.0,) * dom.dim, time=dom.time) if dom.dim > 1
           else Interval(-1.0, 1.0, time=dom.time))  # fmt: skip
    new = dataclasses.replace(problem, domain=box, equation=equation,
                              boundary=tuple(moved(bc) for bc in problem.boundary),
                              exact=None if exact is None else (lambda y: exact(to_x(y))),
                              )  # fmt: skip
    return new, to_x


def rescale_b(problem: Problem) -> Problem:
    """ψ = A + (B / max B) N: the trial factor rescaled to peak at 1."""
    trial, _ = build_trial(problem)
    grid = jnp.asarray(problem.domain.test_grid(41 if problem.dim <= 2 else 11))
    c = float(jnp.max(jnp.abs(jax.vmap(trial.B)(grid))))
    return dataclasses.replace(problem, trial=(trial.A, lambda x: trial.B(x) / c))


# ---- the LM method variants --------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Method:
    scaling: str = "marquardt"  # marquardt | more | ident
    update: str = "nielsen"  # nielsen | classic | delayed
    rho_min: float = 0.0
    bold: float = 0.0
    mu0: float = 1e-3
    mu_max: float = 1e12
    mu_min: float = 1e-15
    eps: float = 1e-12
    geodesic: float = 0.0
    geodesic_h: float = 0.1
    restart: str = "none"  # none | mu | perturb
    perturb: float = 0.1
    max_restarts: int = 8


@dataclasses.dataclass(frozen=True)
class Setup:
    norm: bool = False
    bscale: bool = False
    act: str = "tanh"
    vinit: float = 1.0
    ainit: float = 1.0
    pts: str | None = None
    npts: int | None = None
    steps: int | None = None
    hidden: tuple | None = None


def parse_variant(name: str) -> tuple[Method, Setup]:
    m, s = {}, {}
    for tok in name.split("+"):
        key, _, val = tok.partition("=")
        if key == "base":
            continue
        if key in ("more", "ident"):
            m["scaling"] = key
        elif key in ("classic", "delayed"):
            m["update"] = key
        elif key == "rho":
            m["rho_min"] = float(val)
        elif key == "bold":
            m["bold"] = float(val or 2)
        elif key == "mu0":
            m["mu0"] = float(val)
        elif key == "geo":
            m["geodesic"] = float(val or 0.75)
        elif key == "restart":
            kind, _, sigma = val.partition(":")
            m["restart"] = kind
            if sigma:
                m["perturb"] = float(sigma)
        elif key in ("norm", "bscale"):
            s[key] = True
        elif key == "act":
            s["act"] = val
        elif key in ("vinit", "ainit"):
            s[key] = float(val)
        elif key == "pts":
            s["pts"] = val
        elif key in ("npts", "steps"):
            s[key] = int(val)
        elif key == "hidden":
            s["hidden"] = tuple(int(v) for v in val.split("x"))
        else:
            raise ValueError(f"unknown variant token {tok!r}")
    return Method(**m), Setup(**s)


def _gram(model, data, theta):
    if hasattr(model, "gram"):
        return model.gram(theta, data)
    r, J = model.residuals_and_jacobian(theta, data)
    return 0.5 * jnp.mean(r * r), J.T @ J, J.T @ r


def _geodesic(model, data, theta, delta, cf, scale, cfg: Method):
    """Transtrum-Sethna acceleration a = -(JᵀJ+μD)⁻¹Jᵀr'' (copied from nnpde.training)."""
    h = jnp.asarray(cfg.geodesic_h, delta.dtype)
    r_h = model.residuals(theta + h * delta, data)
    if hasattr(model, "linearize"):
        r, jvp, vjp = model.linearize(theta, data)
        rpp = (2 / h) * ((r_h - r) / h - jvp(delta))
    else:
        r, pullback = jax.vjp(lambda th: model.residuals(th, data), theta)
        rpp = (r_h - 2 * r + model.residuals(theta - h * delta, data)) / (h * h)
        vjp = lambda u: pullback(u)[0]  # noqa: E731
    a = -jax.scipy.linalg.cho_solve(cf, vjp(rpp))
    size = lambda v: jnp.sqrt(jnp.sum(scale * v * v))  # noqa: E731
    take = jnp.all(jnp.isfinite(a)) & (size(a) <= cfg.geodesic * size(delta))
    return jnp.where(take, a, 0.0)


def make_runner(model, nres: int, cfg: Method, steps: int):
    """run(data, θ0, key) -> final carry with per-step histories (steps,)."""

    def init(data, theta, key):
        loss, JTJ, JTr = _gram(model, data, theta)
        dt = theta.dtype
        diag = jnp.diag(JTJ)
        mu0 = cfg.mu0 * (jnp.max(diag) if cfg.scaling == "ident" else 1.0)
        nan = jnp.full((steps,), jnp.nan, dt)
        return dict(theta=theta, loss=loss, JTJ=JTJ, JTr=JTr, mu=jnp.asarray(mu0, dt),
                    mu_start=jnp.asarray(mu0, dt), nu=jnp.asarray(2.0, dt),
                    dmax=jnp.maximum(diag, cfg.eps * jnp.max(diag)),
                    prev=jnp.zeros_like(theta), best=theta, best_loss=loss,
                    k=jnp.asarray(0), restarts=jnp.asarray(0), key=key,
                    h_loss=nan, h_mu=nan, h_rho=nan, h_acc=jnp.zeros((steps,), jnp.int8),
                    loss0=loss)  # fmt: skip

    def scaling(s):
        diag = jnp.diag(s["JTJ"])
        if cfg.scaling == "marquardt":
            return jnp.maximum(diag, cfg.eps * jnp.max(diag))
        if cfg.scaling == "more":
            return jnp.maximum(s["dmax"], diag)
        return jnp.ones_like(diag)

    def relinearise(s, theta, extra):
        loss, JTJ, JTr = _gram(model, data_ref[0], theta)
        diag = jnp.diag(JTJ)
        out = dict(s, theta=theta, loss=loss, JTJ=JTJ, JTr=JTr,
                   dmax=jnp.maximum(s["dmax"], diag), **extra)  # fmt: skip
        better = loss < s["best_loss"]
        out["best"] = jnp.where(better, theta, s["best"])
        out["best_loss"] = jnp.where(better, loss, s["best_loss"])
        return out

    data_ref = [None]

    def step(s):
        data = data_ref[0]
        dt = s["theta"].dtype
        D = scaling(s)
        cf = jax.scipy.linalg.cho_factor(s["JTJ"] + jnp.diag(s["mu"] * D))
        delta = -jax.scipy.linalg.cho_solve(cf, s["JTr"])
        ok = jnp.all(jnp.isfinite(delta))
        delta = jnp.where(ok, delta, 0.0)
        cand = s["theta"] + delta
        if cfg.geodesic > 0:
            cand = cand + 0.5 * _geodesic(model, data, s["theta"], delta, cf, D, cfg)
        r = model.residuals(cand, data)
        new_loss = 0.5 * jnp.mean(r * r)
        pred = -(delta @ s["JTr"] + 0.5 * delta @ (s["JTJ"] @ delta)) / nres
        rho = (s["loss"] - new_loss) / jnp.where(pred > 0, pred, jnp.inf)
        fine = ok & jnp.isfinite(new_loss)
        down = fine & (new_loss < s["loss"]) & (rho > cfg.rho_min)
        uphill = jnp.asarray(False)
        if cfg.bold > 0:
            cos = (delta @ s["prev"]) / (jnp.linalg.norm(delta) * jnp.linalg.norm(s["prev"])
                                         + 1e-300)  # fmt: skip
            uphill = fine & ~down & ((1 - cos) ** cfg.bold * new_loss <= s["loss"]) & \
                (new_loss < 10 * s["best_loss"])  # fmt: skip
        accept = down | uphill
        mu, nu = s["mu"], s["nu"]
        if cfg.update == "nielsen":
            mu_acc = mu * jnp.maximum(1 / 3, 1 - (2 * rho - 1) ** 3)
            mu_rej, nu_acc, nu_rej = mu * nu, jnp.asarray(2.0, dt), nu * 2
        elif cfg.update == "classic":
            mu_acc, mu_rej, nu_acc, nu_rej = mu / 10, mu * 10, nu, nu
        else:  # delayed gratification
            mu_acc, mu_rej, nu_acc, nu_rej = mu / 3, mu * 2, nu, nu
        mu_acc = jnp.where(uphill, mu, mu_acc)
        mu_rej = jnp.where(ok, mu_rej, jnp.maximum(mu_rej, 1e-6))
        k = s["k"]

        def on_accept(_):
            extra = dict(mu=jnp.clip(mu_acc, cfg.mu_min, cfg.mu_max), nu=nu_acc, prev=delta)
            return relinearise(s, cand, extra)

        def on_reject(_):
            return dict(s, mu=jnp.minimum(mu_rej, cfg.mu_max), nu=nu_rej)

        out = jax.lax.cond(accept, on_accept, on_reject, None)
        out["h_loss"] = s["h_loss"].at[k].set(out["loss"])
        out["h_mu"] = s["h_mu"].at[k].set(out["mu"])
        out["h_rho"] = s["h_rho"].at[k].set(rho)
        out["h_acc"] = s["h_acc"].at[k].set(jnp.where(uphill, 2, accept.astype(jnp.int8)))
        out["k"] = k + 1
        if cfg.restart != "none":
            out = _restart(out)
        return out

    def _restart(s):
        capped = (s["mu"] >= cfg.mu_max) & (s["restarts"] < cfg.max_restarts)

        def do(_):
            dt = s["theta"].dtype
            base = dict(mu=s["mu_start"], nu=jnp.asarray(2.0, dt), restarts=s["restarts"] + 1,
                        prev=jnp.zeros_like(s["theta"]))  # fmt: skip
            if cfg.restart == "mu":
                return dict(s, **base)
            key, sub = jax.random.split(s["key"])
            th = s["best"]
            rms = jnp.sqrt(jnp.mean(th * th))
            th = th + cfg.perturb * rms * jax.random.normal(sub, th.shape, th.dtype)
            return relinearise(dict(s, key=key), th, base)

        return jax.lax.cond(capped, do, lambda _: dict(s), None)

    def run(data, theta, key):
        data_ref[0] = data
        s = init(data, theta, key)

        def cond(s):
            return (s["k"] < steps) & (s["mu"] < cfg.mu_max) & (s["loss"] > 0)

        s = jax.lax.while_loop(cond, step, s)
        for name in ("JTJ", "JTr"):
            s.pop(name)
        return s

    return run


# ---- building one case + variant ---------------------------------------------------------------
def build(case: Case, setup: Setup):
    problem = case.build()
    to_x = None
    if setup.bscale:
        problem = rescale_b(problem)
    if setup.norm:
        if problem.trial is not None:  # normalise the user trial too
            A, B = problem.trial
            problem, to_x = normalise(dataclasses.replace(problem, trial=None))
            problem = dataclasses.replace(problem, trial=(lambda y: A(to_x(y)),
                                                          lambda y: B(to_x(y))))  # fmt: skip
        else:
            problem, to_x = normalise(problem)
    hidden = setup.hidden or case.hidden
    net = TwoLayerNet(problem.dim, hidden, setup.act)
    kind, n = case.points
    kind = setup.pts or kind
    if setup.npts is not None:
        n = setup.npts if kind == "sobol" else round(setup.npts ** (1 / problem.dim))
    elif kind != case.points[0]:  # same count, other kind
        n = n ** problem.dim if kind == "sobol" else round(n ** (1 / problem.dim))
    x = problem.domain.grid(n) if kind == "grid" else problem.domain.sample(n)
    x = jnp.asarray(x, jnp.float64)
    model, data = make_collocation(problem, net, x, dtype=jnp.float64)
    K = problem.components
    nres = int(jax.eval_shape(model.residuals, jnp.zeros(net.num_params * K), data).shape[0])
    xt = problem.domain.test_grid(case.test_n)
    if case.reference is not None:
        ref = case.reference(xt if to_x is None else np.asarray(jax.vmap(to_x)(xt)))
    else:
        ref = np.asarray(jax.vmap(problem.exact)(jnp.asarray(xt)))
    predict = _predictor(model, net, K, jnp.asarray(xt))
    return model, data, net, K, nres, x.shape[0], ref, predict


def _predictor(model, net, K, xt):
    trials = model.trials

    def psi(theta):
        out = []
        for k in range(K):
            th = theta[k * net.num_params:(k + 1) * net.num_params]
            n = jax.vmap(net.apply, in_axes=(None, 0))(th, xt)
            t = trials[k]
            out.append(n if t is None else jax.vmap(t.A)(xt) + jax.vmap(t.B)(xt) * n)
        return out[0] if K == 1 else jnp.stack(out, axis=1)

    return jax.jit(psi)


def theta0(net, K, seed: int, setup: Setup):
    keys = jax.random.split(jax.random.key(seed), K + 1)
    parts = []
    for k in range(K):
        th = net.init(keys[k] if K > 1 else jax.random.split(jax.random.key(seed), 3)[0],
                      jnp.float64)  # fmt: skip
        p = net.unpack(th)
        p = p._replace(v=p.v * setup.vinit, a=p.a * setup.ainit)
        parts.append(net.pack(p))
    return jnp.concatenate(parts)


def run_variant(case: Case, variant: str, seeds, *, keep_history=False):
    method, setup = parse_variant(variant)
    steps = setup.steps or case.steps
    t0 = time.perf_counter()
    model, data, net, K, nres, npts, ref, predict = build(case, setup)
    runner = jax.jit(make_runner(model, nres, method, steps))
    th0 = theta0(net, K, seeds[0], setup)
    compiled = runner.lower(data, th0, jax.random.key(0)).compile()
    t_build = time.perf_counter() - t0
    rows = []
    for seed in seeds:
        th0 = theta0(net, K, seed, setup)
        t1 = time.perf_counter()
        s = jax.block_until_ready(compiled(data, th0, jax.random.key(1000 + seed)))
        wall = time.perf_counter() - t1
        s = jax.device_get(s)
        u = np.asarray(predict(jnp.asarray(s["best"])))
        err = float(np.linalg.norm(u - ref) / np.linalg.norm(ref))
        rows.append(dict(case=case.key, variant=variant, seed=seed, rel_l2=err,
                         loss=float(s["best_loss"]), loss0=float(s["loss0"]),
                         steps=int(s["k"]), accepted=int(np.sum(s["h_acc"] > 0)),
                         uphill=int(np.sum(s["h_acc"] == 2)), mu=float(s["mu"]),
                         restarts=int(s["restarts"]), stop=_stop_reason(s, steps, method),
                         wall_s=wall, nt=int(net.num_params * K), nres=nres, npts=npts,
                         **({"history": _history(s)} if keep_history else {})))  # fmt: skip
    return rows, t_build


def _stop_reason(s, steps: int, cfg: Method) -> str:
    k = int(s["k"])
    if float(s["loss"]) == 0:
        return "loss=0"
    if float(s["mu"]) >= cfg.mu_max:
        return "mu_cap"
    loss = s["h_loss"][:k]
    tail = loss[-100:]
    if len(tail) >= 100 and tail[-1] > 0.5 * tail[0]:
        return "steps:flat"  # < 2× decrease over the last 100 steps
    return "steps:moving"


def _history(s) -> dict:
    k = int(s["k"])
    return {n: np.asarray(s[f"h_{n}"][:k]).tolist() for n in ("loss", "mu", "rho", "acc")}


# ---- commands ----------------------------------------------------------------------------------
def _seeds(text: str):
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(v) for v in text.split(",")]


def _load():
    if os.path.exists(RESULTS_JSON):
        with open(RESULTS_JSON) as f:
            return json.load(f)
    return {"runs": []}


def _save(db):
    with open(RESULTS_JSON, "w") as f:
        json.dump(db, f, indent=0)


def cmd_run(args):
    for ck in args.cases.split(","):
        for variant in args.variants.split(","):
            load = os.getloadavg()[0]
            rows, t_build = run_variant(CASES[ck], variant, _seeds(args.seeds))
            for r in rows:
                r.update(build_s=t_build, load=load)
            db = _load()  # fresh: other processes may have written since (no lock)
            db["runs"] = [r for r in db["runs"] if not (r["case"] == ck and r["variant"] ==
                                                        variant and r["seed"] in
                                                        _seeds(args.seeds))]  # fmt: skip
            db["runs"].extend(rows)
            _save(db)
            errs = np.array([r["rel_l2"] for r in rows])
            print(f"{ck} {variant:28s} med {np.median(errs):.1e} worst {errs.max():.1e} | "
                  + " ".join(f"{e:.0e}" for e in errs)
                  + f" | stops {','.join(r['stop'] for r in rows)}"
                  + f" | {np.median([r['wall_s'] for r in rows]):.1f}s (+{t_build:.1f}s build)"
                  + f" load {load:.1f}", flush=True)  # fmt: skip


def cmd_trace(args):
    rows, _ = run_variant(CASES[args.case], args.variant, [args.seed], keep_history=True)
    r = rows[0]
    h = r.pop("history")
    print(json.dumps(r))
    loss, mu, rho, acc = map(np.asarray, (h["loss"], h["mu"], h["rho"], h["acc"]))
    every = max(1, len(loss) // args.lines)
    for i in range(0, len(loss), every):
        w = slice(i, i + every)
        print(f"{i:4d} loss {loss[i]:.3e} mu {mu[i]:.1e} rho {rho[i]: .2e} "
              f"acc-rate {np.mean(acc[w] > 0):.2f} mu-range {mu[w].min():.0e}..{mu[w].max():.0e}")
    if args.save:
        with open(args.save, "w") as f:
            json.dump(dict(r, history=h), f)


def cmd_starts(args):
    """K starts: vmapped (one jitted run over K θ0) against K sequential runs."""
    case = CASES[args.case]
    method, setup = parse_variant(args.variant)
    steps = setup.steps or case.steps
    model, data, net, K, nres, _, ref, predict = build(case, setup)
    run = make_runner(model, nres, method, steps)
    th = jnp.stack([theta0(net, K, s, setup) for s in range(args.k)])
    keys = jax.random.split(jax.random.key(0), args.k)
    one = jax.jit(run).lower(data, th[0], keys[0]).compile()
    many = jax.jit(jax.vmap(run, in_axes=(None, 0, 0))).lower(data, th, keys).compile()
    t0 = time.perf_counter()
    seq = [jax.block_until_ready(one(data, th[i], keys[i])) for i in range(args.k)]
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    vm = jax.block_until_ready(many(data, th, keys))
    t_vm = time.perf_counter() - t0
    err = [float(np.linalg.norm(np.asarray(predict(jnp.asarray(s["best"]))) - ref)
                 / np.linalg.norm(ref)) for s in seq]  # fmt: skip
    err_v = [float(np.linalg.norm(np.asarray(predict(vm["best"][i])) - ref) / np.linalg.norm(ref))
             for i in range(args.k)]  # fmt: skip
    print(json.dumps(dict(case=args.case, variant=args.variant, k=args.k, seq_s=t_seq,
                          vmap_s=t_vm, steps_seq=[int(s["k"]) for s in seq],
                          steps_vmap=np.asarray(vm["k"]).tolist(), err_seq=err, err_vmap=err_v,
                          load=os.getloadavg()[0])))  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run")
    p.add_argument("--cases", default="a")
    p.add_argument("--variants", default="base")
    p.add_argument("--seeds", default="0-4")
    p = sub.add_parser("trace")
    p.add_argument("--case", default="a")
    p.add_argument("--variant", default="base")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lines", type=int, default=20)
    p.add_argument("--save", default=None)
    p = sub.add_parser("starts")
    p.add_argument("--case", default="a")
    p.add_argument("--variant", default="base")
    p.add_argument("--k", type=int, default=4)
    sub.add_parser("table")
    args = ap.parse_args(argv)
    {"run": cmd_run, "trace": cmd_trace, "starts": cmd_starts,
     "table": cmd_table}[args.cmd](args)  # fmt: skip


def cmd_table(args):
    db = _load()
    runs = db["runs"]
    lines = ["| case | variant | median rel-L2 | worst rel-L2 | per seed | stops | median s |",
             "|---|---|---:|---:|---|---|---:|"]
    keys = []
    for r in runs:
        if (r["case"], r["variant"]) not in keys:
            keys.append((r["case"], r["variant"]))
    for ck, v in sorted(keys, key=lambda kv: kv[0]):
        rs = sorted([r for r in runs if r["case"] == ck and r["variant"] == v],
                    key=lambda r: r["seed"])  # fmt: skip
        e = np.array([r["rel_l2"] for r in rs])
        stops = {}
        for r in rs:
            stops[r["stop"]] = stops.get(r["stop"], 0) + 1
        lines.append(f"| {ck} | {v} | {np.median(e):.1e} | {e.max():.1e} | "
                     + ", ".join(f"{x:.0e}" for x in e) + " | "
                     + ", ".join(f"{k}×{n}" for k, n in stops.items())
                     + f" | {np.median([r['wall_s'] for r in rs]):.1f} |")  # fmt: skip
    print("\n".join(lines))
    print(platform.processor(), os.cpu_count())


if __name__ == "__main__":
    main()

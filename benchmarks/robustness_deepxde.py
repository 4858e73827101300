"""Peer library on problems of the robustness benchmark: DeepXDE's Adam + L-BFGS recipe.

Run by ``benchmarks/robustness.py --peers --peer deepxde`` in a separate virtual environment
that has DeepXDE and PyTorch (``python3 -m venv /tmp/peers && /tmp/peers/bin/pip install
deepxde torch``; neither is a dependency of nnpde). Same protocol as ``robustness_peers.py``
(jinns): it does not import nnpde; the parent writes the test points and reference values of
each problem to an .npz file, this script trains and writes its errors and wall time to a JSON
file.

Each problem is posed the way DeepXDE's own examples pose it (``examples/pinn_forward/heat.py``,
``Poisson_Lshape.py``, ``Helmholtz_Dirichlet_2d.py``, ``diffusion_reaction.py``): PyTorch
backend, float64, ``dde.geometry.Rectangle`` / ``Cuboid`` / ``Interval`` (× ``TimeDomain`` via
``GeometryXTime``: inputs (x, ..., t), nnpde's order), the boundary and initial data as soft
``DirichletBC`` / ``IC`` terms of the loss (DeepXDE's default, every term weight 1),
``dde.data.PDE`` / ``TimePDE`` with ``num_domain`` = nnpde's Sobol' point count and
``train_distribution="Sobol"``, boundary and initial points at about the spacing of the domain
points (at least 64), an ``FNN([dim, M1, M2, 1], "tanh", "Glorot normal")`` with nnpde's hidden
sizes, and the recipe of heat.py: ``compile("adam", lr=1e-3)``, ``train(iterations=ADAM)``,
then ``compile("L-BFGS")``, ``train()`` with ``set_LBFGS_options(maxiter=LBFGS)`` (PyTorch's
``torch.optim.LBFGS``, strong-Wolfe line search, history 100). ``adam_iters`` / ``lbfgs_iters``
of the spec set ADAM / LBFGS (default 5000 / 5000).

    /tmp/peers/bin/python benchmarks/robustness_deepxde.py IN.npz OUT.json
"""

from __future__ import annotations

import json
import os
import sys
import time
from importlib.metadata import version

os.environ["DDE_BACKEND"] = "pytorch"

import deepxde as dde
import numpy as np
import torch

dde.config.set_default_float("float64")

PI = np.pi
ADAM_ITERS = 5000
LBFGS_ITERS = 5000


# The residuals, on DeepXDE's (N, D) input tensor and (N, 1) output; time is the last column.
def _poisson_2d(x, y):
    lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
    return -lap - 2 * PI**2 * torch.sin(PI * x[:, 0:1]) * torch.sin(PI * x[:, 1:2])


def _poisson_3d(x, y):
    lap = sum(dde.grad.hessian(y, x, i=i, j=i) for i in range(3))
    return -lap - 3 * PI**2 * torch.prod(torch.sin(PI * x), dim=1, keepdim=True)


def _helmholtz(x, y):
    k = 2 * PI
    lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
    return -lap - k**2 * y - k**2 * torch.sin(k * x[:, 0:1]) * torch.sin(k * x[:, 1:2])


def _heat_1d(x, y):
    return dde.grad.jacobian(y, x, i=0, j=1) - 0.4 * dde.grad.hessian(y, x, i=0, j=0)


def _heat_2d(x, y):
    lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
    return dde.grad.jacobian(y, x, i=0, j=2) - 0.1 * lap


def _diffusion_reaction(x, y):
    s, t = x[:, 0:1], x[:, 1:2]
    f = torch.exp(-t) * (1.5 * torch.sin(2 * s) + 8 / 3 * torch.sin(3 * s)
                         + 15 / 4 * torch.sin(4 * s) + 63 / 8 * torch.sin(8 * s))  # fmt: skip
    return dde.grad.jacobian(y, x, i=0, j=1) - dde.grad.hessian(y, x, i=0, j=0) - f


# Initial data on DeepXDE's (N, D + 1) numpy points (x, ..., t).
def _u0_heat_1d(x):
    return np.sin(PI * x[:, 0:1])


def _u0_heat_2d(x):
    s = np.sin(PI * x[:, 1:2])
    return np.sin(PI * x[:, 0:1]) * s + 0.5 * np.sin(2 * PI * x[:, 0:1]) * s


def _u0_dr(x):
    return sum(np.sin(k * x[:, 0:1]) / k for k in (1, 2, 3, 4, 8))


# Each peer problem: (spatial box (lo, hi), tmax or None, initial data or None, residual,
# num_boundary, num_initial). Boundary / initial points at about the spacing h = (|Ω| / P)^(1/D)
# of the P domain points, at least 64: |∂Ω| / h^(D-1) on the boundary (spatial faces × time),
# |Ω_x| / h^(D-1) at t = 0 (e.g. 4·√1024 = 128 for the unit square).
PEER_PROBLEMS = {
    "poisson_2d_sinsin": ((0.0, 0.0), (1.0, 1.0), None, None, _poisson_2d, 128, 0),
    "poisson_3d": ((0.0,) * 3, (1.0,) * 3, None, None, _poisson_3d, 960, 0),
    "helmholtz_2d": ((0.0, 0.0), (1.0, 1.0), None, None, _helmholtz, 180, 0),
    "heat_1d": ((0.0,), (1.0,), 1.0, _u0_heat_1d, _heat_1d, 64, 64),
    "heat_2d": ((0.0, 0.0), (1.0, 1.0), 1.0, _u0_heat_2d, _heat_2d, 640, 160),
    "diffusion_reaction": ((-PI,), (PI,), 1.0, _u0_dr, _diffusion_reaction, 64, 112),
}


def _geometry(lo, hi):
    if len(lo) == 1:
        return dde.geometry.Interval(lo[0], hi[0])
    if len(lo) == 2:
        return dde.geometry.Rectangle(list(lo), list(hi))
    return dde.geometry.Cuboid(list(lo), list(hi))


def _zero(x):
    return np.zeros((len(x), 1))


def _on_boundary(_, on_boundary):
    return on_boundary


def _on_initial(_, on_initial):
    return on_initial


def set_lbfgs_iters(maxiter: int) -> None:
    """``set_LBFGS_options(maxiter=...)``, and the per-step iteration / evaluation caps of the
    PyTorch backend, which DeepXDE 1.15 computes once at import (from maxiter = 15000) and does
    not update, so that maxiter < 1000 would still run 1000 iterations (the fix of DeepXDE's
    pull request #2080)."""
    dde.optimizers.config.set_LBFGS_options(maxiter=maxiter)
    opts = dde.optimizers.config.LBFGS_options
    opts["iter_per_step"] = min(1000, opts["maxiter"])
    opts["fun_per_step"] = opts["maxfun"] * opts["iter_per_step"] // opts["maxiter"]


def run_deepxde(name: str, seed: int, hidden, points: int, adam_iters: int, lbfgs_iters: int,
                x_test) -> dict:  # fmt: skip
    """Trains one problem with DeepXDE's Adam + L-BFGS recipe; predicts at x_test (x, ..., t)."""
    lo, hi, tmax, u0, residual, n_boundary, n_initial = PEER_PROBLEMS[name]
    dde.config.set_random_seed(seed)
    t0 = time.perf_counter()
    geom = _geometry(lo, hi)
    if tmax is None:
        bc = dde.icbc.DirichletBC(geom, _zero, _on_boundary)
        data = dde.data.PDE(geom, residual, [bc], num_domain=points, num_boundary=n_boundary,
                            train_distribution="Sobol")  # fmt: skip
    else:
        geom = dde.geometry.GeometryXTime(geom, dde.geometry.TimeDomain(0.0, tmax))
        bc = dde.icbc.DirichletBC(geom, _zero, _on_boundary)
        ic = dde.icbc.IC(geom, u0, _on_initial)
        data = dde.data.TimePDE(geom, residual, [bc, ic], num_domain=points,
                                num_boundary=n_boundary, num_initial=n_initial,
                                train_distribution="Sobol")  # fmt: skip
    net = dde.nn.FNN([geom.dim] + list(hidden) + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3)
    model.train(iterations=adam_iters, verbose=0)
    adam_steps = model.train_state.step
    set_lbfgs_iters(lbfgs_iters)
    model.compile("L-BFGS")
    model.train(verbose=0)
    pred = np.asarray(model.predict(np.asarray(x_test, np.float64)), np.float64).reshape(-1)
    wall = time.perf_counter() - t0
    loss = float(np.sum(model.train_state.loss_train))
    return {"pred": pred, "wall_s": wall, "loss": loss, "adam_steps": adam_steps,
            "lbfgs_steps": model.train_state.step - adam_steps}  # fmt: skip


def main(argv) -> int:
    src, dst = argv[1], argv[2]
    job = np.load(src)
    spec = json.loads(str(job["spec"]))
    adam_iters = int(spec.get("adam_iters", ADAM_ITERS))
    lbfgs_iters = int(spec.get("lbfgs_iters", LBFGS_ITERS))
    results = []
    for run in spec["runs"]:
        x, ref = job[f"x_{run['problem']}"], job[f"u_{run['problem']}"].reshape(-1)
        try:
            out = run_deepxde(run["problem"], run["seed"], tuple(run["hidden"]), run["points"],
                              adam_iters, lbfgs_iters, x)  # fmt: skip
            err = out["pred"] - ref
            rec = {"rel_l2": float(np.linalg.norm(err) / np.linalg.norm(ref)),
                   "max_abs": float(np.max(np.abs(err))), "wall_s": out["wall_s"],
                   "loss": out["loss"], "adam_steps": out["adam_steps"],
                   "lbfgs_steps": out["lbfgs_steps"], "status": "ok"}  # fmt: skip
            if not np.isfinite(rec["rel_l2"]):
                rec["status"] = "nonfinite"
        except Exception as exc:  # a failure is a result: recorded, not fatal
            rec = {"rel_l2": float("inf"), "max_abs": float("inf"), "wall_s": float("nan"),
                   "status": f"{type(exc).__name__}: {exc}"}  # fmt: skip
        rec.update(run, method="deepxde-adam-lbfgs", adam_iters=adam_iters,
                   lbfgs_iters=lbfgs_iters, error=rec["rel_l2"])  # fmt: skip
        results.append(rec)
        print(json.dumps(rec), flush=True)
    with open(dst, "w") as fh:
        json.dump({"deepxde": version("deepxde"), "torch": torch.__version__,
                   "torch_threads": torch.get_num_threads(), "runs": results}, fh,
                  indent=1)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

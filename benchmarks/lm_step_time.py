"""Wall time of the single-unknown LM step: 2-D Poisson, ``TwoLayerNet(2, (16, 16))``.

The check of issue 18 item 0 (one collocation model for K ≥ 1 components must not slow the
K = 1 path): ``nnpde.solve`` on −Δu = 2π² sin(πx) sin(πy) on [0, 1]², u = 0 on the boundary
(the trial solution imposes it), 1024 Sobol' points, float64, with LM's stopping tests off so
that every run takes exactly ``--steps`` steps, in dispatches of ``--per-call`` steps. The
callback's time stamps give each later dispatch's time per step (the first one holds the
compilation): ``step_ms`` is their median, ``min_step_ms`` their minimum. On a shared CPU
another job can take the core for seconds, so the minimum over dispatches and repeats is the
number to compare; the machine's load (``os.getloadavg``) is recorded before and after. To
compare two versions, run this file from each checkout in turn (``PYTHONPATH=<checkout>``),
alternating, in the same period.

    python benchmarks/lm_step_time.py [--repeats 3] [--steps 200] [--per-call 20]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import nnpde  # noqa: E402

PI = jnp.pi


def problem():
    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    return nnpde.Problem(box, lambda x, u: u.laplacian + 2 * PI**2 * exact(x),
                         boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact)  # fmt: skip


def run(steps: int, per_call: int) -> tuple[list[float], float]:
    """(ms per LM step of each dispatch after the first, wall s of the whole solve)."""
    p = problem()
    solver = nnpde.LM(ftol=0.0, xtol=0.0, gtol=0.0, stall=0.0, rtol=0.0)
    stamps = []
    t0 = time.perf_counter()
    sol = nnpde.solve(p, nnpde.TwoLayerNet(2, (16, 16)), 1024, solver=solver, steps=steps,
                      restarts=0, steps_per_call=per_call,
                      callback=lambda step, loss, theta: stamps.append(time.perf_counter()))
    jax.block_until_ready(sol.theta)
    wall = time.perf_counter() - t0
    assert sol.info["steps"] == steps, sol.info["steps"]
    return [1e3 * (b - a) / per_call for a, b in itertools.pairwise(stamps)], wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--per-call", type=int, default=20)
    opts = ap.parse_args()
    load0 = os.getloadavg()
    dispatch_ms, walls = [], []
    for _ in range(opts.repeats):
        ms, wall = run(opts.steps, opts.per_call)
        dispatch_ms += ms
        walls.append(wall)
    out = {
        "nnpde": os.path.dirname(os.path.dirname(os.path.abspath(nnpde.__file__))),
        "steps": opts.steps, "step_ms": statistics.median(dispatch_ms),
        "min_step_ms": min(dispatch_ms), "solve_wall_s": walls, "load_before": load0,
        "load_after": os.getloadavg(),
    }  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()

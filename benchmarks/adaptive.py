"""Residual-adaptive points against the same number of fixed points on a sharp feature.

Problem: u'' = f on [0, 1] with u = atan(s (x - 1/2)) (a steep interior layer of width ~1/s),
Dirichlet data from u. Both runs use the same network, the same number P of interior points
(Sobol'), the same LM steps and seed; the adaptive run redraws 30% of its points every 50 steps
from 4096 uniform candidates with probability ∝ |r|/mean|r| + 1 (``ResidualAdaptive(
mode="density")``, Wu et al.'s RAD). Errors on a 2001-point test grid.

    python benchmarks/adaptive.py            # writes benchmarks/results/adaptive-cpu.md/.json
    python benchmarks/adaptive.py --quick
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

import nnpde  # noqa: E402
from nnpde.adaptive import ResidualAdaptive  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def layer(steepness: float) -> nnpde.Problem:
    def exact(x):
        return jnp.arctan(steepness * (x[0] - 0.5))

    return nnpde.Problem(nnpde.Interval(0.0, 1.0),
                         lambda x, u: u.laplacian - jax.hessian(exact)(x)[0, 0],
                         boundary=[nnpde.Dirichlet(exact)], exact=exact,
                         name=f"layer_s{steepness:g}")  # fmt: skip


def run(steepness, points, hidden, steps, adapt, seed):
    problem = layer(steepness)
    net = nnpde.TwoLayerNet(1, hidden)
    t0 = time.perf_counter()
    sol = nnpde.solve(problem, net, points, steps=steps, key=jax.random.key(seed),
                      adapt=adapt)  # fmt: skip
    wall = time.perf_counter() - t0
    err = sol.errors(problem.domain.test_grid(2001))
    return {"steepness": steepness, "points": points, "hidden": list(hidden), "steps": steps,
            "adaptive": adapt is not None and len(adapt) > 0, "seed": seed,
            "max_abs": err["max_abs"], "rel_l2": err["rel_l2"], "wall_s": wall,
            "final_loss": float(sol.history["loss"][-1]), "result": sol.result.name,
            "steps_taken": sol.info["steps"], "status": sol.status}  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--steepness", type=float, nargs="+", default=[20.0, 40.0])
    p.add_argument("--points", type=int, default=80)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args(argv)
    if args.quick:
        args.steepness, args.points, args.steps, args.seeds = [40.0], 80, 400, 1
    hidden = (8, 8)
    rows = []
    for s in args.steepness:
        for seed in range(args.seeds):
            for adapt in (None, [ResidualAdaptive(every=50, candidates=4096, fraction=0.3,
                                                  seed=seed, mode="density")]):  # fmt: skip
                row = run(s, args.points, hidden, args.steps, adapt, seed)
                rows.append(row)
                print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    suffix = "-quick" if args.quick else ""
    meta = {"command": "python benchmarks/adaptive.py " + " ".join(argv or sys.argv[1:]),
            "machine": f"{platform.machine()} {platform.processor()}, {jax.devices()[0]}",
            "jax": jax.__version__, "python": platform.python_version()}  # fmt: skip
    (RESULTS / f"adaptive-cpu{suffix}.json").write_text(json.dumps({"meta": meta, "rows": rows},
                                                                   indent=1))  # fmt: skip
    lines = [
        "# Residual-adaptive vs fixed points (1-D steep layer)", "",
        f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}, jax {meta['jax']}, "
        f"Python {meta['python']}, float64.", "",
        f"u'' = f, u = atan(s(x - 1/2)); TwoLayerNet(1, {hidden}), LM, {args.points} interior "
        f"points (Sobol'), {args.steps} steps; adaptive: every 50 steps redraw 30% of the points "
        "from 4096 uniform candidates with probability ∝ |r|/mean|r| + 1. Errors on 2001 "
        "points.", "",
        "| steepness s | seed | points | max-abs fixed | max-abs adaptive | rel L2 fixed | "
        "rel L2 adaptive |", "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for i in range(0, len(rows), 2):
        f, a = rows[i], rows[i + 1]
        lines.append(f"| {f['steepness']:g} | {f['seed']} | {f['points']} | {f['max_abs']:.2e} | "
                     f"{a['max_abs']:.2e} | {f['rel_l2']:.2e} | {a['rel_l2']:.2e} |")  # fmt: skip
    (RESULTS / f"adaptive-cpu{suffix}.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Inverse problems with noisy observations: how ``solve``'s default run ends, and what it costs.

-κΔu = f on the unit square with u = sin(πx) sin(πy), u = 0 on the boundary, κ = 2 unknown
(start 1), 60 Halton observations of u with Gaussian noise of standard deviation σ (absolute;
max u = 1). With σ > 0 the least-squares minimum of the loss lies far above ``rtol`` times the
reference loss, so no run can reach LM's "good" loss: every start stalls at that floor. The
script runs ``solve``'s defaults (2×16 tanh, 1024 Sobol' points) over σ and seeds and reports
the result code, the attempts, the wall time and the errors of κ and u.

``--without-floor-rule`` switches off the rule that ends the restarts when two starts stall at
the same loss (``nnpde.runs.reproduced_floor``; it sets ``nnpde.runs.FLOOR_DEPTH = 0``), to
measure what it changes.

    python benchmarks/noisy_inverse.py --out benchmarks/results/noisy-inverse-cpu.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnpde  # noqa: E402
from nnpde import runs  # noqa: E402

PI = np.pi
KAPPA = 2.0
SIGMAS = (0.0, 1e-3, 1e-2, 1e-1)
UNIT = nnpde.Box((0.0, 0.0), (1.0, 1.0))


def exact(x):
    return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])


def problem(sigma: float) -> nnpde.Problem:
    """The inverse problem with observation noise ``sigma`` (the noise drawn with seed 0)."""
    x_obs = UNIT.sample(60, key=jax.random.key(5), method="halton")
    u_obs = np.asarray(jax.vmap(exact)(jnp.asarray(x_obs)))
    u_obs = u_obs + sigma * np.random.default_rng(0).standard_normal(u_obs.shape)
    return nnpde.Problem(
        UNIT, lambda x, u, p: -p["kappa"] * u.laplacian - KAPPA * 2 * PI**2 * exact(x),
        boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact, params={"kappa": 1.0},
        data=(x_obs, u_obs), name=f"noisy_kappa_{sigma:g}",
    )  # fmt: skip


def run(p: nnpde.Problem, seed: int) -> dict:
    jax.clear_caches()  # every run pays its compilation, as a user's first solve does
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnpde.UnderResolvedWarning)
        sol = nnpde.solve(p, nnpde.TwoLayerNet(2, (16, 16)), 1024, key=jax.random.key(seed))
    wall = time.perf_counter() - t0
    attempts = sol.info.get("restarts", [{"result": sol.result.name, "loss": sol.info["loss"]}])
    return {"seed": seed, "result": sol.result.name, "wall_s": wall,
            "attempts": [{"result": a["result"], "loss": a["loss"]} for a in attempts],
            "kappa_err": abs(sol.params["kappa"] / KAPPA - 1),
            "rel_l2": float(sol.errors()["rel_l2"]), "floor": bool(sol.info.get("floor"))}


def markdown(rows: list[dict], meta: dict) -> str:
    out = ["# Inverse Poisson with noisy observations: how the default run ends", "",
           f"Command: `{meta['command']}`  ", f"Date: {meta['date']}  ",
           f"Machine: {meta['machine']}; load average {meta['load_start']} at the start, "
           f"{meta['load_end']} at the end", "",
           "| σ | results | attempts per run | median wall s | κ error median / worst "
           "| u rel-L2 median / worst |",
           "|---:|---|---|---:|---|---|"]  # fmt: skip
    for sigma in sorted({r["sigma"] for r in rows}):
        rs = [r for r in rows if r["sigma"] == sigma]
        results = ", ".join(f"{n}× {k}" for k, n in sorted(
            {r["result"]: sum(q["result"] == r["result"] for q in rs) for r in rs}.items()))
        ke, ue = [r["kappa_err"] for r in rs], [r["rel_l2"] for r in rs]
        out.append(f"| {sigma:g} | {results} | {' '.join(str(len(r['attempts'])) for r in rs)} "
                   f"| {statistics.median(r['wall_s'] for r in rs):.1f} "
                   f"| {statistics.median(ke):.1e} / {max(ke):.1e} "
                   f"| {statistics.median(ue):.1e} / {max(ue):.1e} |")  # fmt: skip
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--sigmas", type=float, nargs="+", default=list(SIGMAS))
    ap.add_argument("--without-floor-rule", action="store_true",
                    help="nnpde.runs.FLOOR_DEPTH = 0: restarts go on after two equal stalls")
    ap.add_argument("--out", help="Markdown report path (a .json beside it)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    if args.without_floor_rule:
        runs.FLOOR_DEPTH = 0.0
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    rows = []
    for sigma in args.sigmas:
        p = problem(sigma)
        for seed in range(args.seeds):
            rows.append({"sigma": sigma, **run(p, seed)})
            r = rows[-1]
            print(f"σ={sigma:g} seed {seed}: {r['result']}, {len(r['attempts'])} attempts, "
                  f"{r['wall_s']:.1f} s, κ err {r['kappa_err']:.1e}, u {r['rel_l2']:.1e}",
                  flush=True)  # fmt: skip
    meta = {"command": " ".join(["python benchmarks/noisy_inverse.py", *argv]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, jax {jax.__version__}, "
                       f"float64", "load_start": load,
            "load_end": " ".join(f"{v:.2f}" for v in os.getloadavg())}  # fmt: skip
    report = markdown(rows, meta)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
        with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
            json.dump({"meta": meta, "runs": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

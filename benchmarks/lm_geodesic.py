"""Levenberg-Marquardt with and without geodesic acceleration, over seeds.

For each problem and seed, ``nnpde.solve`` runs dense LM for ``--steps`` steps twice from the
same θ0: with ``nnpde.LM(geodesic=0)`` (plain LM, the default) and with
``nnpde.LM(geodesic=0.75)``; a run may end earlier by its own convergence/stall tests. It
reports the final loss, the relative L2 and max-abs errors on the problem's test grid (never
the training points) and the wall time (compilation included).

Problems (float64, tanh, TwoLayerNet(2, (16, 16)), 24×24 interior grid, trial solutions
imposing the Dirichlet data exactly):

- Lagaris et al. (1998) PDE 1 (``nnpde.problems.lagaris_pde1``);
- Poisson 2-D, −Δu = 2π² sin(πx) sin(πy), u = 0 on the boundary, nnpde's default trial
  solution ψ = B·N with B = x(1−x)y(1−y) (the problem of ``time_to_accuracy.py``);
- the catalogue's Poisson 2-D and Lagaris PDE 2 with their own recipes (``--catalogue``).

    python benchmarks/lm_geodesic.py [--seeds 5] [--steps 300] [--out PATH.md]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnpde  # noqa: E402

PI = jnp.pi


def poisson_sin():
    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    return nnpde.Problem(box, lambda x, u: u.laplacian + 2 * PI**2 * exact(x),
                         boundary=[nnpde.Dirichlet(exact)], exact=exact)  # fmt: skip


def cases(catalogue: bool):
    """(label, problem, net, points) for each problem."""
    net = nnpde.TwoLayerNet(2, (16, 16), "tanh")
    lag = nnpde.problems.lagaris_pde1().problem
    out = [
        ("Lagaris PDE 1, (16,16), 24×24", lag, net, lag.domain.grid(24)),
        ("Poisson sin·sin, default B, (16,16), 24×24", poisson_sin(), net,
         poisson_sin().domain.grid(24)),
    ]  # fmt: skip
    if catalogue:
        for name in ("poisson_2d", "lagaris_pde2"):
            bench = nnpde.problems.get(name)
            out.append((f"catalogue {name}, its recipe", bench.problem, bench.net(),
                        bench.points()))  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--catalogue", action="store_true", help="add two catalogue recipes")
    ap.add_argument("--out", default="benchmarks/results/geodesic-cpu.md")
    args = ap.parse_args()
    load = os.getloadavg()
    rows, raw = [], []
    for label, problem, net, points in cases(args.catalogue):
        for geodesic in (0.0, 0.75):
            cfg = nnpde.LM(geodesic=geodesic)
            per_seed = []
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                sol = nnpde.solve(problem, net, points, solver=cfg, steps=args.steps,
                                  key=jax.random.key(seed))  # fmt: skip
                wall = time.perf_counter() - t0
                err = sol.errors()
                rec = {"problem": label, "geodesic": geodesic, "seed": seed,
                       "loss": float(sol.history["loss"][-1]), "rel_l2": err["rel_l2"],
                       "max_abs": err["max_abs"], "wall_s": wall, "steps": sol.info["steps"],
                       "result": sol.result.name, "status": sol.status}  # fmt: skip
                per_seed.append(rec)
                raw.append(rec)
                print(f"{label} geodesic={geodesic} seed {seed}: loss {rec['loss']:.2e} "
                      f"rel L2 {rec['rel_l2']:.2e} {wall:.1f} s", flush=True)  # fmt: skip
            rel = np.array([r["rel_l2"] for r in per_seed])
            loss = np.array([r["loss"] for r in per_seed])
            rows.append(
                f"| {label} | {geodesic:g} | {np.median(loss):.1e} | {np.median(rel):.1e} | "
                f"{rel.min():.1e} – {rel.max():.1e} | "
                + ", ".join(f"{v:.0e}" for v in rel)
                + f" | {np.median([r['wall_s'] for r in per_seed]):.1f} |"
            )
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())  # fmt: skip
    load_end = os.getloadavg()
    lines = [
        "# Dense LM with and without geodesic acceleration",
        "",
        f"`{' '.join(['python', *sys.argv])}`",
        "",
        f"- machine: {cpu}, {os.cpu_count()} CPU(s); jax {jax.__version__}, Python "
        f"{platform.python_version()}; load average (1 min) at start / end {load[0]:.1f} / "
        f"{load_end[0]:.1f}",
        f"- date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"- {args.steps} LM steps per run, seeds 0..{args.seeds - 1} (`solve(key=...)`: the "
        "same θ0 for both settings); errors on the problem's test grid (`Solution.errors()`); "
        "time = the whole `solve` call, compilation included",
        "",
        "| problem | geodesic | median final loss | median rel L2 | rel L2 range | rel L2 per "
        "seed | median s |",
        "|---|---:|---:|---:|---:|---|---:|",
        *rows,
        "",
    ]
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines))
    with open(os.path.splitext(args.out)[0] + ".json", "w") as fh:
        json.dump({"args": vars(args), "cpu": cpu, "load": [load, load_end], "runs": raw},
                  fh, indent=1)  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

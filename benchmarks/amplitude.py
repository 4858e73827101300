"""Does ``solve`` reach the same relative accuracy whatever the size of the solution?

-Δu = f on the unit square, u = a·sin(πx) sin(πy), u = 0 on the boundary, for amplitudes a
from 1e-8 to 1e6 (a user's units: metres vs nanometres), each solved with ``solve``'s defaults
(2×16 tanh ``TwoLayerNet``, 1024 Sobol' points) over seeds 0..N-1 and scored by the relative
L2 error on a 101² test grid. The problem is the same up to the factor a, so a method whose
start and stopping tests do not depend on the units gives the same relative errors for every a.

    python benchmarks/amplitude.py --out benchmarks/results/amplitude-cpu.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnpde  # noqa: E402

AMPLITUDES = (1e-8, 1e-4, 1.0, 1e3, 1e6)
PI = np.pi


def problem(a: float) -> tuple[nnpde.Problem, object]:
    """(the problem, its exact solution) for amplitude ``a``."""

    def exact(x):
        return a * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)),
                      lambda x, u: -u.laplacian - 2 * PI**2 * exact(x),
                      boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact)  # fmt: skip
    return p, exact


def run(a: float, seed: int, hidden=(16, 16), points: int = 1024) -> dict:
    """``solve``'s defaults on amplitude ``a`` (a 2×``hidden`` net, ``points`` Sobol' points),
    scored on the 101² test grid."""
    p, exact = problem(a)
    sol = nnpde.solve(p, nnpde.TwoLayerNet(2, hidden), points, key=jax.random.key(seed))
    x = p.domain.test_grid(101)
    u, ref = np.asarray(sol(x)).ravel(), np.asarray(jax.vmap(exact)(jnp.asarray(x)))
    return {"amplitude": a, "seed": seed, "rel_l2": float(np.linalg.norm(u - ref)
                                                            / np.linalg.norm(ref)),
            "steps": int(sol.info["steps"]), "result": sol.result.name}  # fmt: skip


def markdown(rows: list[dict], seeds: int) -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    out = ["# Relative accuracy against the size of the solution",
           "",
           f"`python benchmarks/amplitude.py --seeds {seeds}`; {datetime.date.today()}, "
           f"{platform.machine()}, jax {jax.__version__}, float64, load average "
           f"{' '.join(f'{v:.2f}' for v in load)} at the end.",
           "",
           "| a | rel-L2 per seed | steps | results |",
           "|---:|---|---|---|"]  # fmt: skip
    for a in AMPLITUDES:
        rs = [r for r in rows if r["amplitude"] == a]
        errors = " ".join(f"{r['rel_l2']:.1e}" for r in rs)
        out.append(f"| {a:g} | {errors} | "
                   f"{' '.join(str(r['steps']) for r in rs)} | "
                   f"{', '.join(sorted({r['result'] for r in rs}))} |")  # fmt: skip
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", help="Markdown report path")
    args = ap.parse_args(argv)
    rows = []
    for a in AMPLITUDES:
        for seed in range(args.seeds):
            rows.append(run(a, seed))
            print(rows[-1], flush=True)
    report = markdown(rows, args.seeds)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Dirichlet data at corners: the exact trial ψ = g + φN against the default (issue 16).

On six 2-D domains, -Δu = f with u = g + bubble (the bubble vanishing on the boundary to first
order, so that the network has something to learn), solved with ``solve``'s defaults twice:
with the data imposed exactly through the domain's distance function (``Problem(trial=(g,
domain.distance))``) and as ``solve`` chooses (a penalty where
:func:`nnpde.geometry.kinked_faces` finds a kink, the exact trial elsewhere). 2×20 tanh, 1024
Sobol' points, relative L2 on the domain's test grid (101 per axis).

    python benchmarks/corners.py --out benchmarks/results/corners-cpu.md
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnpde  # noqa: E402
from nnpde.geometry import kinked_faces  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import robustness  # noqa: E402

L_SHAPE = ((-1.0, -1.0), (1.0, -1.0), (1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (-1.0, 1.0))


def _g(x):
    return jnp.sin(1.5 * x[0]) * jnp.cos(x[1]) + 0.5 * x[0] * x[1]


def _box_bubble(x, lo, hi):
    return (x[0] - lo) * (hi - x[0]) * (x[1] - lo) * (hi - x[1])


def _circle(x, c, r):
    return (x[0] - c[0]) ** 2 + (x[1] - c[1]) ** 2 - r**2


def _l_bubble(x):
    return 2.0 * x[0] * x[1] * (1 - x[0] ** 2) * (1 - x[1] ** 2)


CASES = {  # name: (domain, bubble)
    "L_polygon": (nnpde.Polygon(L_SHAPE), _l_bubble),
    "L_boxes": (nnpde.Box((-1.0, -1.0), (1.0, 1.0)) - nnpde.Box((0.0, 0.0), (1.0, 1.0)),
                _l_bubble),
    "quarter_cut": (nnpde.Box((0.0, 0.0), (1.0, 1.0)) - nnpde.Disk((1.0, 1.0), 0.5),
                    lambda x: 4.0 * _box_bubble(x, 0.0, 1.0) * _circle(x, (1.0, 1.0), 0.5)),
    "square_hole": (nnpde.Box((0.0, 0.0), (1.0, 1.0)) - nnpde.Box((0.25, 0.25), (0.75, 0.75)),
                    lambda x: 200.0 * _box_bubble(x, 0.0, 1.0) * _box_bubble(x, 0.25, 0.75)),
    "lens": (nnpde.Disk((0.0, 0.0), 1.0) & nnpde.Disk((1.0, 0.0), 1.0),
             lambda x: _circle(x, (0.0, 0.0), 1.0) * _circle(x, (1.0, 0.0), 1.0)),
    "round_hole": (nnpde.Box((0.0, 0.0), (1.0, 1.0)) - nnpde.Disk((0.5, 0.5), 0.25),
                   lambda x: 4.0 * _box_bubble(x, 0.0, 1.0) * _circle(x, (0.5, 0.5), 0.25)),
}  # fmt: skip


def problem(name: str, exact_trial: bool) -> nnpde.Problem:
    """-Δu = f on the case's domain, u = g + bubble, Dirichlet data g on the whole boundary;
    ``exact_trial`` forces ψ = g + φN with the domain's distance φ."""
    dom, bubble = CASES[name]

    def u(x):
        return _g(x) + bubble(x)

    def equation(x, w):
        return -w.laplacian + jnp.trace(jax.hessian(u)(x))

    trial = (_g, dom.distance) if exact_trial else None
    return nnpde.Problem(dom, equation, boundary=[nnpde.Dirichlet(_g)], trial=trial, exact=u,
                         name=name)  # fmt: skip


def run(name: str, exact_trial: bool, seed: int) -> dict:
    prob = problem(name, exact_trial)
    xt = jnp.asarray(robustness.test_points(prob.domain))
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        sol = nnpde.solve(prob, nnpde.TwoLayerNet(2, (20, 20)), 1024, key=jax.random.key(seed))
    wall = time.perf_counter() - t0
    u, ue = np.asarray(sol(xt)).ravel(), np.asarray(jax.vmap(prob.exact)(xt))
    v = sol.info.get("validation") or {}
    return {"case": name, "trial": "exact" if exact_trial else "default", "seed": seed,
            "rel_l2": float(np.linalg.norm(u - ue) / np.linalg.norm(ue)), "wall_s": wall,
            "result": str(sol.result), "steps": int(sol.info.get("steps", 0)),
            "ratio": v.get("ratio"), "penalty": sol.trial is None}  # fmt: skip


def markdown(rows: list, meta: dict) -> str:
    out = ["# Dirichlet data at corners: exact trial against `solve`'s choice", "",
           f"Command: `{meta['command']}`  ", f"Date: {meta['date']}  ",
           f"Machine: {meta['machine']}; load average at the start {meta['load']}", "",
           "| domain | kink (`kinked_faces`) | exact trial: rel-L2 | ratio | default: rel-L2 "
           "| ratio | default imposes |", "|---|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for name, (dom, _) in CASES.items():
        cell = {}
        for mode in ("exact", "default"):
            rs = [r for r in rows if r["case"] == name and r["trial"] == mode]
            if not rs:
                continue
            errs = sorted(r["rel_l2"] for r in rs)
            ratios = [r["ratio"] or 0.0 for r in rs]
            cell[mode] = (f"{errs[0]:.1e} … {errs[-1]:.1e}", f"{min(ratios):.3g}–{max(ratios):.3g}",
                          "penalty" if rs[0]["penalty"] else "exact trial")  # fmt: skip
        e, d = cell.get("exact", ("", "", "")), cell.get("default", ("", "", ""))
        out.append(f"| {name} | {kinked_faces(dom, dom.faces) or '—'} | {e[0]} | {e[1]} | "
                   f"{d[0]} | {d[1]} | {d[2]} |")  # fmt: skip
    out += ["", "Runs (seed: rel-L2, result, steps, wall s):", ""]
    out += [f"- {r['case']} {r['trial']} s{r['seed']}: {r['rel_l2']:.2e}, {r['result']}, "
            f"{r['steps']}, {r['wall_s']:.1f}" for r in rows]  # fmt: skip
    return "\n".join(out) + "\n"


def subprocess_cpu() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1])
    ap.add_argument("--out", default=None, help="a Markdown report")
    args = ap.parse_args(argv)
    m = robustness.machine()
    cpu = subprocess_cpu()
    meta = {"command": " ".join(["python benchmarks/corners.py", *(argv or sys.argv[1:])]),
            "date": m["date"], "load": ", ".join(f"{v:.2f}" for v in m["load_avg"] or ()),
            "machine": f"{cpu}, {m['cpus']} CPUs; Python {m['python']}, jax {m['jax']}, "
                       "float64"}  # fmt: skip
    rows = []
    for name in args.cases:
        for mode in (True, False):
            for s in args.seeds:
                rows.append(run(name, mode, s))
                r = rows[-1]
                print(f"{name} {r['trial']} s{s}: {r['rel_l2']:.2e} {r['result']} "
                      f"{r['steps']} steps {r['wall_s']:.1f} s ratio {r['ratio']}", flush=True)
        if args.out:
            pathlib.Path(args.out).write_text(markdown(rows, meta))
    print(markdown(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())

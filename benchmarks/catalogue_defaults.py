"""Every catalogue problem solved with solve's defaults: how the run ends, and its accuracy.

For each entry of ``nnpde.problems`` this runs ``nnpde.solve`` with the entry's recommended
network and collocation points and nothing else (default solver ``nnpde.LM()``, default step
cap, default tolerances), and reports the result code (``converged`` / ``stalled`` /
``max_steps`` ...), the test that ended the run, the steps, the wall time (compilation
included) and the max-abs and relative L2 errors on the entry's test set, beside the accuracy
the recipe documents. Results go to a Markdown table and a JSON file with the machine and the
command.

    python benchmarks/catalogue_defaults.py [--problems heat burgers] [--seeds 0 1 2]
        [--out benchmarks/results/catalogue-defaults-cpu.md] [--resume]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import nnpde  # noqa: E402
import nnpde.problems as catalogue  # noqa: E402


def run_one(bench, seed: int) -> dict:
    jax.clear_caches()  # compiled as in a new process (and the mappings stay bounded)
    t0 = time.perf_counter()
    sol = nnpde.solve(bench.problem, bench.net(), bench.points(), key=jax.random.key(seed),
                      boundary_points=bench.recipe.boundary_points)  # fmt: skip
    wall = time.perf_counter() - t0
    err = sol.errors()
    return {"problem": bench.name, "seed": seed, "result": sol.result.name,
            "status": sol.status, "steps": sol.info["steps"], "wall_s": wall,
            "loss": sol.info["loss"], "max_abs": err["max_abs"], "rel_l2": err["rel_l2"],
            "doc_max_abs": bench.recipe.max_abs, "doc_rel_l2": bench.recipe.rel_l2,
            "validation_ratio": sol.info.get("validation", {}).get("ratio")}  # fmt: skip


def within(r: dict) -> bool:
    """The run is within the accuracy its recipe documents (max-abs and relative L2)."""
    return r["max_abs"] <= r["doc_max_abs"] and r["rel_l2"] <= r["doc_rel_l2"]


def save(path_json: str, rows: list[dict]) -> None:
    with open(path_json, "w") as f:
        json.dump({"argv": sys.argv, "rows": rows}, f, indent=1)


def table(rows: list[dict]) -> str:
    out = ["| problem | seed | result | steps | wall s | max-abs | rel L2 | documented "
           "max-abs / rel L2 | within |", "|---|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ok = within(r)
        out.append(f"| {r['problem']} | {r['seed']} | {r['result']} | {r['steps']} | "
                   f"{r['wall_s']:.1f} | {r['max_abs']:.1e} | {r['rel_l2']:.1e} | "
                   f"{r['doc_max_abs']:.0e} / {r['doc_rel_l2']:.0e} | "
                   f"{'yes' if ok else 'no'} |")  # fmt: skip
    return "\n".join(out)


def summary(rows: list[dict]) -> str:
    """Per problem over its seeds: how the runs ended, median and worst errors and wall time."""
    out = ["| problem | seeds | ended | median max-abs | worst max-abs | median rel L2 | "
           "worst rel L2 | documented max-abs / rel L2 | all within | median wall s |",
           "|---|---:|---|---:|---:|---:|---:|---:|---|---:|"]
    for name in dict.fromkeys(r["problem"] for r in rows):
        rs = [r for r in rows if r["problem"] == name]
        ends = ", ".join(f"{k} {sum(r['result'] == k for r in rs)}"
                         for k in sorted({r["result"] for r in rs}))  # fmt: skip
        ma, rl = [np.array([r[k] for r in rs]) for k in ("max_abs", "rel_l2")]
        ok = all(within(r) for r in rs)
        out.append(f"| {name} | {len(rs)} | {ends} | {np.median(ma):.1e} | {ma.max():.1e} | "
                   f"{np.median(rl):.1e} | {rl.max():.1e} | {rs[0]['doc_max_abs']:.0e} / "
                   f"{rs[0]['doc_rel_l2']:.0e} | {'yes' if ok else 'no'} | "
                   f"{np.median([r['wall_s'] for r in rs]):.1f} |")  # fmt: skip
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="*", default=None)
    ap.add_argument("--seeds", nargs="*", type=int, default=[0])
    ap.add_argument("--out", default="benchmarks/results/catalogue-defaults-cpu.md")
    ap.add_argument("--resume", action="store_true",
                    help="keep the runs already in the JSON beside --out, run the others")
    args = ap.parse_args(argv)
    names = args.problems or list(catalogue.catalogue())
    path_json = os.path.splitext(args.out)[0] + ".json"
    rows = []
    if args.resume and os.path.exists(path_json):
        with open(path_json) as f:
            rows = json.load(f)["rows"]
    done = {(r["problem"], r["seed"]) for r in rows}
    for name in names:
        bench = catalogue.get(name)
        for seed in args.seeds:
            if (name, seed) in done:
                continue
            rows.append(run_one(bench, seed))
            save(path_json, rows)  # after every run: a crash loses one run at most
            r = rows[-1]
            print(f"{name:18s} s{seed} {r['result']:10s} {r['steps']:5d} steps "
                  f"{r['wall_s']:6.1f} s  max-abs {r['max_abs']:.1e}  rel {r['rel_l2']:.1e}  "
                  f"| {r['status']}", flush=True)  # fmt: skip
    ends = {k: sum(r["result"] == k for r in rows) for k in {r["result"] for r in rows}}
    head = (f"# Catalogue problems with solve's defaults\n\nCommand: `python "
            f"{' '.join(sys.argv)}`  \nMachine: {platform.machine()}, {os.cpu_count()} CPUs, "
            f"jax {jax.__version__}, float64; load average at the end "
            f"{os.getloadavg()[0]:.2f}.  \nEach run: the entry's network and points, "
            f"`nnpde.solve(problem, net, points, key=jax.random.key(seed))`, nothing else. "
            f"Runs ended: {ends}. Median wall time "
            f"{np.median([r['wall_s'] for r in rows]):.1f} s.\n\n")  # fmt: skip
    with open(args.out, "w") as f:
        f.write(head + "## Per problem, over the seeds\n\n" + summary(rows)
                + "\n\n## Every run\n\n" + table(rows) + "\n")  # fmt: skip
    save(path_json, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

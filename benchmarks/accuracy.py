"""Accuracy of LM, L-BFGS and Adam on the problem catalogue at equal wall-time budgets.

Every catalogue entry (``nnpde.problems``) is solved with its recommended network and
collocation points by each method, each given the same wall-time budget (``--budget`` seconds,
compilation included: ``nnpde.solve(time_limit=...)``), from the same initial θ. The max-abs
and relative L2 errors are measured against the exact solution on the entry's default test set
(``Solution.errors()``: a fine grid with the boundary, or 10⁴ Sobol' points in D > 3; never the
training points). Results go to a Markdown table and a JSON file with the machine and command.

    python benchmarks/accuracy.py [--budget 15] [--problems heat burgers] [--methods lm adam]

Shards (e.g. one per pair of cores, ``taskset -c 0,1 python benchmarks/accuracy.py --problems
... --out shard0.md``) are combined with ``--merge shard0.json shard1.json ... --out ...``.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import optax  # noqa: E402

import nnpde  # noqa: E402
import nnpde.problems as catalogue  # noqa: E402

METHODS = ("lm", "lbfgs", "adam")
# Steps per jitted dispatch: the time limit is checked between dispatches, so these bound the
# overshoot (≈ one dispatch) while keeping Python overhead negligible.
STEPS_PER_CALL = {"lm": 10, "lbfgs": 100, "adam": 500}
MAX_STEPS = 10_000_000
# Without solve(time_limit=): steps per second of budget, a rough CPU rate (emulation).
FALLBACK_STEPS_PER_S = {"lm": 20, "lbfgs": 200, "adam": 2000}


def _has_time_limit() -> bool:
    return "time_limit" in inspect.signature(nnpde.solve).parameters


def run_one(bench, method: str, budget: float, adam_lr: float) -> dict:
    # method= (solve's older name of solver=) also replaces the recipe's own method=
    solver = nnpde.Optax(optax.adam(adam_lr)) if method == "adam" else method
    kwargs = {"method": solver, "steps_per_call": STEPS_PER_CALL[method]}
    if _has_time_limit():
        kwargs |= {"steps": MAX_STEPS, "time_limit": budget}
    else:
        kwargs |= {"steps": max(1, int(FALLBACK_STEPS_PER_S[method] * budget))}
    t0 = time.perf_counter()
    sol = bench.solve(**kwargs)
    wall = time.perf_counter() - t0
    err = sol.errors()
    ref = bench.reference
    m = _machine()
    return {
        "problem": bench.name,
        "host": f"{m['cpu']}, {m['cores']} cores, jax {m['jax']}",
        "reference": None if ref is None else ref.short,
        "published_max_abs": None if ref is None else ref.max_abs,
        "method": method,
        "hidden": list(bench.recipe.hidden),
        "num_params": bench.net().num_params,
        "points": sol.info["points"],
        "boundary_points": sol.info["boundary_points"],
        "steps": len(sol.history["loss"]),
        "loss": float(sol.history["loss"][-1]) if len(sol.history["loss"]) else None,
        "max_abs": err["max_abs"],
        "rel_l2": err["rel_l2"],
        "test_points": err["points"],
        "wall_s": wall,
        "first_call_s": sol.info.get("first_call_s"),
        "result": sol.result.name,
        "status": sol.status,
    }


def _machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")),
                       cpu)  # fmt: skip
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may run on (taskset)
    except AttributeError:
        cores = os.cpu_count()
    return {
        "cpu": cpu,
        "cores": cores,
        "cores_in_machine": os.cpu_count(),
        "backend": jax.default_backend(),
        "devices": jax.device_count(),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "nnpde": nnpde.__version__,
    }


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.1e}"


def _published(r: dict) -> str:
    if r.get("reference") is None:
        return "–"
    if r.get("published_max_abs") is not None:
        return f"{r['published_max_abs']:.0e} ({r['reference']})"
    return f"plot only ({r['reference']})"


def markdown(results: list[dict], meta: dict) -> str:
    by = {(r["problem"], r["method"]): r for r in results}
    problems = list(dict.fromkeys(r["problem"] for r in results))
    methods = [m for m in METHODS if any(r["method"] == m for r in results)]
    ratio_col = {"lm", "adam"} <= set(methods)
    m = meta["machine"]
    lines = [
        "# Accuracy of LM, L-BFGS and Adam on the problem catalogue",
        "",
        f"Each method gets the same wall-time budget per problem ({meta['budget_s']:g} s, "
        "compilation included, `nnpde.solve(time_limit=...)`"
        + ("" if meta["time_limit"] else "; EMULATED by a fixed step count") + "), the entry's "
        "recommended network and collocation points (`nnpde.problems`), and the same initial θ "
        "(seed 0). Errors are against the exact solution on the default test set of "
        "`Solution.errors()` (1001 points in 1-D, a 101×101 grid with the boundary in 2-D, "
        "10⁴ Sobol' points in D ≥ 4), never at the training points. float64; Adam with "
        f"learning rate {meta['adam_lr']:g}; L-BFGS is optax's (zoom line search). LM stops "
        "early when its damping reaches its limit (no further decrease). 'wall s' is the whole "
        "`solve` (setup, compilation, training); 'first call s' its first jitted dispatch "
        "(compilation plus one dispatch of steps).",
        "",
        f"- machine: {m['cpu']}, {m['cores']} cores per run "
        f"(of {m.get('cores_in_machine', m['cores'])}), "
        f"{m['devices']} {m['backend']} device(s); jax {m['jax']}, Python {m['python']}, "
        f"nnpde {m['nnpde']}",
        *([f"- note: {meta['note']}"] if meta.get("note") else []),
        f"- load average (1 min) before / after: {meta['load_before']:.1f} / "
        f"{meta['load_after']:.1f} (the highest over shards; includes the benchmark's own runs)",
        f"- date: {meta['date']}; total {meta['total_s']:.0f} s",
        f"- command: `{meta['command']}`",
        "",
        "## Max-abs error",
        "",
        "| problem | hidden | NT | points | " + " | ".join(methods)
        + (" | Adam / LM" if ratio_col else "") + " | published |",
        "|---|---|---:|---:|" + "---:|" * len(methods) + ("---:|" if ratio_col else "") + "---|",
    ]  # fmt: skip
    for p in problems:
        first = next(by[(p, mm)] for mm in methods if (p, mm) in by)
        cells = [_fmt(by[(p, mm)]["max_abs"]) if (p, mm) in by else "–" for mm in methods]
        row = (f"| {p} | {tuple(first['hidden'])} | {first['num_params']} | "
               f"{first['points']}+{first['boundary_points']} | " + " | ".join(cells))  # fmt: skip
        if ratio_col:
            if (p, "lm") in by and (p, "adam") in by:
                ratio = by[(p, "adam")]["max_abs"] / max(by[(p, "lm")]["max_abs"], 1e-300)
                row += f" | {ratio:.0f}×" if ratio < 1e4 else f" | {ratio:.0e}×"
            else:
                row += " | –"
        lines.append(row + f" | {_published(first)} |")
    default_host = f"{m['cpu']}, {m['cores']} cores, jax {m['jax']}"
    hosts = {r.get("host", default_host) for r in results}
    lines += [
        "",
        "## Every run",
        "",
        "| problem | method | steps | max-abs | rel L2 | final loss | wall s | first call s | "
        "stopped by |" + (" host |" if len(hosts) > 1 else ""),
        "|---|---|---:|---:|---:|---:|---:|---:|---|" + ("---|" if len(hosts) > 1 else ""),
    ]
    for r in results:
        stop = r["status"]
        stop = ("time limit" if "time limit" in stop else "LM damping limit" if "damping" in stop
                else "step limit" if "step limit" in stop else stop.split(":")[0])  # fmt: skip
        lines.append(
            f"| {r['problem']} | {r['method']} | {r['steps']} | {_fmt(r['max_abs'])} | "
            f"{_fmt(r['rel_l2'])} | {_fmt(r['loss'])} | {r['wall_s']:.1f} | "
            f"{r['first_call_s']:.1f} | {stop} |"
            + (f" {r.get('host', default_host)} |" if len(hosts) > 1 else "")
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=15.0,
                    help="seconds per method and problem (default 15)")  # fmt: skip
    ap.add_argument("--problems", nargs="*", default=None, choices=sorted(catalogue.catalogue()),
                    help="catalogue entries (default: all)")  # fmt: skip
    ap.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    ap.add_argument("--adam-lr", type=float, default=1e-3, help="Adam's learning rate")
    ap.add_argument("--out", default="benchmarks/results/accuracy-cpu.md")
    ap.add_argument("--json", default=None, help="default: --out with .json")
    ap.add_argument("--note", default="", help="a line for the report's header")
    ap.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                    help="combine shards' JSON files into --out instead of running")  # fmt: skip
    args = ap.parse_args(argv)
    json_path = args.json or os.path.splitext(args.out)[0] + ".json"
    if args.merge:
        return _merge(args.merge, args.out, json_path, args.note)
    if not args.budget > 0:
        ap.error(f"--budget must be > 0, got {args.budget}")
    names = args.problems or list(catalogue.catalogue())
    meta = {
        "budget_s": args.budget,
        "adam_lr": args.adam_lr,
        "time_limit": _has_time_limit(),
        "machine": _machine(),
        "load_before": os.getloadavg()[0],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "note": args.note,
    }
    t_start = time.perf_counter()
    results = []
    for name in names:
        bench = catalogue.get(name)
        for method in args.methods:
            r = run_one(bench, method, args.budget, args.adam_lr)
            results.append(r)
            print(f"{name:18s} {method:6s} steps={r['steps']:8d} max-abs={r['max_abs']:.2e} "
                  f"rel-L2={r['rel_l2']:.2e} wall={r['wall_s']:.1f}s "
                  f"first={r['first_call_s']:.1f}s", flush=True)  # fmt: skip
    meta["load_after"] = os.getloadavg()[0]
    meta["total_s"] = time.perf_counter() - t_start
    _write(results, meta, args.out, json_path)
    return 0


def _write(results, meta, out, json_path) -> None:
    with open(out, "w") as fh:
        fh.write(markdown(results, meta))
    with open(json_path, "w") as fh:
        json.dump({"meta": meta, "results": results}, fh, indent=1)
    print(f"wrote {out} and {json_path}")


def _merge(paths, out, json_path, note) -> int:
    """Combines shards (same budget and methods) in catalogue order; a (problem, method) run in
    a later file replaces one in an earlier file (a re-run)."""
    shards = []
    for path in paths:
        with open(path) as fh:
            shards.append(json.load(fh))
    metas = [s["meta"] for s in shards]
    order = {name: i for i, name in enumerate(catalogue.catalogue())}
    method_order = {m: i for i, m in enumerate(METHODS)}

    def key(r):
        return order.get(r["problem"], len(order)), method_order[r["method"]]

    runs = {(r["problem"], r["method"]): r for s in shards for r in s["results"]}
    results = sorted(runs.values(), key=key)
    meta = dict(metas[0])
    meta |= {
        "load_before": max(m["load_before"] for m in metas),
        "load_after": max(m["load_after"] for m in metas),
        "total_s": max(m["total_s"] for m in metas),
        "command": "; ".join(m["command"] for m in metas)
        + "; then " + " ".join(["python", *sys.argv]),
        "note": note or metas[0].get("note", ""),
        "shards": len(shards),
    }  # fmt: skip
    _write(results, meta, out, json_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

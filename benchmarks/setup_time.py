"""Set-up time of ``nnpde.solve``: tracing and compilation before the first LM step.

For each problem of the robustness benchmark named on the command line, ``solve`` runs with
its defaults but ``steps=1``, after ``jax.clear_caches()`` (a user's first solve in a new
process), and the script records the wall time of the whole call and what JAX reports through
``jax.monitoring`` while it runs: tracing (``jaxpr_trace_duration``), lowering to MLIR and
XLA's compilation (``backend_compile_duration``), summed over every program compiled. The
difference between the wall time and these sums is the set-up's own work (trial-solution jets,
the start's scaling) and the one step. Each problem is repeated ``--repeats`` times,
interleaved, and the medians are reported with the machine's load.

With ``--compilation-cache DIR`` (``nnpde.use_compilation_cache``; give a new directory) the
first round compiles and fills the cache and the later rounds read the programs back (after
``jax.clear_caches()``, as a new process would; tracing and lowering still happen): the table
then has the first round ("cold") and the median of the others ("warm"), and the cache hits.

    python benchmarks/setup_time.py --problems kovasznay poisson_2d_sinsin --repeats 3
    python benchmarks/setup_time.py --compilation-cache /tmp/nnpde-xla --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.monitoring  # noqa: E402
from robustness_problems import PROBLEMS  # noqa: E402

import nnpde  # noqa: E402

EVENTS = {"trace": "/jax/core/compile/jaxpr_trace_duration",
          "lower": "/jax/core/compile/jaxpr_to_mlir_module_duration",
          "compile": "/jax/core/compile/backend_compile_duration"}  # fmt: skip
HITS = "/jax/compilation_cache/cache_hits"  # a program read back from the persistent cache
_totals: dict[str, float] = {}


def _listen(name: str, seconds: float, **_) -> None:
    _totals[name] = _totals.get(name, 0.0) + seconds


def _count(name: str, **_) -> None:
    if name == HITS:
        _totals[name] = _totals.get(name, 0.0) + 1


def one(name: str) -> dict:
    """Wall time and JAX's trace / lower / compile sums of one ``steps=1`` solve (seconds)."""
    case = PROBLEMS[name]()
    net = nnpde.TwoLayerNet(case.problem.dim, case.hidden)
    jax.clear_caches()
    _totals.clear()
    t0 = time.perf_counter()
    sol = nnpde.solve(case.problem, net, case.points, key=jax.random.key(0),
                      options=nnpde.RunOptions(steps=1))  # fmt: skip
    jax.block_until_ready(sol.theta)
    out = {"wall": time.perf_counter() - t0}
    out.update({k: _totals.get(v, 0.0) for k, v in EVENTS.items()})
    out["cache_hits"] = _totals.get(HITS, 0.0)
    return out


def _table(rows: dict) -> list[str]:
    lines = ["| problem | wall s | trace s | lower s | compile s | cache hits |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, row in rows.items():
        lines.append(f"| `{name}` | {row['wall']:.2f} | {row['trace']:.2f} | "
                     f"{row['lower']:.2f} | {row['compile']:.2f} | {row['cache_hits']:.0f} |")
    return lines


def _medians(runs: dict, first: int = 0) -> dict:
    return {name: {k: statistics.median(r[k] for r in rs[first:]) for k in rs[0]}
            for name, rs in runs.items()}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["poisson_2d_sinsin", "kovasznay"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None, help="a JSON file for the medians")
    ap.add_argument("--compilation-cache", default=None, metavar="DIR",
                    help="nnpde.use_compilation_cache(DIR): the first round cold, the rest warm")
    opts = ap.parse_args()
    if opts.compilation_cache is not None:
        if opts.repeats < 2:
            ap.error("--compilation-cache needs --repeats >= 2 (a cold round, then warm ones)")
        nnpde.use_compilation_cache(opts.compilation_cache)
    jax.monitoring.register_event_duration_secs_listener(_listen)
    jax.monitoring.register_event_listener(_count)
    load0 = os.getloadavg()
    runs: dict[str, list[dict]] = {name: [] for name in opts.problems}
    for _ in range(opts.repeats):
        for name in opts.problems:
            runs[name].append(one(name))
    if opts.compilation_cache is None:
        tables = {"": _medians(runs)}
    else:
        tables = {"cold (first round, fills the cache)": {n: rs[0] for n, rs in runs.items()},
                  "warm (median of the later rounds)": _medians(runs, first=1)}  # fmt: skip
    meta = {"nnpde": os.path.dirname(os.path.dirname(os.path.abspath(nnpde.__file__))),
            "jax": jax.__version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "load_before": load0, "load_after": os.getloadavg(),
            "repeats": opts.repeats, "compilation_cache": opts.compilation_cache}  # fmt: skip
    for title, rows in tables.items():
        print("\n".join(([f"\n{title}"] if title else []) + _table(rows)))
    print(json.dumps(meta))
    if opts.out:
        with open(opts.out, "w") as f:
            json.dump({"meta": meta, "rows": tables, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()

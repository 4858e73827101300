"""Cost of ``solve(starts=K)`` against K separate solves (issue 16, item 2).

Each way runs in a fresh process (a new user's first call: compilation included), side by
side, on problems of ``benchmarks/robustness_problems.py``:

- ``starts``: one ``nnpde.solve(problem, net, P, starts=K)``;
- ``separate``: K processes, each ``nnpde.solve(problem, net, P, key=key_i, restarts=0)``.

Reported: wall time of each way, their ratio, the error of the kept start and the best and
worst of the separate ones, with the load average.

    python benchmarks/starts.py --problems poisson_2d_sinsin heat_1d --starts 3
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent

CHILD = r"""
import json, sys, time
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp, numpy as np
sys.path.insert(0, {here!r})
import nnpde, robustness, robustness_problems
case = robustness_problems.PROBLEMS[{name!r}]()
net = nnpde.TwoLayerNet(case.problem.dim, case.hidden)
t0 = time.perf_counter()
sol = nnpde.solve(case.problem, net, case.points, key=jax.random.key({seed}), **{kw})
wall = time.perf_counter() - t0
x = robustness.test_points(case.problem.domain)
u_ref = np.asarray(jax.vmap(case.reference)(jnp.asarray(x)), np.float64).reshape(x.shape[0], -1)
err = robustness.score(case, sol, x, u_ref)["error"]
print(json.dumps({{"wall_s": wall, "error": err, "result": sol.result.name}}))
"""


def child(name: str, seed: int, kw: dict) -> dict:
    code = CHILD.format(here=str(HERE), name=name, seed=seed, kw=kw)
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["poisson_2d_sinsin", "heat_1d"])
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    rows = []
    for name in args.problems:
        load0 = os.getloadavg()
        together = child(name, 0, {"starts": args.starts})
        t0 = time.perf_counter()
        # the keys solve uses for starts 1..K-1 come from the seed's key; separate solves use
        # seeds 0..K-1 (different draws, the same distribution)
        sep = [child(name, s, {"restarts": 0}) for s in range(args.starts)]
        rows.append({"problem": name, "K": args.starts, "starts_s": together["wall_s"],
                     "starts_error": together["error"],
                     "separate_s": sum(r["wall_s"] for r in sep),
                     "separate_errors": [r["error"] for r in sep],
                     "wall_separate_s": time.perf_counter() - t0,
                     "load": [load0, os.getloadavg()]})  # fmt: skip
        r = rows[-1]
        print(f"{name:20s} K={r['K']}: starts {r['starts_s']:.1f} s (error "
              f"{r['starts_error']:.1e}); separate {r['separate_s']:.1f} s (errors "
              f"{min(r['separate_errors']):.1e}..{max(r['separate_errors']):.1e}); ratio "
              f"{r['starts_s'] / r['separate_s']:.2f}; load {load0[0]:.1f}", flush=True)
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

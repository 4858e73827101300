"""Can the benchmark's network represent the solution at all? (issue 16, targets)

For a problem of ``benchmarks/robustness_problems.py`` whose solves fall short of 1e-6, this
fits the same ``TwoLayerNet`` — and a 2×32 one — directly to the exact solution with
``nnpde.fit`` (LM, defaults): no equation, no trial function, the network is the solution.
Training samples: 4× the problem's collocation count in Sobol' points of its domain; scored
like the robustness benchmark, relative L2 on its fine test set (never the training points),
per component for systems (one network per component). If the fit reaches ≤ 1e-6 where the
solve does not, the network is not what limits the solve; 2×32 is tried only when the
benchmark's own network does not reach 1e-6 at the median.

    python benchmarks/representable.py --problems reaction stiff_linear_system poisson_5d
    python benchmarks/representable.py --problems reaction --seeds 5 \
        --out benchmarks/results/representable-cpu.md
    python benchmarks/representable.py --problems stokes_flow   # a held-out problem too
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnpde  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import heldout  # noqa: E402
import robustness  # noqa: E402
import robustness_problems  # noqa: E402

FIT_FACTOR = 4  # fit samples per collocation point


def fit_once(case, hidden, seed: int, x, u_ref) -> dict:
    """Fits one TwoLayerNet per component to the reference; the worst component's errors."""
    dom = case.problem.domain
    n = FIT_FACTOR * case.points
    xs = jnp.asarray(dom.sample(n, key=jax.random.key(1000 + seed)))
    ys = jnp.asarray(np.asarray(jax.vmap(case.reference)(xs)).reshape(n, -1))
    net = nnpde.TwoLayerNet(case.problem.dim, tuple(hidden))
    rel, t0, results = [], time.perf_counter(), []
    for k in range(ys.shape[1]):
        res = nnpde.fit(net, xs, ys[:, k], solver=nnpde.LM(), key=jax.random.key(seed))
        pred = np.asarray(res.predict(jnp.asarray(x))).reshape(-1)
        err = pred - u_ref[:, k]
        rel.append(float(np.linalg.norm(err) / np.linalg.norm(u_ref[:, k])))
        results.append(res.result.name)
    return {"rel_l2": max(rel), "wall_s": time.perf_counter() - t0, "results": results}


def build(name: str) -> robustness_problems.Case:
    """The Case of a robustness problem, or of a held-out one (``benchmarks/heldout.py``)."""
    if name in robustness_problems.PROBLEMS:
        return robustness_problems.PROBLEMS[name]()
    return heldout.make_case(name)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--problems", nargs="+", required=True,
                   choices=sorted({*robustness_problems.PROBLEMS, *heldout.ALL}),
                   metavar="NAME")  # fmt: skip
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", help="a Markdown report path")
    args = p.parse_args(argv)
    start = robustness.machine()
    lines = ["| problem | net | fit samples | median rel-L2 | worst | median s | ends |",
             "|---|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for name in args.problems:
        case = build(name)
        x = robustness.test_points(case.problem.domain)
        u_ref = np.asarray(jax.vmap(case.reference)(jnp.asarray(x))).reshape(x.shape[0], -1)
        for hidden in dict.fromkeys([tuple(case.hidden), (32, 32)]):
            runs = [fit_once(case, hidden, s, x, u_ref) for s in range(args.seeds)]
            errs = [r["rel_l2"] for r in runs]
            ends = sorted({e for r in runs for e in r["results"]})
            line = (f"| {name} | 2×{hidden[0]} | {FIT_FACTOR * case.points} | "
                    f"{np.median(errs):.1e} | {max(errs):.1e} | "
                    f"{np.median([r['wall_s'] for r in runs]):.1f} | {', '.join(ends)} |")
            print(line, flush=True)
            lines.append(line)
            if np.median(errs) <= 1e-6:  # this network suffices; a larger one is not needed
                break
    end = robustness.machine()
    head = ["# Fitting the exact solution directly (can the network represent it?)", "",
            f"Command: `python benchmarks/representable.py {' '.join(sys.argv[1:])}`  ",
            f"Date: {end['date']}  ",
            f"Machine: {end['platform']}; load average at the start "
            f"{robustness._load(start)}, at the end {robustness._load(end)}", "",
            f"`nnpde.fit` (LM, defaults) of a TwoLayerNet to the exact solution at "
            f"{FIT_FACTOR}× the problem's collocation count in Sobol' points, seeds "
            f"0..{args.seeds - 1}; relative L2 on the robustness benchmark's test set (the "
            f"largest over a system's components, one network each).", ""]  # fmt: skip
    report = "\n".join(head + lines) + "\n"
    if args.out:
        pathlib.Path(args.out).write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

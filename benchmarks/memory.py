"""Peak resident memory of a short solve against the number of collocation points.

    /usr/bin/time -v python benchmarks/memory.py --points 1000000 [--steps 2] [--method lm]

One process per measurement (peak RSS is per process): Lagaris et al.'s PDE problem 1 (Poisson
on [0,1]² with Dirichlet data imposed exactly, so the set-up computes the trial solution's jets
at every point), a TwoLayerNet(2, (10, 10)), P Sobol' points and ``steps`` LM steps. It prints
P, the peak RSS that the kernel reports for this process (``ru_maxrss``) and the bytes per point
above a 1-point run's baseline given by ``--baseline-kib``; ``/usr/bin/time -v`` reports the same
"Maximum resident set size". Results: ``benchmarks/results/memory-cpu.md``. Not a test.
"""

from __future__ import annotations

import argparse
import resource
import time

import jax

jax.config.update("jax_enable_x64", True)

import nnpde  # noqa: E402
from nnpde.problems import get  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, required=True)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--method", default="lm")
    parser.add_argument("--baseline-kib", type=float, default=None,
                        help="peak RSS (KiB) of a --points 1 run, for bytes per point")
    args = parser.parse_args()
    problem = get("lagaris_pde1").problem
    t0 = time.perf_counter()
    sol = nnpde.solve(problem, nnpde.TwoLayerNet(2, (10, 10)), args.points, steps=args.steps,
                      method=args.method)  # fmt: skip
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = (f"points={args.points} steps={sol.info['steps']} peak_rss_kib={peak_kib} "
            f"wall_s={wall:.1f}")  # fmt: skip
    if args.baseline_kib is not None and args.points > 1:
        line += f" bytes_per_point={(peak_kib - args.baseline_kib) * 1024 / args.points:.0f}"
    print(line, flush=True)


if __name__ == "__main__":
    main()

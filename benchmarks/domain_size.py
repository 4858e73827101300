"""Does ``solve`` reach the same relative accuracy whatever the size of the domain?

-Δu = f on the square [0, L]², u = sin(πx/L) sin(πy/L), u = 0 on the boundary, for side
lengths L (a user's units: metres vs millimetres), each solved with ``solve``'s defaults
(2×16 tanh ``TwoLayerNet``, 1024 Sobol' points) and scored by the relative L2 error on
``solve``'s own test grid (``Solution.errors``). The problem is the same up to the scaling of
x, so a method whose start does not depend on the units gives the same errors for every L.

    python benchmarks/domain_size.py --lengths 0.001 0.01 10 100 --seeds 0 1 2 3
    python benchmarks/domain_size.py --lengths 30 100 1000 --seeds 0 1 2 3 [--without-slope-scaling]
"""

from __future__ import annotations

import argparse
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnpde  # noqa: E402

PI = np.pi


def problem(length: float) -> nnpde.Problem:
    """The sin·sin Poisson problem on [0, length]²."""

    def exact(x):
        return jnp.sin(PI * x[0] / length) * jnp.sin(PI * x[1] / length)

    return nnpde.Problem(nnpde.Box((0.0, 0.0), (length, length)),
                         lambda x, u: -u.laplacian - 2 * (PI / length) ** 2 * exact(x),
                         boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact)  # fmt: skip


def run(length: float, seed: int) -> dict:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnpde.UnderResolvedWarning)
        sol = nnpde.solve(problem(length), nnpde.TwoLayerNet(2, (16, 16)), 1024,
                          key=jax.random.key(seed))  # fmt: skip
    attempts = [a["result"] for a in sol.info.get("restarts", [])] or [sol.result.name]
    return {"length": length, "seed": seed, "rel_l2": float(sol.errors()["rel_l2"]),
            "result": sol.result.name, "attempts": attempts,
            "wall_s": time.perf_counter() - t0}  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lengths", type=float, nargs="+", default=[1e-3, 1e-2, 1.0, 10.0, 100.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--without-slope-scaling", action="store_true",
                    help="keep the start's O(1) first-layer slopes on wide boxes (the start "
                    "before nnpde.solvers.SLOPE_WIDTH), for an A/B")  # fmt: skip
    args = ap.parse_args(argv)
    if args.without_slope_scaling:
        import nnpde.solvers

        nnpde.solvers.SLOPE_WIDTH = float("inf")
    for length in args.lengths:
        for seed in args.seeds:
            r = run(length, seed)
            print(f"L={length:g} seed {seed}: rel-L2 {r['rel_l2']:.2e}, {r['result']}, "
                  f"attempts {r['attempts']}, {r['wall_s']:.1f} s", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Lagaris et al. (1998) PDE problem 1 with LM, Adam and L-BFGS: error on a 101x101 test grid
and wall time (including compilation), one run each, written to benchmarks/results/.

    python benchmarks/lagaris_pde1.py [--out benchmarks/results/lagaris-pde1-cpu.md]
    python benchmarks/lagaris_pde1.py --quick --out /tmp/x.md   # smoke run: 5 steps each

Each run ends by its own convergence/stall tests or at its step cap; the table says which
(``result``, a :class:`nnpde.RESULTS` member).
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import optax  # noqa: E402

import nnpde  # noqa: E402

RUNS = [  # (label, hidden, grid per axis, solver, step cap)
    ("issue setting: LM", (10, 10), 10, nnpde.LM(), 300),
    ("baseline: Adam lr 1e-2", (10, 10), 10, nnpde.Optax(optax.adam(1e-2)), 20000),
    ("baseline: L-BFGS", (10, 10), 10, nnpde.LBFGS(), 3000),
    ("LM, more steps", (10, 10), 10, nnpde.LM(), 1000),
    ("LM, 20x20 grid (R > NT)", (10, 10), 20, nnpde.LM(), 500),
    ("LM, wider net, 24x24 grid", (16, 16), 24, nnpde.LM(), 500),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/lagaris-pde1-cpu.md")
    ap.add_argument("--quick", action="store_true", help="smoke run: 5 steps per run")
    args = ap.parse_args()
    problem = nnpde.problems.lagaris_pde1().problem
    rows = []
    for label, hidden, grid, solver, steps in RUNS:
        net = nnpde.TwoLayerNet(2, hidden, "tanh")
        t0 = time.perf_counter()
        sol = nnpde.solve(problem, net, problem.domain.grid(grid), solver=solver,
                          steps=5 if args.quick else steps)  # fmt: skip
        wall = time.perf_counter() - t0
        err = sol.errors()
        rows.append(
            f"| {label} | {hidden} | {net.num_params} | {grid}x{grid} | {sol.info['method']} | "
            f"{len(sol.history['loss'])} | {sol.result.name} | {err['max_abs']:.2e} | "
            f"{err['rel_l2']:.2e} | {wall:.1f} | {sol.info['first_call_s']:.1f} |"
        )
        print(rows[-1], flush=True)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())  # fmt: skip
    text = "\n".join([
        "# Lagaris et al. (1998) PDE problem 1",
        "",
        "∇²ψ = e^(−x)(x − 2 + y³ + 6y) on [0,1]², Dirichlet data from ψ = e^(−x)(x + y³), "
        "imposed exactly by the trial solution; float64; tanh. Errors on a 101×101 test grid "
        "with the boundary (not the training points). Wall time of `nnpde.solve` including "
        "compilation; 'first call' is the first jitted dispatch (compile + all steps).",
        "",
        f"- machine: {cpu}, {jax.device_count()} {jax.default_backend()} device(s); "
        f"jax {jax.__version__}, Python {platform.python_version()}",
        f"- date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"- command: `{' '.join([sys.executable.split('/')[-1], *sys.argv])}`",
        "",
        "| run | hidden | NT | grid | method | steps | result | max-abs | rel L2 | wall s "
        "| first call s |",
        "|---|---|---:|---|---|---:|---|---:|---:|---:|---:|",
        *rows,
        "",
    ])  # fmt: skip
    with open(args.out, "w") as fh:
        fh.write(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Long runs with flat memory: 10^5 Adam steps and 10^3 LM steps on Lagaris et al.'s PDE
problem 1 (the main job's problem, built as ``nnpde.cli`` builds it), sampling the process's
resident memory (VmRSS in /proc/self/status) after every dispatch through ``solve``'s callback.

    python benchmarks/long_run.py [--adam-steps 100000] [--lm-steps 1000]
                                  [--out benchmarks/results/long-run-cpu.md]

Memory is "flat" when, after the first dispatch (which compiles), RSS stops growing apart from
the loss history itself (a Python list in ``solve``: about 32 bytes a step, 3 MB for 10^5 steps).
Linux only (reads /proc). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import optax  # noqa: E402

import nnpde  # noqa: E402

HISTORY_BYTES_PER_STEP = 32  # a float in a Python list: 8-byte pointer + 24-byte float object


def memory_kib() -> dict:
    """VmRSS (resident now) and VmHWM (peak resident) of this process, in KiB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def run(label, problem, net, points, solver, steps, per_call) -> dict:
    """One ``solve`` of ``steps`` steps in dispatches of ``per_call``, RSS sampled per dispatch."""
    samples = []  # (step, seconds since start, VmRSS KiB)
    t0 = time.perf_counter()
    start = memory_kib()["VmRSS"]

    def callback(step, loss, theta):
        samples.append((step, time.perf_counter() - t0, memory_kib()["VmRSS"]))

    sol = nnpde.solve(problem, net, points, solver=solver, steps=steps, steps_per_call=per_call,
                      callback=callback)  # fmt: skip
    method = sol.info["method"]
    wall = time.perf_counter() - t0
    end = memory_kib()
    steps_done = len(sol.history["loss"])
    rss = np.array([s[2] for s in samples], dtype=float)
    step_at = np.array([s[0] for s in samples], dtype=float)
    # Growth after warm-up: from the second dispatch (the first one compiles) to the last, and
    # the least-squares slope over that range, both net of the loss history's own growth.
    steady = slice(1, None) if len(samples) > 2 else slice(0, None)
    growth = rss[steady][-1] - rss[steady][0]
    history_kib = (step_at[steady][-1] - step_at[steady][0]) * HISTORY_BYTES_PER_STEP / 1024
    slope = np.polyfit(step_at[steady], rss[steady], 1)[0] * 1000 if len(rss[steady]) > 1 else 0.0
    err = sol.errors()
    return {
        "label": label, "method": method, "steps": steps_done, "dispatches": len(samples),
        "per_call": per_call, "wall": wall, "first_call": sol.info.get("first_call_s"),
        "start": start, "first": rss[0], "end": end["VmRSS"], "peak": end["VmHWM"],
        "min_steady": rss[steady].min(), "max_steady": rss[steady].max(), "growth": growth,
        "history_kib": history_kib, "slope": slope, "loss": sol.history["loss"][-1],
        "max_abs": err["max_abs"], "rel_l2": err["rel_l2"], "result": sol.result.name,
        "status": sol.status,
        "trace": [(int(s), int(r)) for s, _, r in samples],
    }  # fmt: skip


def _mib(kib) -> str:
    return f"{kib / 1024:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adam-steps", type=int, default=100_000)
    ap.add_argument("--adam-per-call", type=int, default=1000)
    ap.add_argument("--lm-steps", type=int, default=1000)
    ap.add_argument("--lm-per-call", type=int, default=10)
    ap.add_argument("--out", default="benchmarks/results/long-run-cpu.md")
    args = ap.parse_args()
    if not os.path.exists("/proc/self/status"):
        sys.exit("long_run.py reads /proc/self/status (Linux only)")

    problem = nnpde.problems.lagaris_pde1().problem
    net = nnpde.TwoLayerNet(2, (10, 10), "tanh")
    points = problem.domain.grid(10)
    before = memory_kib()
    load_before = os.getloadavg()[0]
    # The stall/convergence tests are pushed out of reach (a window as long as the run, no
    # ftol/xtol/gtol) so that both runs take all their steps: this measures memory, not speed.
    adam = nnpde.Optax(optax.adam(1e-2), stall_window=args.adam_steps)
    lm = nnpde.LM(ftol=0.0, xtol=0.0, gtol=0.0, stall_window=args.lm_steps)
    results = [
        run("Adam, lr 1e-2", problem, net, points, adam, args.adam_steps, args.adam_per_call),
        run("Levenberg-Marquardt", problem, net, points, lm, args.lm_steps, args.lm_per_call),
    ]  # fmt: skip
    for r in results:
        print(f"{r['label']}: {r['steps']} steps in {r['dispatches']} dispatches, "
              f"{r['wall']:.1f} s; RSS start {_mib(r['start'])} MiB, after first dispatch "
              f"{_mib(r['first'])}, end "
              f"{_mib(r['end'])}, peak {_mib(r['peak'])}; growth after warm-up "
              f"{r['growth']:.0f} KiB (history {r['history_kib']:.0f} KiB); {r['status']}",
              flush=True)  # fmt: skip

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())  # fmt: skip
    mem_total = next(int(line.split()[1]) for line in open("/proc/meminfo")
                     if line.startswith("MemTotal"))  # fmt: skip
    command = "python benchmarks/long_run.py" + "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items()
        if v != ap.get_default(k)
    )  # fmt: skip
    lines = [
        "# Long runs: memory stays flat",
        "",
        "Lagaris et al. (1998) PDE problem 1 as the main job builds it (`nnpde.cli`): "
        "`TwoLayerNet(2, (10, 10), 'tanh')`, 10×10 interior grid, float64, exact Dirichlet "
        "data through the trial solution. One `nnpde.solve` per optimiser, split into "
        "dispatches of `steps_per_call` steps; `callback` reads VmRSS from /proc/self/status "
        "after every dispatch. 'after 1st' is RSS after the first dispatch (which compiles); "
        "'growth' is RSS after the last dispatch minus RSS after the second, next to what the "
        "loss history itself takes (a Python list of floats in `solve`, 32 B a step); 'slope' "
        "is the least-squares RSS trend over those dispatches. Peak is VmHWM at the end.",
        "",
        f"- machine: {cpu}, {os.cpu_count()} cores, {mem_total / 2**20:.0f} GiB RAM, "
        f"{jax.device_count()} {jax.default_backend()} device(s); jax {jax.__version__}, "
        f"numpy {np.__version__}, Python {platform.python_version()}",
        f"- date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"- command: `{command}`",
        f"- RSS before the first solve (after imports): {_mib(before['VmRSS'])} MiB",
        f"- 1-minute load average before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        "(other jobs on the machine slow the wall times, not the memory figures)",
        "",
        "| run | steps | dispatches | wall s | RSS start MiB | after 1st MiB | end MiB | "
        "peak MiB | growth KiB | history KiB | slope KiB/1000 steps | final loss | max-abs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['steps']} | {r['dispatches']} | {r['wall']:.1f} | "
            f"{_mib(r['start'])} | {_mib(r['first'])} | {_mib(r['end'])} | {_mib(r['peak'])} | "
            f"{r['growth']:.0f} | {r['history_kib']:.0f} | {r['slope']:.1f} | "
            f"{r['loss']:.2e} | {r['max_abs']:.2e} |"
        )
    lines.append("")
    for r in results:
        lines.append(f"**{r['label']}** status: {r['status']}. RSS (MiB) at steps:")
        every = max(1, len(r["trace"]) // 10)
        picks = r["trace"][::every] + ([r["trace"][-1]] if (len(r["trace"]) - 1) % every else [])
        lines.append("`" + ", ".join(f"{s}: {_mib(k)}" for s, k in picks) + "`")
        lines.append("")
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

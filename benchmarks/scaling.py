"""Time and peak memory of nnpde's bounded-memory products against the number of points P.

For P = 1e3, 1e4, 1e5, 1e6 (D = 2, M1 = M2 = 32, float64, Poisson-like weights α, β, λ as a
Lagaris trial solution gives them) it runs each case in a FRESH SUBPROCESS and reports

  * compile time (``jax.jit(f).lower(...).compile()``) and the median steady-state run time
    after one warm-up call (``block_until_ready``);
  * peak memory of that process: on CPU its peak resident set (``VmHWM`` from
    ``/proc/self/status``) and the growth over the resident set measured just before
    compiling (JAX's runtime and the inputs are in the baseline); on GPU the device allocator's
    ``peak_bytes_in_use`` (the GPU process runs with ``XLA_PYTHON_CLIENT_PREALLOCATE=false``);
  * XLA's own estimate of the executable's temporary memory (``memory_analysis``).

Sections and cases:

  products   ``operator_vjp`` (the loss gradient Jᵀu), ``operator_jvp`` (J t) and
             ``operator_gram`` (JᵀJ and Jᵀr accumulated over blocks of points), all with memory
             independent of P; the autodiff twins of the first two (``jax.grad`` / ``jax.jvp``
             of the operator through ``jax.hessian``; ``--no-autodiff`` skips them); and
             ``dense_gram``, the dense reference: ``operator_rows`` forms J (P × NT) and then
             JᵀJ, Jᵀr (run up to ``--dense-max-points``).

  solver     one full optimiser step of ``nnpde.solve``'s engine on Poisson 2-D (the catalogue's
             ``poisson_2d``, trial solution ψ = B·N, P uniform random interior points): dense
             LM (Cholesky of JᵀJ + μD, then the residuals and JᵀJ, Jᵀr at the accepted θ,
             accumulated over blocks), matrix-free LM (``gn-cg``: ``--cg-iters`` CG iterations
             of J v and Jᵀu, then the residuals, Jᵀr and diag(JᵀJ) at the new θ) and Adam (one
             loss gradient), each on 1 and on ``--devices`` forced CPU devices
             (``XLA_FLAGS=--xla_force_host_platform_device_count``, points sharded over a
             ``"points"`` mesh as ``solve(devices=)`` does). Against P (``--points``, at
             ``--width``) and against NT (``--solver-widths`` at ``--nt-points`` points). "init"
             is the state the step starts from (dense LM: JᵀJ and Jᵀr at θ0), built and timed
             once; the step is compiled ahead of time and then timed.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/scaling.py                 # CPU, full (~30 min)
    PYTHONPATH=. .venv/bin/python benchmarks/scaling.py --sections solver   # solver steps only
    PYTHONPATH=. .venv/bin/python benchmarks/scaling.py --quick         # P = 1e3, 1e4
    PYTHONPATH=. python benchmarks/scaling.py --device gpu              # on a GPU machine

Results go to ``benchmarks/results/scaling-<device>[-quick].md`` and a ``.json`` beside it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
POINTS = (1_000, 10_000, 100_000, 1_000_000)
QUICK_POINTS = (1_000, 10_000)


# ---- the cases ----------------------------------------------------------------------------------
def _weights(jnp, jax, n: int, dim: int, dtype):
    """x (P, D) in the unit box, residuals r and Poisson-like operator weights α, β, λ."""
    kx, kr, ka, kb, kl = jax.random.split(jax.random.key(0), 5)
    x = jax.random.uniform(kx, (n, dim), dtype)
    r = jax.random.normal(kr, (n,), dtype)
    w = {
        "value": jax.random.normal(ka, (n,), dtype),
        "grad": jax.random.normal(kb, (n, dim), dtype),
        "laplacian": jax.random.normal(kl, (n,), dtype),
    }
    return x, r, w


def _vjp(nnpde, net, n, dtype, opts, module="kernels"):
    import jax
    import jax.numpy as jnp

    x, r, w = _weights(jnp, jax, n, net.dim, dtype)
    theta = net.init(jax.random.key(1), dtype=dtype)
    mod = getattr(nnpde, module)

    def fn(theta, x, r, w):  # Jᵀr: the operator weights scaled by the residuals
        scaled = {k: v * r.reshape(r.shape + (1,) * (v.ndim - 1)) for k, v in w.items()}
        return mod.operator_vjp(net, theta, x, chunk_size=opts.chunk_size, **scaled)

    return fn, (theta, x, r, w)


def _jvp(nnpde, net, n, dtype, opts, module="kernels"):
    import jax
    import jax.numpy as jnp

    x, _, w = _weights(jnp, jax, n, net.dim, dtype)
    theta = net.init(jax.random.key(1), dtype=dtype)
    t = jax.random.normal(jax.random.key(2), theta.shape, dtype)
    mod = getattr(nnpde, module)

    def fn(theta, x, t, w):
        return mod.operator_jvp(net, theta, x, t, chunk_size=opts.chunk_size, **w)

    return fn, (theta, x, t, w)


def _autodiff(build):
    return lambda *args: build(*args, module="autodiff")


def _gram(nnpde, net, n, dtype, opts):
    import jax
    import jax.numpy as jnp

    x, r, w = _weights(jnp, jax, n, net.dim, dtype)
    theta = net.init(jax.random.key(1), dtype=dtype)

    def fn(theta, x, r, w):
        return nnpde.kernels.operator_gram(net, theta, x, r, chunk_size=opts.chunk_size, **w)

    return fn, (theta, x, r, w)


def _dense_gram(nnpde, net, n, dtype, opts):
    import jax
    import jax.numpy as jnp

    x, r, w = _weights(jnp, jax, n, net.dim, dtype)
    theta = net.init(jax.random.key(1), dtype=dtype)

    def fn(theta, x, r, w):
        J = nnpde.kernels.operator_rows(net, theta, x, **w)  # (P, NT), by design
        return jax.lax.optimization_barrier(J.T) @ J, r @ J  # as operator_gram forms a block

    return fn, (theta, x, r, w)


# section -> {case: (build, what it computes, flops(P, NT, M, D) or None, max points or None)}
SECTIONS = {
    "products": {
        "operator_vjp": (_vjp, "Jᵀr (matrix-free gradient)", None, None),
        "autodiff_vjp": (_autodiff(_vjp), "Jᵀr by jax.grad (twin)", None, "autodiff"),
        "operator_jvp": (_jvp, "J t (matrix-free)", None, None),
        "autodiff_jvp": (_autodiff(_jvp), "J t by jax.jvp (twin)", None, "autodiff"),
        "operator_gram": (_gram, "JᵀJ, Jᵀr in blocks", lambda n, nt: 2 * n * nt * nt, None),
        "dense_gram": (
            _dense_gram,
            "J dense, then JᵀJ, Jᵀr",
            lambda n, nt: 2 * n * nt * nt,
            "dense",
        ),
    },
}


# solver section: case -> (what one step does, method name for nnpde's engine)
SOLVER_CASES = {
    "lm": "dense LM step: Cholesky, residuals, JᵀJ + Jᵀr in blocks",
    "gn-cg": "matrix-free LM step: CG on J v, Jᵀu; residuals, Jᵀr, diag(JᵀJ)",
    "adam": "Adam step: loss gradient Jᵀr",
}
SOLVER_WIDTHS = (16, 32, 64, 96)


def _timed_calls(compiled, args, opts):
    """Calls ``compiled(*args)`` once, then again until ``opts.repeats`` calls or, past
    ``opts.min_repeats`` calls, ``opts.time_budget`` seconds: (last output, seconds per call)."""
    import jax

    times, budget_end = [], None
    while not times or (len(times) < opts.repeats and (
            len(times) < opts.min_repeats or time.perf_counter() < budget_end)):  # fmt: skip
        t0 = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t0)
        budget_end = budget_end or time.perf_counter() + opts.time_budget
    return out, times


def _measurements(times, compile_s, rss_before_kb, compiled, device) -> dict:
    """Times (first call apart, then median and least of the rest) and memory of one case."""
    steady = times[1:] or times
    stats = (device.memory_stats() or {}) if device.platform != "cpu" else {}
    analysis = compiled.memory_analysis()
    mb = lambda field: getattr(analysis, field) / 2**20 if analysis else None  # noqa: E731
    return {
        "compile_s": compile_s,
        "first_call_s": times[0],
        "median_s": statistics.median(steady),
        "min_s": min(steady),
        "repeats": len(steady),
        "rss_before_compile_mb": rss_before_kb / 1024 if rss_before_kb else None,
        "peak_rss_mb": (_status_kb("VmHWM") or 0) / 1024 or None,
        "device_peak_mb": stats.get("peak_bytes_in_use", 0) / 2**20 or None,
        "xla_temp_mb": mb("temp_size_in_bytes"),
        "xla_args_mb": mb("argument_size_in_bytes"),
        "xla_out_mb": mb("output_size_in_bytes"),
    }


def solver_child(opts) -> dict:
    """One optimiser step of nnpde's training engine at P points on ``opts.devices`` devices."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    import nnpde
    from nnpde import distributed, engine
    from nnpde.collocation import make_collocation
    from nnpde.objective import Objective

    dtype = jnp.dtype(opts.dtype)
    net = nnpde.TwoLayerNet(opts.dim, (opts.width, opts.width), "tanh")
    problem = nnpde.problems.get("poisson_2d").problem
    x = jnp.asarray(problem.domain.sample(opts.points, key=jax.random.key(0)), dtype)
    model, data = make_collocation(problem, net, x)
    theta = net.init(jax.random.key(1), dtype=dtype)
    mesh = distributed.make_mesh(opts.devices) if opts.devices > 1 else None
    specs = None
    if mesh is not None:  # as nnpde.runs.execute places them
        specs = distributed.data_specs(model, data)
        data = distributed.shard_data(data, specs, mesh)
        theta = distributed.replicate(theta, mesh)
    shards = distributed.make_shards(model, data, theta, mesh, specs)
    data, theta = jax.block_until_ready((data, theta))
    cg = nnpde.CGConfig(max_iters=opts.cg_iters, rtol=0.0)  # exactly cg_iters iterations
    solver = {"lm": nnpde.LM(linear_solver="dense"),
              "gn-cg": nnpde.GaussNewtonCG(cg=cg)}.get(opts.case) or nnpde.Optax(optax.adam(1e-3))
    obj = Objective(model, shards)

    def init(d, t):  # as nnpde.engine.run starts a run
        return shards.run(model, lambda d, t: solver.init(obj, d, t), d, t)

    def step(d, s):  # one step: a dispatch of length 1 of the engine's loop
        return engine.dispatch(solver, obj, 1, d, s, jnp.asarray(1, jnp.int32))
    rss_before = _status_kb("VmRSS")
    t0 = time.perf_counter()
    carry = jax.block_until_ready(jax.jit(init)(data, theta))
    init_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = jax.jit(step).lower(data, carry).compile()
    compile_s = time.perf_counter() - t0
    (out, _, taken), times = _timed_calls(compiled, (data, carry), opts)
    return _measurements(times, compile_s, rss_before, compiled, jax.devices()[0]) | {
        "section": "solver",
        "case": opts.case,
        "points": opts.points,
        "devices": opts.devices,
        "width": opts.width,
        "num_params": net.num_params,
        "dtype": opts.dtype,
        "cg_iters": opts.cg_iters if opts.case == "gn-cg" else None,
        "loss_before": float(distributed.to_host(carry.loss)),
        "loss_after": float(distributed.to_host(out.loss)),
        "taken": int(taken),
        "init_s": init_s,
    }


# ---- child: one (case, P) in its own process ----------------------------------------------------
def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def child(opts) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import nnpde

    platform_name = "cpu" if opts.device == "cpu" else "gpu"
    device = jax.devices(platform_name)[0]
    dtype = jnp.dtype(opts.dtype)
    net = nnpde.TwoLayerNet(opts.dim, (opts.width, opts.width), "tanh")
    build = SECTIONS[opts.section][opts.case][0]
    with jax.default_device(device):
        fn, args = build(nnpde, net, opts.points, dtype, opts)
        args = jax.block_until_ready(jax.device_put(args, device))
        rss_before = _status_kb("VmRSS")
        t0 = time.perf_counter()
        compiled = (
            jax.jit(fn, compiler_options=nnpde.compiler_options(device.platform))
            .lower(*args)
            .compile()
        )
        compile_s = time.perf_counter() - t0
        _, times = _timed_calls(compiled, args, opts)
    return _measurements(times, compile_s, rss_before, compiled, device) | {
        "section": opts.section,
        "case": opts.case,
        "points": opts.points,
        "num_params": net.num_params,
        "dtype": opts.dtype,
    }


# ---- parent: one subprocess per setting; the report --------------------------------------------
def run_child(opts, section: str, case: str, n: int, log, devices: int = 1,
              width: int | None = None) -> dict:  # fmt: skip
    width = width or opts.width
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--child",
        "--section", section, "--case", case, "--points", str(n),
        "--device", opts.device, "--dtype", opts.dtype, "--dim", str(opts.dim),
        "--width", str(width), "--repeats", str(opts.repeats),
        "--min-repeats", str(opts.min_repeats), "--time-budget", str(opts.time_budget),
        "--devices", str(devices), "--cg-iters", str(opts.cg_iters),
    ]  # fmt: skip
    if opts.chunk_size:
        cmd += ["--chunk-size", str(opts.chunk_size)]
    env = dict(os.environ)
    if devices > 1:
        flag = f"--xla_force_host_platform_device_count={devices}"
        env["XLA_FLAGS"] = " ".join(filter(None, [env.get("XLA_FLAGS"), flag]))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # GPU: peak memory is what was used
    env["JAX_PLATFORMS"] = "cpu" if opts.device == "cpu" else ""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=opts.timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        log(f"    {case} P={n}: FAILED (exit {proc.returncode}): {' | '.join(tail)}")
        return {"section": section, "case": case, "points": n, "devices": devices,
                "width": width, "error": " | ".join(tail)}  # fmt: skip
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    rec["process_wall_s"] = wall
    return rec


def _fmt_s(s):
    if s is None:
        return ""
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def _fmt_mb(mb):
    if mb is None:
        return ""
    return f"{mb / 1024:.2f} GiB" if mb >= 1024 else f"{mb:.0f} MiB"


def machine_info(opts) -> dict:
    import jax
    import jaxlib

    def cpu_model():
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor()

    def mem_total_gb():
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
        except OSError:
            return None

    try:
        dev = jax.devices("cpu" if opts.device == "cpu" else "gpu")[0]
        device = f"{dev} ({getattr(dev, 'device_kind', '?')})"
    except RuntimeError as err:
        device = f"unavailable: {err}"
    try:
        git = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
            text=True, timeout=10, check=False,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        git = "unknown"
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_total_gb": mem_total_gb(),
        "device": device,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "git": git,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "PYTHONPATH=. " + shlex.join([os.path.relpath(sys.executable), *sys.argv]),
    }


def report(meta: dict, opts, records: list) -> str:
    nt = next((r["num_params"] for r in records if "num_params" in r), "?")
    lines = [
        f"# Scaling with the number of points ({opts.device}, {opts.dtype})",
        "",
        f"`{meta['command']}`",
        "",
        f"- machine: {meta['cpu']} ({meta['cpu_count']} CPUs, {meta['memory_total_gb']} GiB), "
        f"device {meta['device']}",
        f"- python {meta['python']}, jax {meta['jax']}, jaxlib {meta['jaxlib']}, git "
        f"{meta['git']}, {meta['date']}, load average at start {meta['load_average_start']}",
        f"- network D={opts.dim}, M1=M2={opts.width} (tanh, NT={nt}),"
        f" weights α, β, λ; chunk_size {opts.chunk_size or 'default'}; one fresh process per "
        "row; time = median steady-state call after one warm-up",
        "- memory: "
        + (
            "peak RSS of the process (VmHWM) and its growth over the RSS before compiling "
            "(JAX runtime + inputs); "
            if opts.device == "cpu"
            else "device allocator's peak bytes in use (inputs included); "
        )
        + "XLA temp = XLA's estimate of the executable's scratch memory",
        "",
    ]
    load, cpus = meta["load_average_start"], meta["cpu_count"] or 1
    if opts.device == "cpu" and load[0] > 0.5 * cpus:
        lines += [
            f"**Load average {load[0]} at the start on {cpus} CPUs: other processes competed "
            "for the CPUs, so the times are inflated; the memory figures are not affected.**",
            "",
        ]
    for section, cases in SECTIONS.items():
        if not any(r.get("section") == section for r in records):
            continue
        lines += [f"## {section}", ""]
        head = "| case | computes | P | compile | time | time / point |"
        sep = "|---|---|---:|---:|---:|---:|"
        if opts.device == "cpu":
            head += " peak RSS | RSS growth | XLA temp |"
            sep += "---:|---:|---:|"
        else:
            head += " GPU peak | XLA temp |"
            sep += "---:|---:|"
        lines += [head + " GFLOP/s |", sep + "---:|"]
        for rec in records:
            if rec.get("section") != section:
                continue
            case = rec["case"]
            what, flops = cases[case][1], cases[case][2]
            n = rec["points"]
            if "error" in rec or "skipped" in rec:
                why = rec.get("skipped") or f"failed: {rec['error']}"
                lines.append(f"| `{case}` | {what} | {n:.0e} | {why} |")
                continue
            row = (
                f"| `{case}` | {what} | {n:.0e} | {_fmt_s(rec['compile_s'])} | "
                f"{_fmt_s(rec['median_s'])} | {rec['median_s'] / n * 1e9:.0f} ns |"
            )
            if opts.device == "cpu":
                growth = (rec["peak_rss_mb"] or 0) - (rec["rss_before_compile_mb"] or 0)
                row += (
                    f" {_fmt_mb(rec['peak_rss_mb'])} | {_fmt_mb(growth)} | "
                    f"{_fmt_mb(rec['xla_temp_mb'])} |"
                )
            else:
                row += f" {_fmt_mb(rec['device_peak_mb'])} | {_fmt_mb(rec['xla_temp_mb'])} |"
            rate = flops(n, rec["num_params"]) / rec["median_s"] / 1e9 if flops else None
            row += f" {rate:.0f} |" if rate else " |"
            lines.append(row)
        lines.append("")
    if any(r.get("section") == "products" for r in records):
        lines += [
            "GFLOP/s counts only the 2·P·NT² of JᵀJ. `dense_gram` holds the whole P × NT "
            f"Jacobian ({8 if opts.dtype == 'float64' else 4} bytes × P × NT); "
            "`operator_gram` holds one block of rows and the NT × NT sum.",
            "",
        ]
    solver = [r for r in records if r.get("section") == "solver"]
    if solver:
        lines += _solver_report(opts, solver)
    return "\n".join(lines)


def _solver_report(opts, records: list) -> list:
    lines = [
        "## solver: one optimiser step",
        "",
        "Poisson 2-D (`nnpde.problems.poisson_2d`), P uniform random interior points, "
        f"TwoLayerNet(2, (M, M), tanh), {opts.dtype}; gn-cg runs exactly {opts.cg_iters} CG "
        "iterations per step (`CGConfig(max_iters, rtol=0)`). init = building the state the "
        "step starts from (includes its compilation); step = median of the timed steps "
        "(compiled ahead of time).",
        "",
    ]
    cpu = opts.device == "cpu"
    head = "| step | devices | P | NT | init | compile | step | step / point |"
    sep = "|---|---:|---:|---:|---:|---:|---:|---:|"
    head += " peak RSS | RSS growth | XLA temp |" if cpu else " GPU peak | XLA temp |"
    sep += "---:|---:|---:|" if cpu else "---:|---:|"
    lines += [head, sep]
    for rec in sorted(records, key=lambda r: (r.get("width", 0), r["case"], r["points"],
                                               r.get("devices", 1))):  # fmt: skip
        n, k = rec["points"], rec.get("devices", 1)
        nt = rec.get("num_params", f"M={rec.get('width')}")
        if "error" in rec:
            lines.append(f"| {rec['case']} | {k} | {n:.0e} | {nt} | failed: {rec['error']} |")
            continue
        row = (
            f"| {rec['case']} | {k} | {n:.0e} | {nt} | {_fmt_s(rec['init_s'])} | "
            f"{_fmt_s(rec['compile_s'])} | {_fmt_s(rec['median_s'])} | "
            f"{rec['median_s'] / n * 1e9:.0f} ns |"
        )
        if cpu:
            growth = (rec["peak_rss_mb"] or 0) - (rec["rss_before_compile_mb"] or 0)
            row += (f" {_fmt_mb(rec['peak_rss_mb'])} | {_fmt_mb(growth)} | "
                    f"{_fmt_mb(rec['xla_temp_mb'])} |")  # fmt: skip
        else:
            row += f" {_fmt_mb(rec['device_peak_mb'])} | {_fmt_mb(rec['xla_temp_mb'])} |"
        lines.append(row)
    lines += [
        "",
        "RSS growth: peak resident set minus the resident set after building the problem, the "
        "points and the trial solution's jets (so it covers init and the step). With "
        "forced CPU devices every device is a thread pool on the same cores: the rows show "
        "that the sharded step runs and what it costs in memory, not a speed-up.",
        "",
    ]
    return lines


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    p.add_argument("--points", type=int, nargs="+", help=f"P values (default {POINTS})")
    p.add_argument("--quick", action="store_true", help=f"P in {QUICK_POINTS}, fewer repeats")
    p.add_argument("--dim", type=int, default=2)
    p.add_argument("--width", type=int, default=32, help="M1 = M2")
    p.add_argument("--cases", nargs="+", help="case names (default: all of every section)")
    p.add_argument("--chunk-size", type=int, help="chunk_size for the kernels (default theirs)")
    p.add_argument(
        "--dense-max-points",
        type=float,
        default=1e5,
        help="run dense_gram only up to this P (it holds P x NT; default 1e5)",
    )
    p.add_argument("--no-autodiff", action="store_true", help="skip the autodiff twins")
    p.add_argument("--repeats", type=int, default=7, help="timed calls at most")
    p.add_argument("--min-repeats", type=int, default=1, help="timed calls at least")
    p.add_argument(
        "--time-budget", type=float, default=3.0, help="stop repeating after this many seconds"
    )
    p.add_argument("--timeout", type=float, default=900, help="seconds per subprocess")
    p.add_argument(
        "--sections",
        nargs="+",
        choices=("products", "solver"),
        default=["products", "solver"],
        help="which sections (default both)",
    )
    p.add_argument(
        "--solver-devices",
        type=int,
        nargs="+",
        default=[1, 4],
        help="device counts for the solver section (default 1 4; CPU: forced)",
    )
    p.add_argument(
        "--solver-widths",
        type=int,
        nargs="+",
        default=list(SOLVER_WIDTHS),
        help=f"M1 = M2 for the solver rows against NT (default {SOLVER_WIDTHS})",
    )
    p.add_argument(
        "--nt-points",
        type=int,
        default=10_000,
        help="P of the solver rows against NT (default 1e4)",
    )
    p.add_argument("--cg-iters", type=int, default=10, help="CG iterations per gn-cg step")
    p.add_argument("--devices", type=int, default=1, help=argparse.SUPPRESS)  # child
    p.add_argument("--out", type=Path, help="markdown path (default benchmarks/results/...)")
    # internal: one setting in this process
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--section", help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.child:
        opts.points = opts.points[0]
    elif opts.points is None:
        opts.points = list(QUICK_POINTS if opts.quick else POINTS)
    if opts.quick:
        opts.repeats, opts.time_budget = min(opts.repeats, 3), 1.0
    return opts


def main(argv=None) -> int:
    opts = parse_args(argv)
    if opts.child:
        print(json.dumps(solver_child(opts) if opts.section == "solver" else child(opts)))
        return 0
    if opts.device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # leave the GPU to the subprocesses

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    meta = machine_info(opts)
    suffix = "-quick" if opts.quick else ""
    name = f"scaling-{opts.device}{'-float32' if opts.dtype == 'float32' else ''}{suffix}.md"
    out = Path(opts.out or BENCH_DIR / "results" / name)
    log(f"device {meta['device']}; results -> {out}")
    records = []

    def write(final: bool) -> str:
        text = report(meta, opts, records)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text if final else text + "\n(incomplete: run still going or stopped)\n")
        payload = {"meta": meta, "options": {k: str(v) for k, v in vars(opts).items()}}
        payload["complete"] = final
        payload["results"] = records
        out.with_suffix(".json").write_text(json.dumps(payload, indent=1))
        return text

    def done(rec):
        records.append(rec)
        if "error" not in rec:
            log(
                f"    compile {_fmt_s(rec['compile_s'])}, time {_fmt_s(rec['median_s'])}"
                f", peak RSS {_fmt_mb(rec['peak_rss_mb'])}, "
                f"device peak {_fmt_mb(rec['device_peak_mb'])}"
            )
        write(final=False)

    for section, cases in SECTIONS.items():
        if section not in opts.sections:
            continue
        for case, (_, _, _, limit) in cases.items():
            if opts.cases and case not in opts.cases:
                continue
            for n in opts.points:
                if limit == "autodiff" and opts.no_autodiff:
                    continue
                if limit == "dense" and n > opts.dense_max_points:
                    records.append(
                        {"section": section, "case": case, "points": n,
                         "skipped": f"skipped (J alone needs P·NT words; --dense-max-points "
                                    f"{opts.dense_max_points:.0e})"}
                    )  # fmt: skip
                    continue
                log(f"  {section}/{case} P={n} ...")
                done(run_child(opts, section, case, n, log))
    if "solver" in opts.sections:
        settings = [(n, opts.width) for n in opts.points]
        settings += [(opts.nt_points, w) for w in opts.solver_widths if w != opts.width]
        for case in SOLVER_CASES:
            if opts.cases and case not in opts.cases:
                continue
            for n, width in settings:
                for k in opts.solver_devices:
                    log(f"  solver/{case} P={n} M={width} devices={k} ...")
                    done(run_child(opts, "solver", case, n, log, devices=k, width=width))
    text = write(final=True)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

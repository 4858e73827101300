"""Wall time of hand-written back-propagation (nnpde.backprop) against jax.value_and_grad.

For each configuration (task, depth K, width, batch P, dtype) it times, side by side in one run:

  * ``hand``      ``nnpde.backprop.value_and_grad`` traced into a ``jax.jit`` (XLA defaults);
  * ``autodiff``  ``nnpde.autodiff.value_and_grad`` (``jax.value_and_grad`` of the same loss),
                  traced into a ``jax.jit`` with the same options: the ratio autodiff/hand
                  compares the two derivative programs and nothing else;
  * ``hand pub`` / ``autodiff pub``  the public functions called directly, as a user does: the
                  input checks run in Python on every call (for softmax targets that includes
                  copying y to the host to check the probability rows), and the hand-written
                  one compiles with nnpde's XLA options (``nnpde.compiler_options()``).

and, at the smallest width and for Jacobians of at most 2e7 entries, ``backprop.jacobian``
against ``autodiff.jacobian`` (``jax.jacrev`` per sample, vmapped), both jitted with XLA
defaults. Tasks: "regression" (N0 = 2 inputs, NK = 1
identity output, loss "mse") and "classification" (N0 = 16, NK = 10 softmax outputs, loss
"cross_entropy"); hidden layers tanh, all hidden widths equal.

Timing: one warm-up call, then rounds in which every implementation of the row runs one group of
calls (calls under ~1 ms are grouped), ``block_until_ready`` on the last; the median over
rounds. Compile time (``lower().compile()``) is reported apart.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/backprop.py            # default sweep, ~2-3 min
    PYTHONPATH=. .venv/bin/python benchmarks/backprop.py --smoke    # one row per task
    PYTHONPATH=. .venv/bin/python benchmarks/backprop.py --depths 2 8 --widths 64 \\
        --points 4096 --dtypes float64

Results go to ``benchmarks/results/backprop-<platform>.md`` and ``.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

BENCH_DIR = Path(__file__).resolve().parent

TASKS = {  # name: (N0, NK, output, loss)
    "regression": (2, 1, "identity", "mse"),
    "classification": (16, 10, "softmax", "cross_entropy"),
}
DEPTHS = (2, 4)
WIDTHS = (32, 128)
POINTS = (256, 8192)
DTYPES = ("float32", "float64")
JAC_MAX_ELEMENTS = 2e7  # Jacobians (P·NK x NT) larger than this are not timed


def _kernel_bench():
    """benchmarks/kernels.py, for its machine description and interleaved timer."""
    spec = importlib.util.spec_from_file_location("_kernels_bench", BENCH_DIR / "kernels.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--depths", nargs="+", type=int, default=list(DEPTHS), help="K (layers)")
    p.add_argument("--widths", nargs="+", type=int, default=list(WIDTHS))
    p.add_argument("--points", nargs="+", type=int, default=list(POINTS))
    p.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    p.add_argument("--smoke", action="store_true", help="one small row per task")
    p.add_argument("--no-jacobian", action="store_true")
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument("--min-repeats", type=int, default=7)
    p.add_argument("--time-budget", type=float, default=0.6, help="seconds per implementation")
    p.add_argument("--wait-idle", type=float, default=0.0, help="max seconds to wait per row")
    p.add_argument("--out", type=Path, default=None)
    opts = p.parse_args(argv)
    if opts.smoke:
        opts.depths, opts.widths, opts.points, opts.dtypes = [2], [32], [256], ["float64"]
    return opts


def make_case(nnpde, task, depth, width, points, dtype, seed=0):
    n0, nk, output, loss = TASKS[task]
    net = nnpde.mlp.MLP((n0,) + (width,) * (depth - 1) + (nk,), "tanh", output=output)
    rng = np.random.default_rng(seed)
    params = tuple(
        (
            jax.numpy.asarray(rng.normal(size=w) / np.sqrt(w[1]), dtype),
            jax.numpy.asarray(rng.uniform(-0.1, 0.1, size=b), dtype),
        )
        for w, b in net.shapes
    )
    x = jax.numpy.asarray(rng.normal(size=(points, n0)), dtype)
    if output == "softmax":
        y = jax.numpy.asarray(np.eye(nk)[rng.integers(0, nk, points)], dtype)
    else:
        y = jax.numpy.asarray(np.sin(3 * np.asarray(x)).sum(axis=1, keepdims=True), dtype)
    return net, loss, params, x, y


def implementations(nnpde, net, loss, jacobian: bool):
    """name -> (callable(params, x, y), jitted or None). Jitted ones are compiled ahead."""
    bp, ad = nnpde.backprop, nnpde.autodiff
    if jacobian:
        return {
            "hand": (jax.jit(lambda p, x, y: bp.jacobian(net, p, x)), True),
            "autodiff": (jax.jit(lambda p, x, y: ad.jacobian(net, p, x)), True),
        }
    return {
        "hand": (jax.jit(lambda p, x, y: bp.value_and_grad(net, p, x, y, loss)), True),
        "autodiff": (jax.jit(lambda p, x, y: ad.value_and_grad(net, p, x, y, loss)), True),
        "hand pub": (lambda p, x, y: bp.value_and_grad(net, p, x, y, loss), False),
        "autodiff pub": (lambda p, x, y: ad.value_and_grad(net, p, x, y, loss), False),
    }


def hlo_summary(compiled) -> dict:
    """Top-level fusions and dots of the compiled program, and XLA's flop estimate."""
    text = compiled.as_text()
    entry = text[text.index("ENTRY") :]
    summary = {"fusions": entry.count(" fusion("), "dots": entry.count(" dot(")}
    try:
        summary["flops"] = compiled.cost_analysis().get("flops")
    except Exception:  # not every backend reports it
        summary["flops"] = None
    return summary


def flat(out) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(leaf, np.float64)) for leaf in jax.tree.leaves(out)])


def bench_row(kb, nnpde, task, depth, width, points, dtype, what, opts):
    net, loss, params, x, y = make_case(nnpde, task, depth, width, points, dtype)
    entry = {
        "what": what,
        "task": task,
        "sizes": list(net.sizes),
        "depth": depth,
        "width": width,
        "points": points,
        "dtype": dtype,
        "num_params": net.num_params,
        "loss": loss if what == "value_and_grad" else None,
        "impls": {},
    }
    runs, outs = {}, {}
    for name, (fn, jitted) in implementations(nnpde, net, loss, what == "jacobian").items():
        rec = entry["impls"][name] = {}
        t0 = time.perf_counter()
        if jitted:
            compiled = fn.lower(params, x, y).compile()
            rec["compile_s"] = time.perf_counter() - t0
            rec.update(hlo_summary(compiled))

            def call(compiled=compiled):
                return compiled(params, x, y)

        else:

            def call(fn=fn):
                return fn(params, x, y)

        out, first, inner = kb.warm_up(call)
        rec["warmup_s"] = first
        outs[name] = flat(out)
        runs[name] = {"call": call, "inner": inner}
    kb.time_interleaved(runs, opts.repeats, opts.min_repeats, opts.time_budget)
    ref = outs["autodiff"]
    for name, r in runs.items():
        rec = entry["impls"][name]
        rec["median_s"] = statistics.median(r["times"])
        rec["min_s"] = min(r["times"])
        rec["times_s"] = r["times"]
        rec["calls_per_repeat"] = r["inner"]
        rec["max_rel_diff_vs_autodiff"] = float(
            np.max(np.abs(outs[name] - ref)) / max(np.max(np.abs(ref)), 1e-300)
        )
    hand = entry["impls"]["hand"]
    entry["ratio"] = entry["impls"]["autodiff"]["median_s"] / hand["median_s"]
    entry["ratio_min"] = entry["impls"]["autodiff"]["min_s"] / hand["min_s"]
    if "hand pub" in entry["impls"]:
        entry["ratio_public"] = (
            entry["impls"]["autodiff pub"]["median_s"] / entry["impls"]["hand pub"]["median_s"]
        )
    return entry


def configs(opts):
    for task in opts.tasks:
        for dtype in opts.dtypes:
            for depth in opts.depths:
                for width in opts.widths:
                    for points in opts.points:
                        yield "value_and_grad", task, depth, width, points, dtype
    if opts.no_jacobian:
        return
    for task in opts.tasks:
        n0, nk, _, _ = TASKS[task]
        for dtype in opts.dtypes:
            for depth in opts.depths:
                width = min(opts.widths)
                nt = width * (n0 + 1) + (depth - 2) * width * (width + 1) + nk * (width + 1)
                for points in opts.points:
                    if points * nk * nt <= JAC_MAX_ELEMENTS:
                        yield "jacobian", task, depth, width, points, dtype


def fmt_ms(s: float) -> str:
    ms = 1e3 * s
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def report(meta, entries) -> str:
    lines = [
        f"# Hand-written back-propagation vs jax.value_and_grad ({meta['backend']})",
        "",
        "## What this measures",
        "",
        "`nnpde.backprop.value_and_grad` (the recursion δᵏ⁻¹ = (δᵏ Wᵏ) ⊙ f'(Zᵏ⁻¹), ∂L/∂Wᵏ = δᵏᵀ "
        "Aᵏ⁻¹, one matrix product per layer over the whole batch) against "
        "`nnpde.autodiff.value_and_grad` (`jax.value_and_grad` of the same loss), and "
        "`backprop.jacobian` against `jax.jacrev`. Both are traced into a `jax.jit` with XLA's "
        "default options and timed side by side in the same run (interleaved rounds, median, "
        "`block_until_ready`); *ratio* = autodiff time / hand time (> 1: hand-written faster). "
        "The *pub* columns call the public functions directly, as a user does: input checks in "
        "Python on every call (for softmax targets this includes copying y to the host to "
        "check that its rows are probabilities) and, for the hand-written one, nnpde's XLA "
        "options.",
        "",
        "## Reading the numbers",
        "",
        "Expect ratios near 1. Reverse-mode autodiff of an MLP *is* back-propagation: "
        "`jax.value_and_grad` records the same forward pass and XLA compiles its transpose to "
        "the same matrix products (δ Wᵏ, δᵀ Aᵏ⁻¹, the column sums for bᵏ) that the "
        "hand-written code spells out, and fuses the element-wise work around them alike. The "
        "*fusions, dots* column counts the top-level operations of the two compiled programs: "
        "for the regression nets they are the same program (the HLO of 2×32×1 matches op for "
        "op), for classification the hand-written one saves two fusions by forming the "
        "softmax/cross-entropy δ = (A - Y)/P directly. Row-to-row differences are then mostly "
        "the machine's noise, largest for the sub-millisecond rows. The point of "
        "`nnpde.backprop` is an explicit derivation checked against autodiff and the seeds "
        "(001-004), and an exact Jacobian for Levenberg-Marquardt, not speed over XLA's "
        "reverse mode. The Jacobian baseline is `jax.jacrev` of one sample's outputs vmapped "
        "over samples (a `jacrev` of all P·NK outputs at once would pull each seed back "
        "through the whole batch, O(P²) work).",
        "",
        "## Machine",
        "",
        f"- CPU: {meta['cpu']}, {meta['cpu_count']} cores ({meta['cpus_usable']} usable), "
        f"{meta['memory_available_gb']} GB memory available",
        f"- backend: {meta['backend']}, device: {meta['device']}",
        f"- jax {meta['jax']}, jaxlib {meta['jaxlib']}, numpy {meta['numpy']}, "
        f"Python {meta['python']}",
        f"- nnpde git: {meta['git']}; nnpde XLA options: {meta['nnpde_compiler_options']}",
        f"- date: {meta['date']}; total runtime {meta.get('runtime_s', 0):.0f} s; load "
        f"average (1, 5, 15 min) at start {meta['load_average_start']}, at end "
        f"{meta.get('load_average_end')}",
        f"- command: `{meta['command']}`",
        "",
    ]
    load = meta["load_average_start"]
    if load and load[0] > 0.5 * (meta["cpu_count"] or 1):
        lines += [
            f"**Load:** other processes kept the load average at {load[0]:.1f} on "
            f"{meta['cpu_count']} cores during this run. Interleaved rounds expose both "
            "implementations of a row to it alike, but single rows can still be off by 2x or "
            "more (sub-millisecond rows most); read the medians over rows and the ratio of "
            "minimum times (each implementation's least disturbed round) rather than one row.",
            "",
        ]
    for what in ("value_and_grad", "jacobian"):
        rows = [e for e in entries if e["what"] == what]
        if not rows:
            continue
        lines += [f"## {what}", ""]
        if what == "value_and_grad":
            head = (
                "| task | sizes | P | dtype | NT | hand ms | autodiff ms | ratio | ratio of min | "
                "hand pub ms | autodiff pub ms | pub ratio | fusions, dots hand / autodiff | "
                "compile s hand / autodiff |"
            )
            lines += [head, "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
        else:
            lines += [
                "| task | sizes | P | dtype | NT | hand ms | jacrev ms | ratio | ratio of min | "
                "fusions, dots hand / jacrev | compile s hand / jacrev |",
                "|---|---|---:|---|---:|---:|---:|---:|---:|---|---:|",
            ]
        for e in rows:
            im = e["impls"]
            sizes = "×".join(map(str, e["sizes"]))
            cells = [
                e["task"],
                sizes,
                str(e["points"]),
                e["dtype"],
                str(e["num_params"]),
                fmt_ms(im["hand"]["median_s"]),
                fmt_ms(im["autodiff"]["median_s"]),
                f"{e['ratio']:.2f}",
                f"{e['ratio_min']:.2f}",
            ]
            if what == "value_and_grad":
                cells += [
                    fmt_ms(im["hand pub"]["median_s"]),
                    fmt_ms(im["autodiff pub"]["median_s"]),
                    f"{e['ratio_public']:.2f}",
                ]
            h, a = im["hand"], im["autodiff"]
            cells.append(f"{h['fusions']}, {h['dots']} / {a['fusions']}, {a['dots']}")
            cells.append(f"{h['compile_s']:.2f} / {a['compile_s']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
        ratios = [e["ratio"] for e in rows]
        mins = [e["ratio_min"] for e in rows]
        lines += [
            "",
            f"Ratio over these {len(rows)} rows: median {statistics.median(ratios):.2f}, "
            f"range {min(ratios):.2f}-{max(ratios):.2f}; ratio of minimum times: median "
            f"{statistics.median(mins):.2f}, range {min(mins):.2f}-{max(mins):.2f}. "
            "Largest difference between the two "
            f"outputs: {max(e['impls']['hand']['max_rel_diff_vs_autodiff'] for e in rows):.1e} "
            "(relative to the largest entry).",
            "",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    jax.config.update("jax_enable_x64", True)  # before any array exists; float32 rows cast
    opts = parse_args(argv)
    import nnpde  # after x64 is on
    import nnpde.backprop
    import nnpde.mlp

    kb = _kernel_bench()
    device = jax.devices()[0]
    out = opts.out or BENCH_DIR / "results" / f"backprop-{device.platform}.md"
    meta = kb.machine_info(device)
    meta["nnpde_compiler_options"] = nnpde.compiler_options()
    meta.pop("folx", None)
    todo = list(configs(opts))
    entries = []
    t_start = time.perf_counter()
    for i, (what, task, depth, width, points, dtype) in enumerate(todo, start=1):
        print(
            f"[{i}/{len(todo)}] {what} {task} K={depth} width={width} P={points} {dtype} "
            f"({time.perf_counter() - t_start:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        if opts.wait_idle > 0:
            kb.wait_idle(opts.wait_idle, lambda m: print(m, file=sys.stderr))
        entry = bench_row(kb, nnpde, task, depth, width, points, dtype, what, opts)
        entry["load_average"] = kb.load_average()
        entries.append(entry)
    meta["runtime_s"] = time.perf_counter() - t_start
    meta["load_average_end"] = kb.load_average()
    text = report(meta, entries)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    payload = {"meta": meta, "options": {k: str(v) for k, v in vars(opts).items()}}
    payload["results"] = entries
    out.with_suffix(".json").write_text(json.dumps(payload, indent=1, default=str))
    print(text)
    print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

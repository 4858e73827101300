"""Checkpoints: the whole solver state of a run, written atomically, and resumed only by the
same run.

A checkpoint is an nnpde file of kind ``"checkpoint"`` (:mod:`nnpde.files`) holding the
solver's state arrays, the per-step history so far, the step count, the PRNG key and a
*fingerprint* of everything that defines the run. Resuming compares the fingerprint entry by
entry and refuses a mismatch naming what differs:

- ``solver``: the solver's type and settings (:func:`solver_spec`; an optax transformation by
  the updates it makes on a fixed probe, so another learning rate is another run; checkpoints
  of optax runs written before this fingerprint are refused);
- ``net``: the network's spec (type, sizes, activation), ``num_params`` and ``dtype``;
- ``problem``: the problem's structure (dimension, components, the kinds and faces of its
  conditions, its coefficients);
- ``probe``: the loss at a fixed θ on the run's data, to 12 digits (another equation,
  boundary value or activation changes it);
- ``data_sha256``: a hash of the collocation points and every other data array.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib

import jax
import jax.numpy as jnp
import numpy as np

from nnpde import distributed
from nnpde.files import FileFormatError, read_npz, write_npz_atomic
from nnpde.hooks import Hook

__all__ = ["Checkpoint", "fingerprint", "solver_spec"]

KIND = "checkpoint"


def solver_spec(solver, theta=None) -> str:
    """The solver's type and settings as a string; an optax transformation (closures without
    stable names) by what it does on a probe shaped like ``theta``:
    :func:`transformation_probe`."""
    if not dataclasses.is_dataclass(solver):
        return type(solver).__name__
    parts = []
    for f in dataclasses.fields(solver):
        value = getattr(solver, f.name)
        if f.name == "transformation":
            parts.append(f"transformation={transformation_probe(value, theta)}")
        else:
            parts.append(f"{f.name}={value!r}")
    return f"{type(solver).__name__}({', '.join(parts)})"


def transformation_probe(transformation, theta=None) -> str:
    """Three updates of an optax transformation at a fixed probe θ of ``theta``'s size and
    dtype (6 float64 entries by default) with fixed gradients, rounded (8 digits in float64,
    5 in float32, so last-bit differences between machines do not count) and hashed: another
    learning rate, momentum, chain or a schedule that differs in its first steps gives
    another string. A transformation whose ``update`` needs more than (updates, state,
    params) (a line search) or rejects the probe is described by its type only."""
    n, dtype = (6, jnp.float64) if theta is None else (theta.shape[0], theta.dtype)
    dtype = jnp.zeros((), dtype).dtype  # float64 only where enabled
    probe = 0.5 * jnp.sin(1.0 + jnp.arange(n, dtype=dtype))
    try:
        state = transformation.init(probe)
        out = []
        for i in range(3):
            grad = jnp.cos(1.0 + (i + 1) * jnp.arange(n, dtype=dtype))
            update, state = transformation.update(grad, state, probe)
            out.append(np.asarray(update, np.float64))
    except Exception:  # extra arguments, or shapes it was built for: unprobed
        return f"{type(transformation).__name__}(unprobed)"
    digits = 8 if dtype == jnp.float64 else 5
    text = " ".join(f"{v:.{digits}g}" for v in np.concatenate(out))
    return "probe:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _problem_spec(problem) -> str:
    if problem is None:
        return "none"
    conds = []
    for bc in getattr(problem, "boundary", ()):
        where = getattr(bc, "where", None)
        where = where if isinstance(where, (str, type(None))) else "predicate"
        conds.append(f"{type(bc).__name__}@{where}")
    params = sorted(getattr(problem, "params", {}) or {})
    return (f"dim={problem.dim} components={getattr(problem, 'components', 1)} "
            f"conditions=[{', '.join(conds)}] params={params}")  # fmt: skip


def _data_hash(data) -> str:
    h = hashlib.sha256()
    for leaf in jax.tree_util.tree_leaves(data):
        a = np.ascontiguousarray(distributed.gather_to_host(leaf))
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _probe(objective, data, theta) -> str:
    t = 0.5 * jnp.sin(1.0 + jnp.arange(theta.shape[0], dtype=theta.dtype))
    if objective.shards.mesh is not None:
        t = distributed.replicate(t, objective.shards.mesh)
    return f"{float(distributed.to_host(_probe_loss(objective, data, t))):.12g}"


@functools.partial(jax.jit, static_argnums=0)
def _probe_loss(objective, data, t):
    """The loss at t, on each shard inside one program (a ``shard_map`` outside jit would
    compile op by op at every call)."""
    return objective.shards.run(objective.model, lambda d, t: objective.loss_and_blocks(t, d)[0],
                                data, t)  # fmt: skip


def fingerprint(solver, objective, data, theta) -> dict:
    """What a checkpoint must match to be resumed (see the module docstring)."""
    from nnpde.files import net_spec

    model = objective.model
    return {"solver": solver_spec(solver, theta), "net": net_spec(model.net),
            "num_params": int(theta.shape[0]), "dtype": str(theta.dtype),
            "problem": _problem_spec(getattr(model, "problem", None)),
            "data_sha256": _data_hash(data),
            "probe": _probe(objective, data, theta)}  # fmt: skip


@dataclasses.dataclass
class Checkpoint(Hook):
    """Writes the run's state to ``path`` every ``every`` steps, at the end and on Ctrl-C;
    with ``resume`` (a path) it first continues from that checkpoint (``resume_missing_ok``:
    start afresh when that file does not exist)."""

    path: object = None
    every: int | None = None
    resume: object = None
    resume_missing_ok: bool = False
    key_data: object = None

    def start(self, run) -> None:
        import os

        self.fp = fingerprint(run.solver, run.objective, run.data, run.state.theta)
        self._since = 0
        if self.resume is None or (self.resume_missing_ok and not os.path.exists(self.resume)):
            return
        state, done, history = load(self.resume, run.state, self.fp)
        if done > run.steps:
            raise ValueError(f"resume: the checkpoint {self.resume!r} is at step {done}, past "
                             f"this run's steps={run.steps} (steps counts from the start of "
                             "the original run)")  # fmt: skip
        if run.objective.shards.mesh is not None:
            state = distributed.replicate(state, run.objective.shards.mesh)
        run.state, run.done, run.history = state, done, history
        self._last = done

    def _save(self, run) -> None:
        if self.path is None or jax.process_index() != 0:
            return
        if not bool(np.all(np.isfinite(distributed.to_host(run.state.theta)))):
            return
        save(self.path, run, self.fp, self.key_data)

    def after(self, run) -> None:
        last = getattr(self, "_last", 0)
        self._since += run.done - last
        self._last = run.done
        if self._since >= (self.every or 1) or run.result is not None or run.done >= run.steps:
            self._save(run)
            self._since = 0

    def interrupt(self, run) -> None:
        self._save(run)


def save(path, run, fp: dict, key_data) -> None:
    """Writes ``run``'s state, history and step count to ``path`` atomically."""
    leaves = jax.tree_util.tree_leaves(run.state)
    arrays = {f"state_{i}": distributed.to_host(v) for i, v in enumerate(leaves)}
    for k, parts in run.history.items():
        arrays[f"history_{k}"] = np.concatenate(parts) if parts else np.zeros((0,))
    arrays["rng"] = np.asarray(np.zeros((0,), np.uint32) if key_data is None else key_data)
    header = dict(fp, step=int(run.done), num_state=len(leaves))
    write_npz_atomic(path, arrays, header, kind=KIND)


def load(path, template, fp: dict):
    """(state shaped like ``template``, step, history {name: [array]}) from a checkpoint of
    the same run; :class:`nnpde.FileFormatError` naming what differs otherwise."""
    header, arrays = read_npz(path, KIND)

    def fail(msg):
        raise FileFormatError(path, f"cannot resume from this checkpoint: {msg}")

    for k, v in fp.items():
        if header.get(k) != v:
            what = {"data_sha256": "collocation points/data", "probe": "loss at a probe θ "
                    "(another equation, boundary data or activation)"}.get(k, k)  # fmt: skip
            fail(f"its {what} ({header.get(k)!r}) differs from this run's ({v!r})")
    leaves, treedef = jax.tree_util.tree_flatten(template)
    if header.get("num_state") != len(leaves):
        fail(f"it holds {header.get('num_state')} state arrays, this run needs {len(leaves)}")
    new = []
    for i, ref in enumerate(leaves):
        a = arrays.get(f"state_{i}")
        ref = distributed.to_host(ref)
        if a is None or a.shape != ref.shape or a.dtype != ref.dtype:
            got = None if a is None else (a.shape, str(a.dtype))
            fail(f"state array {i} is {got}, expected {(ref.shape, str(ref.dtype))}")
        new.append(jnp.asarray(a))
    step = header.get("step")
    if not isinstance(step, int) or step < 0:
        fail(f"bad step {step!r}")
    history = {k[len("history_"):]: [v] for k, v in arrays.items() if k.startswith("history_")}
    if "loss" not in history:
        fail("missing loss history")
    return jax.tree_util.tree_unflatten(treedef, new), step, history

"""Training over several devices and processes: collocation points split over a device mesh.

The points (and every array that has one row per point) are split over the ``"points"`` axis
of a 1-D :class:`jax.sharding.Mesh`; θ and the optimiser state are replicated. Each device
forms its own part of the loss, JᵀJ, Jᵀr (or of JᵀJ·p in the matrix-free step) with the
hand-written kernels, and the parts are summed across devices with ``lax.psum`` inside
``jax.shard_map``: one all-reduce of NT² (dense LM) or NT (per CG iteration) numbers per
product, never of anything of size P. Every device then takes the same step, so the result
equals a one-device run up to the order of the sums (round-off).

One process, several devices (GPUs, or CPU devices made with
``XLA_FLAGS=--xla_force_host_platform_device_count=4`` set before JAX starts)::

    sol = nnpde.solve(problem, net, 4096, mesh=nnpde.distributed.make_mesh())  # all devices
    sol = nnpde.solve(problem, net, 4096, devices=2)                           # the first 2

Several processes (hosts): start one process per host (or per GPU) with
``python -m nnpde.launch`` (see :mod:`nnpde.launch`, which also shows a SLURM script), and call
:func:`initialize` first thing in the script. Every process then runs the same program with the
same arguments; ``solve(..., mesh=make_mesh())`` keeps on each process only its rows of the
points (and builds only their data), and the mesh spans all processes' devices. On CPU the
collectives between processes use gloo.

The number of interior points must be a multiple of the number of devices (a clear error says
so otherwise); boundary penalty points (few) are replicated and counted once.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["AXIS", "Shards", "initialize", "make_mesh", "replicate", "shard_data", "to_host"]

AXIS = "points"
ENV_COORDINATOR = "NNPDE_COORDINATOR"
ENV_NUM_PROCESSES = "NNPDE_NUM_PROCESSES"
ENV_PROCESS_ID = "NNPDE_PROCESS_ID"


# ---- processes ----------------------------------------------------------------------------------
def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> tuple[int, int]:
    """Joins this process to a multi-process JAX run; returns (process_id, num_processes).

    Arguments default to the environment variables that :mod:`nnpde.launch` sets:
    ``NNPDE_COORDINATOR`` (host:port of process 0), ``NNPDE_NUM_PROCESSES`` and
    ``NNPDE_PROCESS_ID``. Without them (a plain single-process run) nothing happens and
    (0, 1) is returned, so a script that calls this works alone too. On the CPU backend
    the collectives between processes use gloo (``jax_cpu_collectives_implementation``).
    Call it before any other JAX computation.

    Raises:
      ValueError: a partial or malformed configuration.
    """
    env = os.environ
    coordinator_address = coordinator_address or env.get(ENV_COORDINATOR)
    if num_processes is None and env.get(ENV_NUM_PROCESSES):
        num_processes = _env_int(ENV_NUM_PROCESSES)
    if process_id is None and env.get(ENV_PROCESS_ID):
        process_id = _env_int(ENV_PROCESS_ID)
    given = (coordinator_address, num_processes, process_id)
    if all(v is None for v in given):
        return 0, 1
    if any(v is None for v in given):
        raise ValueError(
            "a multi-process run needs the coordinator address, the number of processes and "
            f"this process's id (arguments or ${ENV_COORDINATOR}, ${ENV_NUM_PROCESSES}, "
            f"${ENV_PROCESS_ID}); got {given}"
        )
    if not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in [0, {num_processes}), got {process_id}")
    if jax.distributed.is_initialized():
        return jax.process_index(), jax.process_count()
    # Must be set before the CPU client exists; harmless for GPU backends.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)  # fmt: skip
    return jax.process_index(), jax.process_count()


def _env_int(name: str) -> int:
    try:
        return int(os.environ[name])
    except ValueError:
        raise ValueError(f"${name} must be an integer, got {os.environ[name]!r}") from None


# ---- the mesh -----------------------------------------------------------------------------------
def make_mesh(devices: int | Sequence | None = None) -> Mesh:
    """A 1-D mesh with axis ``"points"``.

    Args:
      devices: None (every device of every process, ``jax.devices()``), an int n (the first
        n of them) or a sequence of devices.

    Raises:
      ValueError: n < 1 or more devices than exist.

    Example:
      >>> import nnpde
      >>> mesh = nnpde.distributed.make_mesh(1)
      >>> mesh.axis_names, mesh.devices.size
      (('points',), 1)
    """
    everything = jax.devices()
    if devices is None:
        devs = everything
    elif isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        if not 1 <= devices <= len(everything):
            raise ValueError(
                f"devices={devices} but this run has {len(everything)} device(s) "
                f"({jax.default_backend()}); on CPU, set "
                "XLA_FLAGS=--xla_force_host_platform_device_count=N before JAX starts"
            )
        devs = everything[: int(devices)]
    else:
        devs = list(devices)
        if not devs:
            raise ValueError("devices is an empty sequence")
    return Mesh(np.array(devs), (AXIS,))


def resolve_mesh(mesh, devices) -> Mesh | None:
    """The mesh of ``solve(mesh=, devices=)``: at most one of the two may be given; an int
    or a list of devices as ``mesh`` makes that mesh (:func:`make_mesh`), as ``devices`` does."""
    if mesh is not None and devices is not None:
        raise ValueError("give mesh= or devices=, not both")
    if isinstance(mesh, (int, np.integer, list, tuple)) and not isinstance(mesh, bool):
        mesh, devices = None, mesh
    if devices is not None:
        return make_mesh(devices)
    if mesh is not None:
        if not isinstance(mesh, Mesh):
            raise TypeError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
        if AXIS not in mesh.axis_names:
            raise ValueError(f"mesh must have an axis named {AXIS!r}, got {mesh.axis_names}")
    return mesh


def _size(mesh: Mesh) -> int:
    return int(mesh.shape[AXIS])


def check_divisible(n: int, mesh: Mesh, what: str = "interior collocation points") -> None:
    """Raises ValueError unless n is a positive multiple of the mesh's device count."""
    k = _size(mesh)
    if n < k or n % k:
        lower, upper = max(k, n - n % k), (n // k + 1) * k
        raise ValueError(
            f"{n} {what} cannot be split evenly over {k} devices: use a multiple of {k} "
            f"(e.g. {lower} or {upper})"
        )


def local_rows(n: int, mesh: Mesh) -> slice:
    """The rows of an (n, ...) array split over ``"points"`` that this process's devices
    hold: all rows in a single-process run; a contiguous block per process otherwise."""
    check_divisible(n, mesh)
    if jax.process_count() == 1:
        return slice(0, n)
    index = NamedSharding(mesh, PartitionSpec(AXIS)).addressable_devices_indices_map((n,))
    starts = sorted((idx[0].start or 0, idx[0].stop) for idx in index.values())
    lo, hi = starts[0][0], starts[-1][1]
    if sum(b - a for a, b in starts) != hi - lo:
        raise ValueError("this process's devices do not hold a contiguous block of the points; "
                         "order the mesh's devices by process (make_mesh() does)")  # fmt: skip
    return slice(lo, hi)


# ---- placing data -------------------------------------------------------------------------------
def data_specs(model, data, axis: str = AXIS):
    """PartitionSpecs for ``data``: ``model.shard_specs(data, axis)`` where the model says
    which arrays are per point (Collocation), else every array split on its leading axis."""
    if hasattr(model, "shard_specs"):
        return model.shard_specs(data, axis)
    return jax.tree_util.tree_map(lambda _: PartitionSpec(axis), data)


def shard_data(data, specs, mesh: Mesh, *, local: bool = False):
    """Places ``data`` on ``mesh`` following ``specs`` (a pytree of PartitionSpec).

    Args:
      data: a pytree of arrays. With ``local=False`` every leaf is the whole (global)
        array; with ``local=True`` (multi-process runs) a split leaf holds only this
        process's rows (:func:`local_rows`) and a replicated leaf the whole array.
      specs: ``PartitionSpec("points")`` (split over the leading axis) or ``PartitionSpec()``
        (replicated) per leaf.
      mesh: the mesh.

    Returns:
      The same pytree of global ``jax.Array``\\ s.
    """
    k = _size(mesh)
    procs = jax.process_count()

    def put(leaf, spec):
        sharding = NamedSharding(mesh, spec)
        split = len(spec) > 0 and spec[0] is not None
        if isinstance(leaf, jax.Array) and leaf.sharding.is_equivalent_to(sharding, leaf.ndim):
            return leaf  # already placed
        if not local or procs == 1:
            leaf = jnp.asarray(leaf)
            if split:
                check_divisible(leaf.shape[0], mesh)
            if procs == 1:
                return jax.device_put(leaf, sharding)
            return jax.make_array_from_callback(leaf.shape, sharding, lambda i: leaf[i])
        leaf = np.asarray(leaf)
        shape = leaf.shape
        if split:  # this process holds the rows of `mine` of the k devices
            mine = sum(d.process_index == jax.process_index() for d in mesh.devices.flat)
            shape = (leaf.shape[0] * k // mine,) + leaf.shape[1:]
        return jax.make_array_from_process_local_data(sharding, leaf, shape)

    return jax.tree_util.tree_map(put, data, specs)


def replicate(tree, mesh: Mesh):
    """Every leaf replicated on every device of ``mesh`` (global arrays in multi-process
    runs; each process passes the same values)."""
    sharding = NamedSharding(mesh, PartitionSpec())

    def put(leaf):
        if isinstance(leaf, jax.Array) and leaf.sharding == sharding:
            return leaf
        if jax.process_count() == 1:
            return jax.device_put(leaf, sharding)
        host = to_host(leaf)
        return jax.make_array_from_process_local_data(sharding, host, host.shape)

    return jax.tree_util.tree_map(put, tree)


def to_host(x) -> np.ndarray:
    """A numpy copy of ``x``; for a replicated global array of a multi-process run, this
    process's copy (``np.asarray`` refuses arrays that are not fully addressable)."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return np.asarray(x.addressable_data(0))
    return np.asarray(x)


def gather_to_host(x) -> np.ndarray:
    """The whole of a (possibly split, multi-process) array on every process."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


# ---- sums over shards inside the training loop ----------------------------------------------
@dataclasses.dataclass(frozen=True)
class Shards:
    """How a training run's residuals are split (static; a jit argument).

    ``nres`` residuals in all, ``nloc`` per shard (equal without a mesh). With a mesh the
    training functions run per device under ``jax.shard_map`` (``run``): ``sum`` is
    ``lax.psum`` over the ``"points"`` axis, ``local`` marks θ as device-varying before a
    model call (so that derivatives of the local part stay local and are summed
    explicitly), and replicated rows are counted once (``model.mask_replicated``).
    """

    nres: int
    nloc: int
    mesh: Mesh | None = None
    specs: object = None  # pytree of PartitionSpec matching the data

    @property
    def axis(self):
        return None if self.mesh is None else AXIS

    def sum(self, x):
        return x if self.mesh is None else jax.lax.psum(x, AXIS)

    def local(self, theta):
        return theta if self.mesh is None else jax.lax.pcast(theta, AXIS, to="varying")

    def half_mean_sq(self, r):
        """½·Σ r²/R over all shards, from this shard's residuals r."""
        if self.mesh is None:
            return 0.5 * jnp.mean(r * r)
        return self.sum(0.5 * jnp.sum(r * r)) / self.nres

    def loss(self, local_loss):
        """A mean-type loss over all shards from this shard's (its own mean)."""
        if self.mesh is None:
            return local_loss
        return self.sum(local_loss * (self.nloc / self.nres))

    def run(self, model, fn, data, *args):
        """``fn(data, *args)`` on each device's shard of ``data`` (args replicated)."""
        if self.mesh is None:
            return fn(data, *args)
        mask = getattr(model, "mask_replicated", None)

        def vary(leaf, spec):
            split = len(spec) > 0 and spec[0] is not None
            return leaf if split else jax.lax.pcast(leaf, AXIS, to="varying")

        def local(d, *a):
            # Replicated data is made device-varying like the rest: otherwise a derivative
            # with respect to it (e.g. jax.grad in x at boundary points) would be summed over
            # devices by the transpose of JAX's implicit broadcast.
            d = jax.tree_util.tree_map(vary, d, self.specs)
            if mask is not None:
                d = mask(d, jax.lax.axis_index(AXIS) == 0)
            return fn(d, *a)

        rep = PartitionSpec()
        return jax.shard_map(local, mesh=self.mesh, in_specs=(self.specs,) + (rep,) * len(args),
                             out_specs=rep)(data, *args)  # fmt: skip


def make_shards(model, data, theta, mesh: Mesh | None, specs=None) -> Shards:
    """The :class:`Shards` of a run of ``model`` on (global) ``data``."""
    nres = int(jax.eval_shape(model.residuals, theta, data).shape[0])
    if mesh is None:
        return Shards(nres, nres)
    k = _size(mesh)

    def local_shape(leaf, spec):
        split = len(spec) > 0 and spec[0] is not None
        shape = (leaf.shape[0] // k,) + tuple(leaf.shape[1:]) if split else leaf.shape
        return jax.ShapeDtypeStruct(shape, leaf.dtype)

    local = jax.tree_util.tree_map(local_shape, data, specs)
    nloc = int(jax.eval_shape(model.residuals, theta, local).shape[0])
    return Shards(nres, nloc, mesh, specs)

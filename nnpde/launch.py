"""Start a multi-process nnpde run on one machine: ``python -m nnpde.launch --nproc N -- CMD``.

Runs ``CMD`` N times, each with the environment that :func:`nnpde.distributed.initialize`
reads: ``NNPDE_COORDINATOR`` (``host:port`` of process 0's coordinator), ``NNPDE_NUM_PROCESSES``
(N) and ``NNPDE_PROCESS_ID`` (0 … N-1). The script calls ``nnpde.distributed.initialize()``
before any other JAX work and passes ``mesh=nnpde.distributed.make_mesh()`` to
:func:`nnpde.solve`; every process runs the same script with the same arguments. The
launcher waits for all of them, stops the others when one fails, and exits with the first
non-zero status. Output of process i is prefixed with ``[i]`` (``--no-prefix`` to pass it
through unchanged).

Example (two CPU processes on this machine)::

    python -m nnpde.launch --nproc 2 -- python my_solve.py --steps 100

    # my_solve.py
    import jax, jax.numpy as jnp
    import nnpde
    nnpde.distributed.initialize()          # before any other JAX call
    jax.config.update("jax_enable_x64", True)
    exact = lambda x: jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])
    problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)),
                            lambda x, u: u.laplacian + 2 * jnp.pi**2 * exact(x),
                            boundary=[nnpde.Dirichlet(exact)], exact=exact)
    sol = nnpde.solve(problem, nnpde.TwoLayerNet(2, (16, 16)), 4096,
                      mesh=nnpde.distributed.make_mesh())   # devices of all processes
    if jax.process_index() == 0:
        print(sol.status, sol.errors())

Several machines (SLURM): one task per node (or per GPU); the first node hosts the
coordinator. ``initialize()`` reads the same three variables, so no launcher is needed::

    #!/bin/bash
    #SBATCH --nodes=4 --ntasks-per-node=1 --gpus-per-task=1
    head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
    srun bash -c 'NNPDE_COORDINATOR='"$head"':29500 \\
                  NNPDE_NUM_PROCESSES=$SLURM_NTASKS NNPDE_PROCESS_ID=$SLURM_PROCID \\
                  python my_solve.py'
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from nnpde.distributed import ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID

__all__ = ["free_port", "launch", "main"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now (the OS picks it).

    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _pump(stream, prefix: str, out) -> None:
    for line in iter(stream.readline, b""):
        out.buffer.write(prefix.encode() + line)
        out.buffer.flush()
    stream.close()


def launch(
    cmd: list[str],
    nproc: int,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    env: dict | None = None,
    prefix: bool = True,
    timeout: float | None = None,
) -> int:
    """Runs ``cmd`` as ``nproc`` processes of one JAX run; returns the exit status.

    Args:
      cmd: the command (e.g. ``["python", "script.py"]``).
      nproc: number of processes (>= 1).
      host: the coordinator's address (process 0 runs here).
      port: the coordinator's port (default: a free one).
      env: the base environment (default ``os.environ``).
      prefix: prefix each output line with ``[i] ``.
      timeout: seconds to wait before stopping all processes (status 124); None: no limit.

    Returns:
      0 if every process succeeded, else the first non-zero status.
    """
    if nproc < 1:
        raise ValueError(f"nproc must be >= 1, got {nproc}")
    if not cmd:
        raise ValueError("no command given (python -m nnpde.launch --nproc N -- CMD ...)")
    port = free_port(host) if port is None else port
    base = dict(os.environ if env is None else env)
    procs, pumps = [], []
    for i in range(nproc):
        e = dict(base, **{ENV_COORDINATOR: f"{host}:{port}", ENV_NUM_PROCESSES: str(nproc),
                          ENV_PROCESS_ID: str(i)})  # fmt: skip
        pipe = subprocess.PIPE if prefix else None
        p = subprocess.Popen(cmd, env=e, stdout=pipe, stderr=subprocess.STDOUT if prefix else None)
        procs.append(p)
        if prefix:
            t = threading.Thread(target=_pump, args=(p.stdout, f"[{i}] ", sys.stdout), daemon=True)
            t.start()
            pumps.append(t)
    status = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while any(p.poll() is None for p in procs):
            failed = [p.returncode for p in procs if p.returncode not in (None, 0)]
            if failed or (deadline is not None and time.monotonic() > deadline):
                status = failed[0] if failed else 124
                break
            time.sleep(0.05)
    finally:
        for p in procs:  # stop the rest (they would wait for the failed peer)
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for t in pumps:
            t.join(timeout=5)
    if status == 0:
        status = next((p.returncode for p in procs if p.returncode != 0), 0)
    return status


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" in argv:
        i = argv.index("--")
        own, cmd = argv[:i], argv[i + 1 :]
    else:
        own, cmd = argv, []
    ap = argparse.ArgumentParser(
        prog="python -m nnpde.launch",
        description="Run CMD as N processes of one multi-process nnpde/JAX run on this machine.",
        epilog="Example: python -m nnpde.launch --nproc 2 -- python script.py",
    )
    ap.add_argument("--nproc", type=int, required=True, help="number of processes")
    ap.add_argument("--host", default="127.0.0.1", help="coordinator address (default %(default)s)")
    ap.add_argument("--port", type=int, default=None, help="coordinator port (default: a free one)")
    ap.add_argument("--timeout", type=float, default=None, help="stop all after this many seconds")
    ap.add_argument("--no-prefix", action="store_true", help="do not prefix output with [i]")
    args = ap.parse_args(own)
    if not cmd:
        ap.error("give the command after --, e.g. -- python script.py")
    return launch(cmd, args.nproc, host=args.host, port=args.port, prefix=not args.no_prefix,
                  timeout=args.timeout)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())

"""nnpde's file formats: the ``.npz`` envelope, solutions and checkpoints.

Files are ``.npz`` archives (numpy's zip of ``.npy`` arrays, stored uncompressed) holding θ, the
loss history and a JSON header. Nothing in a file is ever executed: arrays are read with
``allow_pickle=False`` semantics (object arrays are refused), the JSON header is parsed as data,
and a user's equation, being code, is not stored: ``load`` returns a solution whose ``problem``
must be given again (``load(path, problem=...)``) to evaluate ψ.

The header of format version 3 (``FORMAT_VERSION``) reads, for a solution::

    {"format": "nnpde", "kind": "solution", "version": 3, "writer": "nnpde 0.1.0",
     "arrays": {"theta": {"dtype": "<f8", "shape": [150]},
                "history_loss": {"dtype": "<f8", "shape": [12]}},
     "net": {"type": "TwoLayerNet", "dim": 2, "hidden": [10, 10], "activation": "tanh"},
     "num_params": 150, "status": "...", "info": {...}, "problem": "lagaris_pde1",
     "has_trial": true, "history_json": {"adapt": [...]},
     "sha256": "..."}

The first five keys and ``sha256`` are the envelope that :func:`write_npz_atomic` writes and
:func:`read_npz` checks for every kind of nnpde file (solutions, and the checkpoints of
:mod:`nnpde.training`); the rest belong to the kind. ``history_json`` (present only when
needed) holds history entries that are not numeric arrays, such as ``history["adapt"]`` of
``solve(adapt=...)`` (a list of dicts), as JSON; numeric ones are arrays ``history_<name>``.

``sha256`` is the SHA-256 of the header (without it) and of every array's bytes, so a file
edited after it was written is refused even when the edit keeps it consistent (tanh -> sin).
It detects edits and damage, not tampering: anyone can recompute it. Files of format version 2
(nnpde before the checksum) are still read, with every other check; they are as safe to read
as before (nothing in a file is executed) but a consistent hand edit of one cannot be detected:
save it again to get a version 3 file. A version 3 file without ``sha256`` is refused.

Every check on reading names the file and what is wrong, and raises :class:`FileFormatError`.
Only regular files are read (a FIFO or a device is refused before anything is read).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import secrets
import stat
import struct
import time
import zipfile

import jax
import jax.numpy as jnp
import numpy as np

from nnpde import _nets
from nnpde.activations import get_activation
from nnpde.network import TwoLayerNet

__all__ = ["FORMAT_VERSION", "FileFormatError", "load", "net_spec", "read_npz", "save_solution",
           "write_npz_atomic"]

FORMAT = "nnpde"
FORMAT_VERSION = 3
KIND = "solution"
# The last format version without the SHA-256 checksum; such files are still read (see
# :func:`read_npz`).
_UNCHECKSUMMED_VERSION = 2
# A temporary file of a save that is unlocked and this many seconds old is a killed save's.
STALE_TEMPORARY_S = 600.0

# Envelope keys of every nnpde file's header, written and checked by the low-level functions.
_ENVELOPE = ("format", "kind", "version", "writer", "arrays", "sha256")
# Array names: identifiers, so that ``name + ".npy"`` is a plain zip member name.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}\Z")
_HEADER_MEMBER = "header"
# numpy's .npy header limit (numpy >= 1.24 refuses larger ones by default).
_MAX_NPY_HEADER = 10_000
# Parameter dtypes a file may hold: the float types numpy stores portably (bfloat16 is not one).
_THETA_DTYPES = ("float16", "float32", "float64")

class FileFormatError(ValueError):
    """A file that is not a valid nnpde file of the expected kind.

    Raised by :func:`load` for anything wrong with a file's contents: not an ``.npz`` archive
    (a text file, a pickle, a lone ``.npy``), empty, truncated, corrupted (a failed CRC-32),
    another kind of nnpde file, an unsupported format version, or a header that is not
    consistent with itself or with the arrays (missing, extra or mistyped keys, wrong shapes,
    non-finite θ). A subclass of ``ValueError``. Problems of the path itself (missing file,
    a directory, no permission) raise the usual ``OSError`` subclasses instead.

    Attributes:
      path: the file (a str).
      problem: what is wrong, as a sentence.
    """

    def __init__(self, path, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"cannot load {os.fspath(path)!r}: {problem}")

    def __reduce__(self):
        return type(self), (self.path, self.problem)



def save_solution(sol, path) -> None:
    """Writes ``sol`` (a :class:`nnpde.Solution`) to ``path``; see :meth:`nnpde.Solution.save`."""
    theta = np.asarray(sol.theta)
    nt = sol.num_theta
    if theta.dtype.name not in _THETA_DTYPES:
        raise ValueError(
            f"save: theta must be float16, float32 or float64 to be stored, got {theta.dtype}"
        )
    if theta.shape != (nt,):
        raise ValueError(f"save: theta must have shape ({nt},) for {sol.net!r}, got "
                         f"{theta.shape}")  # fmt: skip
    if not np.all(np.isfinite(theta)):
        raise ValueError("save: theta contains NaN or Inf; load would refuse the file")
    arrays, as_json = {"theta": theta}, {}
    for key, value in sol.history.items():
        if not isinstance(key, str) or not key or not _NAME.match(f"history_{key}"):
            raise ValueError(f"save: history key {key!r} must be an identifier (a-z, 0-9, _)")
        arr = _numeric_or_none(value)
        if arr is not None:
            arrays[f"history_{key}"] = arr
            continue
        try:  # records such as history["adapt"] (a list of dicts) go to the header as JSON
            as_json[key] = json.loads(json.dumps(value, default=_json_default_arrays))
        except (TypeError, ValueError, RecursionError):
            raise ValueError(
                f"save: history[{key!r}] is neither a numeric array nor JSON data (numbers, "
                f"strings, lists, dicts), got {type(value).__name__}"
            ) from None
    problem_name = None if sol.problem is None else getattr(sol.problem, "name", None)
    header = {
        "net": _net_to_spec(sol.net),
        "num_params": nt,
        "status": str(sol.status),
        "info": _json_info(sol.info),
        "problem": problem_name if isinstance(problem_name, str) else None,
        "has_trial": _has_trial(sol.trial) or bool(sol.info.get("has_trial", False)),
    }
    if as_json:
        header["history_json"] = as_json
    write_npz_atomic(path, arrays, header, kind=KIND)


def _json_default(v):
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(type(v).__name__)


def _json_default_arrays(v):
    """As :func:`_json_default`, with small numeric arrays inside history records as lists
    (``info`` entries that are arrays, such as ``points_final``, are still left out)."""
    if isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.size <= 4096:
        return v.tolist()
    return _json_default(v)


def _numeric_or_none(value):
    """``value`` as a numeric numpy array, or None if it is not one (objects, strings, a
    ragged list): those are stored as JSON instead."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return arr if arr.dtype.kind in "biuf" and not arr.dtype.fields else None


def _json_info(info: dict) -> dict:
    """The JSON-representable entries of ``info`` (numpy scalars as Python numbers)."""
    out = {}
    for k, v in info.items():
        if k == "has_trial" or not isinstance(k, str):
            continue
        try:
            out[k] = json.loads(json.dumps(v, default=_json_default))
        except (TypeError, ValueError, RecursionError):
            continue
    return out


# ---- networks in headers ----------------------------------------------------------------------
def _registered_name(act, what: str) -> str:
    """The registry name of an activation, checking that ``load`` would find the same one."""
    try:
        found = get_activation(act.name)
    except ValueError:
        found = None
    if found is None or found != act:
        raise ValueError(
            f"save: the network's {what} {act.name!r} is not the activation registered under "
            "that name, so load could not rebuild it; register it with "
            "nnpde.register_activation first"
        )
    return act.name


def _net_to_spec(net) -> dict:
    if _nets.is_two_layer(net):
        return {"type": "TwoLayerNet", "dim": net.dim, "hidden": list(net.hidden),
                "activation": _registered_name(net.activation, "activation")}  # fmt: skip
    if _nets.is_mlp(net):
        output = (
            net.output if isinstance(net.output, str) else _registered_name(net.output, "output")
        )
        return {"type": "MLP", "sizes": list(net.sizes),
                "activation": _registered_name(net.activation, "activation"),
                "output": output}  # fmt: skip
    raise TypeError(f"save: cannot store a network of type {type(net).__name__}")


def net_spec(net):
    """The network's spec as stored in files (a dict), or its repr when it cannot be stored
    (an unregistered activation): what a checkpoint's fingerprint compares."""
    try:
        return _net_to_spec(net)
    except (TypeError, ValueError):
        return repr(net)


_NET_KEYS = {
    "TwoLayerNet": {"type": str, "dim": int, "hidden": list, "activation": str},
    "MLP": {"type": str, "sizes": list, "activation": str, "output": str},
}


def _net_from_spec(spec, fail):
    if not isinstance(spec, dict):
        fail(f"header 'net' must be an object, got {_json_type(spec)}")
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in _NET_KEYS:
        fail(f"header 'net.type' must be one of {sorted(_NET_KEYS)}, got {kind!r}")
    _check_keys(spec, _NET_KEYS[kind], "net", fail)
    sizes = spec["hidden"] if kind == "TwoLayerNet" else spec["sizes"]
    if not all(_is_int(m) for m in sizes):
        fail(f"header 'net' sizes must be integers, got {sizes!r}")
    try:
        if kind == "TwoLayerNet":
            return TwoLayerNet(spec["dim"], tuple(sizes), spec["activation"])
        from nnpde.mlp import MLP

        return MLP(tuple(sizes), spec["activation"], output=spec["output"])
    except (TypeError, ValueError) as err:
        hint = ""
        if "unknown activation" in str(err) or "unknown output" in str(err):
            hint = "; register it with nnpde.register_activation before loading"
        fail(f"invalid network in the header ({err}){hint}")


# ---- header checks ----------------------------------------------------------------------------
def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _json_type(v) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}  # fmt: skip
    return names.get(type(v), type(v).__name__) + ("" if isinstance(v, (dict, list)) else f" {v!r}")


def _check_keys(obj: dict, schema: dict, where: str, fail) -> None:
    """``obj`` has exactly the keys of ``schema``, each of the type given there."""
    missing = [k for k in schema if k not in obj]
    extra = [k for k in obj if k not in schema]
    if missing:
        fail(f"header {where!r} lacks the key(s) {missing}")
    if extra:
        fail(f"header {where!r} has unexpected key(s) {extra}")
    for key, typ in schema.items():
        value = obj[key]
        ok = _is_int(value) if typ is int else isinstance(value, typ)
        if not ok:
            want = {int: "an integer", str: "a string", list: "an array", dict: "an object",
                    bool: "a boolean"}.get(typ, str(typ))  # fmt: skip
            fail(f"header '{where}.{key}' must be {want}, got {_json_type(value)}")


# ---- low-level file format: atomic .npz write, validated read ---------------------------------
def _fsync_folder(folder: str) -> None:
    """Makes a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _checksum(header: dict, arrays: dict) -> str:
    """SHA-256 (hex) of a file's contents: the header (without ``sha256``) as canonical JSON
    (sorted keys, ASCII), then for each array in name order its name, dtype, shape and C-order
    bytes. Both sides compute it from what they hold: the writer from its arguments, the
    reader from what it parsed, so any edit of a value changes it."""
    digest = hashlib.sha256()
    digest.update(json.dumps(header, sort_keys=True, separators=(",", ":"),
                             default=_json_default).encode())  # fmt: skip
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        digest.update(json.dumps([name, arr.dtype.str, list(arr.shape)]).encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _lock(fh) -> bool:
    """Takes a non-blocking exclusive ``flock`` on ``fh`` (POSIX); False if another open file
    holds one. Where there is no ``fcntl`` (Windows), True: the age test alone decides."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _remove_stale_temporaries(folder: str, base: str) -> None:
    """Removes ``.<base>.<12 hex>.tmp`` files of killed saves of the same target.

    A writer holds an exclusive ``flock`` on its temporary from creation to rename, and keeps
    its mtime fresh by writing; a temporary is removed only if it is unlocked *and* its mtime
    is ``STALE_TEMPORARY_S`` old (the age also covers file systems without working locks and
    the instant between creating and locking). Errors are ignored: cleaning is a courtesy."""
    pattern = re.compile(rf"\.{re.escape(base)}\.[0-9a-f]{{12}}\.tmp\Z")
    try:
        names = [n for n in os.listdir(folder) if pattern.match(n)]
    except OSError:
        return
    for name in names:
        tmp = os.path.join(folder, name)
        try:
            st = os.lstat(tmp)
            if not stat.S_ISREG(st.st_mode) or time.time() - st.st_mtime < STALE_TEMPORARY_S:
                continue
            with open(tmp, "rb") as fh:
                if _lock(fh):
                    os.unlink(tmp)
        except OSError:
            continue


def write_npz_atomic(path, arrays: dict, header: dict, *, kind: str,
                      version: int = FORMAT_VERSION) -> None:  # fmt: skip
    """Writes ``arrays`` and a JSON ``header`` to ``path`` as an nnpde ``.npz`` file, atomically.

    The reusable writer behind :meth:`Solution.save` (and any other kind of nnpde file, e.g.
    checkpoints); :func:`read_npz` reads it back.

    The file is a zip archive of ``.npy`` members, stored uncompressed with fixed timestamps
    (the same input gives the same bytes): ``header.npy`` holds the UTF-8 JSON header as a
    uint8 vector, and each array is ``<name>.npy``. The JSON is ``header`` plus the envelope
    ``format`` ("nnpde"), ``kind``, ``version``, ``writer`` (this nnpde's version),
    ``arrays`` (``{name: {"dtype": dtype.str, "shape": [...]}}``, checked on reading) and
    ``sha256``, the SHA-256 of everything else (:func:`_checksum`: the header and the arrays'
    bytes), so that an edit that keeps the file consistent is still refused on reading.

    Atomicity: the bytes go to a new temporary file ``.<name>.<12 hex digits>.tmp`` in the
    target's folder (``O_EXCL``, mode 0o666 less the umask, like a plain ``open``), locked
    with ``flock`` while it is written, flushed and fsynced, then renamed onto ``path`` with
    ``os.replace`` (atomic on POSIX and Windows), and the folder is fsynced. A reader sees the
    old file or the new one, never a part; on any error the temporary file is removed and an
    existing file at ``path`` is untouched. Temporaries of the same target left by killed
    saves (unlocked and ``STALE_TEMPORARY_S`` seconds old) are removed first.

    Symbolic links: when ``path`` is a symlink (or lies under one), the file it points to is
    replaced and the link is kept (``os.path.realpath``); a dangling link creates its target.

    Args:
      path: the target file (str or path-like).
      arrays: ``{name: array}``; names are identifiers other than "header"; arrays are numeric
        (bool, int, uint or float16/32/64; no objects, no structured or extension dtypes).
      header: a JSON-serialisable dict (NaN and Inf are written as JSON's common extension)
        whose keys do not collide with the envelope's.
      kind: what the file holds ("solution", "checkpoint", ...), checked by ``read_npz``.
      version: the format version of this kind.

    Raises:
      ValueError: a bad array name or dtype, or a header that is not JSON or uses an envelope
        key.
      OSError: from the filesystem.
    """
    from nnpde import __version__

    path = os.path.realpath(os.fspath(path))
    clash = [k for k in header if k in _ENVELOPE]
    if clash:
        raise ValueError(f"header keys {clash} are reserved for the file envelope")
    manifest = {}
    for name, arr in arrays.items():
        if not isinstance(name, str) or not _NAME.match(name) or name == _HEADER_MEMBER:
            raise ValueError(f"array name {name!r} must be an identifier other than 'header'")
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf" or arr.dtype.fields:
            raise ValueError(
                f"array {name!r} must be a numpy array of bool, int or float16/32/64, got "
                f"{getattr(arr, 'dtype', type(arr).__name__)}"
            )
        manifest[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape)}
    full = {"format": FORMAT, "kind": kind, "version": version, "writer": f"nnpde {__version__}",
            "arrays": manifest, **header}  # fmt: skip
    try:
        # as the reader will parse it (numpy scalars as numbers, tuples as lists)
        parsed = json.loads(json.dumps(full, default=_json_default))
        text = json.dumps({**full, "sha256": _checksum(parsed, arrays)}, default=_json_default)
        text.encode("utf-8")
    except (TypeError, ValueError) as err:
        raise ValueError(f"header must be JSON-serialisable Unicode: {err}") from None
    members = {_HEADER_MEMBER: np.frombuffer(text.encode(), dtype=np.uint8), **arrays}

    folder, base = os.path.split(path)
    _remove_stale_temporaries(folder, base)
    tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            _lock(fh)  # released when the file closes, or when this process dies
            _write_members(fh, members)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def _write_members(fh, members: dict) -> None:
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in members.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16  # rw-r--r-- when unzipped
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)


def _no_duplicate_keys(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def read_npz(path, expected_kind: str, *, version: int = FORMAT_VERSION) -> tuple[dict, dict]:
    """Reads and checks an nnpde ``.npz`` file written by :func:`write_npz_atomic`.

    Checks, in order, each failure raising :class:`FileFormatError` with the file's name and the
    problem: a regular file (checked on a non-blocking open: a FIFO never blocks); not empty; a
    zip archive (not text, a pickle, a lone ``.npy``); readable (not truncated); only
    ``<identifier>.npy`` members, stored, unencrypted, no duplicates, each inside the file and
    no two overlapping (checked from their local headers before any member is read, so a load
    never reads more than the file's size); a ``header.npy`` holding a UTF-8 JSON object
    without duplicate keys or lone surrogates; the envelope (format "nnpde", kind
    ``expected_kind``, this ``version``, or version 2 without a checksum when ``version`` is
    ``FORMAT_VERSION``); every member listed in the header's ``arrays`` with the same dtype and
    shape and vice versa; each member a valid ``.npy`` of a numeric dtype whose size matches
    its header; every CRC-32; the SHA-256 checksum. Nothing is unpickled or executed
    (``.npy`` headers are parsed by numpy with ``ast.literal_eval``; object dtypes are
    refused), and no array is allocated beyond the member's actual size.

    Args:
      path: the file (str or path-like).
      expected_kind: the kind the caller reads ("solution", "checkpoint", ...).
      version: the only format version accepted.

    Returns:
      ``(header, arrays)``: the header without the envelope keys (what the writer was given)
      and ``{name: numpy array}`` (writable copies, without "header").

    Raises:
      FileFormatError: the contents are not a valid nnpde file of this kind and version.
      OSError: the path cannot be opened (``FileNotFoundError``, ``IsADirectoryError``, ...).
    """
    path = os.fspath(path)

    def fail(problem):
        raise FileFormatError(path, problem)

    with _open_regular(path, fail) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            fail("the file is empty (0 bytes)")
        magic = fh.read(6)
        if not magic.startswith(b"PK\x03\x04"):
            what = "it is not an .npz (zip) archive"
            if magic.startswith(b"\x93NUMPY"):
                what = "it is a single .npy array, not an .npz archive"
            elif magic[:1] == b"\x80":
                what = "it looks like a Python pickle, which nnpde never unpickles"
            fail(f"not an nnpde {expected_kind} file: unreadable, truncated or corrupted ({what}; "
                 f"it starts with {magic!r})")  # fmt: skip
        fh.seek(0)
        try:
            with zipfile.ZipFile(fh) as zf:
                return _read_archive(zf, size, expected_kind, version, fail)
        except FileFormatError:
            raise
        except Exception as err:  # zipfile and numpy raise many types on damaged input
            fail(f"truncated or corrupted archive ({type(err).__name__}: {err})")


def _open_regular(path: str, fail):
    """``path`` opened for binary reading, refusing anything but a regular file *before*
    reading: opening a FIFO would block until a writer comes (hence ``O_NONBLOCK``, which
    returns at once for FIFOs and changes nothing for files), and a device could be endless."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", path)
        if not stat.S_ISREG(mode):
            kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                     (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))  # fmt: skip
            what = next((name for test, name in kinds if test(mode)), "not a file")
            fail(f"it is not a regular file ({what})")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_layout(fh, infos, size: int, fail) -> None:
    """Each member's local header and data lie inside the file and no two overlap.

    Python's ``zipfile`` reads a member from wherever its central-directory entry points, so
    entries whose data overlap (one member's bytes holding another's header and data) make a
    small file read as many times its size. Data of stored members are disjoint byte ranges,
    so their total is also bounded by the file's size."""
    spans = []
    for info in infos:
        fh.seek(info.header_offset)
        local = fh.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            fail(f"archive member {info.filename!r} has no local header at its offset "
                 f"{info.header_offset}")  # fmt: skip
        name_len, extra_len = struct.unpack("<2H", local[26:30])
        end = info.header_offset + 30 + name_len + extra_len + info.compress_size
        if end > size:
            fail(f"archive member {info.filename!r} extends past the end of the file "
                 "(truncated)")  # fmt: skip
        spans.append((info.header_offset, end, info.filename))
    spans.sort()
    for (_, end, first), (start, _, second) in itertools.pairwise(spans):
        if start < end:
            fail(f"archive members {first!r} and {second!r} overlap (a crafted archive; nnpde "
                 "writes each member's bytes once)")  # fmt: skip
    if sum(info.file_size for info in infos) > size:
        fail("the archive's members declare more bytes than the file holds")


def _read_archive(zf: zipfile.ZipFile, size: int, expected_kind: str, version: int, fail):
    """The header (less its envelope) and the arrays of an open archive, every member and
    the header checked first (see :func:`read_npz`)."""
    infos = _index_members(zf, size, fail)
    if _HEADER_MEMBER not in infos:
        fail(f"not an nnpde {expected_kind} file: an .npz archive without a header "
             f"(arrays: {sorted(infos)})")  # fmt: skip
    header = _parse_header(_read_member(zf, infos.pop(_HEADER_MEMBER), fail), fail)
    _check_envelope(header, expected_kind, version, fail)
    arrays = _read_listed_arrays(zf, infos, header["arrays"], fail)
    if "sha256" in header:
        expected = header["sha256"]
        got_sum = _checksum({k: v for k, v in header.items() if k != "sha256"}, arrays)
        if expected != got_sum:
            fail(f"the contents do not match the file's SHA-256 checksum (header {expected!r}, "
                 f"contents {got_sum!r}): the file was edited or damaged after it was written")
    return {k: v for k, v in header.items() if k not in _ENVELOPE}, arrays


def _index_members(zf: zipfile.ZipFile, size: int, fail) -> dict:
    """The archive's members by stem (``<name>.npy`` → ``name``): only stored, unencrypted
    ``.npy`` members with valid names, each once, inside the file and laid out without
    overlaps."""
    infos = {}
    for info in zf.infolist():
        name = info.filename
        stem = name[:-4] if name.endswith(".npy") else None
        if stem is None or not _NAME.match(stem):
            fail(f"unexpected archive member {name!r} (an nnpde file holds only <name>.npy)")
        if stem in infos:
            fail(f"archive member {name!r} appears twice")
        if info.flag_bits & 0x1:
            fail(f"archive member {name!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            fail(f"archive member {name!r} is compressed; nnpde files are stored uncompressed")
        if info.header_offset + info.compress_size > size:
            fail(f"archive member {name!r} extends past the end of the file (truncated)")
        infos[stem] = info
    _check_layout(zf.fp, list(infos.values()), size, fail)
    return infos


def _parse_header(raw: np.ndarray, fail) -> dict:
    """The header member (a uint8 vector of UTF-8 JSON) as a dict: an object, no duplicate
    keys, every string valid Unicode."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        fail(f"the header must be a uint8 vector, got {raw.dtype} of shape {raw.shape}")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        fail(f"the header is not valid UTF-8 JSON ({type(err).__name__}: {err})")
    if not isinstance(header, dict):
        fail(f"the header must be a JSON object, got {_json_type(header)}")
    try:  # JSON allows "\ud800", a lone surrogate: not Unicode, and unprintable later
        json.dumps(header, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        fail(f"the header holds a string that is not valid Unicode ({err.reason}: "
             f"{err.object[err.start:err.end]!a})")  # fmt: skip
    return header


def _check_envelope(header: dict, expected_kind: str, version: int, fail) -> None:
    """The envelope (``_ENVELOPE``: format, kind, version, writer, arrays, sha256): present,
    of the right types, this kind of file, a version this nnpde reads."""
    fmt = header.get("format")
    if fmt == "nnpde.solution" and header.get("version") == 1:
        fail("format version 1 (an nnpde development version); this nnpde reads format version "
             f"{version}: re-create the file")  # fmt: skip
    if fmt != FORMAT:
        fail(f"not an nnpde {expected_kind} file (header 'format' is {fmt!r}, expected "
             f"{FORMAT!r})")  # fmt: skip
    missing = [k for k in _ENVELOPE if k not in header and k != "sha256"]
    if missing:
        fail(f"the header lacks the key(s) {missing}")
    kind, got, writer = header["kind"], header["version"], header["writer"]
    if not isinstance(kind, str) or not isinstance(writer, str):
        fail(f"header 'kind' and 'writer' must be strings, got {kind!r} and {writer!r}")
    if kind != expected_kind:
        fail(f"this is an nnpde {kind!r} file, not a {expected_kind!r} file")
    if not _is_int(got):
        fail(f"header 'version' must be an integer, got {_json_type(got)}")
    if got > version:
        fail(f"format version {got} (written by {writer!r}) is newer than this nnpde reads "
             f"({version}): upgrade nnpde")  # fmt: skip
    legacy = version == FORMAT_VERSION and got == _UNCHECKSUMMED_VERSION
    if got != version and not legacy:
        fail(f"format version {got} (written by {writer!r}); this nnpde reads version {version}")
    if "sha256" not in header and not legacy:
        fail("the header lacks its SHA-256 checksum ('sha256'), which every file of format "
             f"version {got} carries")  # fmt: skip
    if not isinstance(header["arrays"], dict):
        fail(f"header 'arrays' must be an object, got {_json_type(header['arrays'])}")


def _read_listed_arrays(zf: zipfile.ZipFile, infos: dict, manifest: dict, fail) -> dict:
    """The arrays, each as the header's manifest lists it (the same names, dtypes and
    shapes)."""
    listed, present = set(manifest), set(infos)
    if listed - present:
        fail(f"array(s) {sorted(listed - present)} listed in the header are missing from the "
             "archive")  # fmt: skip
    if present - listed:
        fail(f"the archive holds array(s) {sorted(present - listed)} that the header does not "
             "list")  # fmt: skip
    arrays = {}
    for name, info in infos.items():
        entry = manifest[name]
        if not (isinstance(entry, dict) and set(entry) == {"dtype", "shape"}
                and isinstance(entry["dtype"], str) and isinstance(entry["shape"], list)
                and all(_is_int(n) and n >= 0 for n in entry["shape"])):  # fmt: skip
            fail(f"header 'arrays.{name}' must be {{\"dtype\": str, \"shape\": [ints >= 0]}}, "
                 f"got {entry!r}")  # fmt: skip
        arr = _read_member(zf, info, fail)
        if arr.dtype.str != entry["dtype"] or list(arr.shape) != entry["shape"]:
            fail(f"array {name!r} has dtype {arr.dtype.str} and shape {list(arr.shape)}, but the "
                 f"header says {entry['dtype']} and {entry['shape']}")  # fmt: skip
        arrays[name] = arr
    return arrays


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, fail) -> np.ndarray:
    """One ``.npy`` member, checked before anything is allocated; reading to the end verifies
    its CRC-32 (zipfile raises ``BadZipFile`` on a mismatch)."""
    name = info.filename
    fmt = np.lib.format
    with zf.open(info) as fh:
        try:
            major_minor = fmt.read_magic(fh)
            if major_minor == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fh, _MAX_NPY_HEADER)
            elif major_minor == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(fh, _MAX_NPY_HEADER)
            else:
                fail(f"archive member {name!r} has an unsupported .npy version {major_minor}")
        except ValueError as err:
            if isinstance(err, FileFormatError):
                raise
            fail(f"archive member {name!r} is not a valid .npy array ({err})")
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields or dtype.subdtype:
            fail(f"archive member {name!r} has dtype {dtype}; nnpde files hold only numeric "
                 "arrays (object arrays would need pickle, which is never used)")  # fmt: skip
        nbytes = math.prod(shape) * dtype.itemsize
        available = info.file_size - fh.tell()
        if nbytes != available:
            fail(f"archive member {name!r}: its .npy header says shape {shape} of {dtype} "
                 f"({nbytes} bytes) but it holds {available} bytes")  # fmt: skip
        data = fh.read(nbytes)
        if len(data) != nbytes or fh.read(1):
            fail(f"archive member {name!r} is truncated")
    arr = np.frombuffer(data, dtype=dtype)
    if fortran:
        arr = arr.reshape(shape[::-1]).T
    return np.array(arr.reshape(shape), order="C")


# ---- load -------------------------------------------------------------------------------------
_SOLUTION_KEYS = {"net": dict, "num_params": int, "status": str, "info": dict,
                  "problem": (str, type(None)), "has_trial": bool}  # fmt: skip


def load(path, problem=None):
    """Reads a solution written by :meth:`Solution.save`.

    Every check is made before anything is built, so ``load`` either returns a complete
    solution or raises; nothing in the file is executed.

    Args:
      path: the file.
      problem: the problem it solved (needed to evaluate ψ when it had a trial solution).

    Returns:
      A :class:`Solution` with θ bit-identical to the saved one, its history, status and info.

    Raises:
      FileFormatError: (a ``ValueError``) naming the file and the problem: not an nnpde file,
        empty, truncated or corrupted, another kind of nnpde file, an unsupported format
        version, an inconsistent or hand-edited header (missing, extra or mistyped keys, network
        sizes that do not match θ, an unregistered activation), contents that do not match the
        SHA-256 checksum (any edit after writing), non-finite θ, not a regular file.
      OSError: the path cannot be opened (``FileNotFoundError``, ``IsADirectoryError``, ...);
        a path that is not a regular file (a FIFO, a device) raises ``FileFormatError``.
      ValueError: ``problem`` does not fit the file (dimension, trial solution), or θ is
        float64 while ``jax_enable_x64`` is off (it would be rounded to float32).
      TypeError: ``problem`` is not a :class:`~nnpde.Problem`.
    """
    from nnpde.problem import Problem
    from nnpde.solution import Solution

    path = os.fspath(path)
    if problem is not None and not isinstance(problem, Problem):
        raise TypeError(f"load: problem must be a nnpde.Problem or None, got "
                        f"{type(problem).__name__}")  # fmt: skip
    header, arrays = read_npz(path, KIND)

    def fail(why):
        raise FileFormatError(path, why)

    history = _check_solution_header(header, fail)
    net, k, names = _solution_net(header, fail)
    theta = _solution_theta(arrays.pop("theta", None), net, header["num_params"], fail)
    _history_arrays(arrays, history, fail)
    if theta.dtype == np.float64 and jax.dtypes.canonicalize_dtype(np.float64) != np.float64:
        raise ValueError(
            f"cannot load {path!r}: θ is float64 but jax_enable_x64 is off, so JAX would round "
            "it to float32; call jax.config.update('jax_enable_x64', True) first"
        )
    trial = None if problem is None else _trial_for(path, problem, net, k, names,
                                                     header["has_trial"])  # fmt: skip
    info = dict(header["info"])
    info["has_trial"] = header["has_trial"]
    return Solution(
        theta=jnp.asarray(theta),
        net=net,
        problem=problem,
        trial=trial,
        history=history,
        status=header["status"],
        info=info,
    )


def _check_solution_header(header: dict, fail) -> dict:
    """Checks a solution's header keys and their types (``_SOLUTION_KEYS``) in place; pops
    and returns the JSON part of the history."""
    history = header.pop("history_json", {})
    if not isinstance(history, dict):
        fail(f"header 'history_json' must be an object, got {_json_type(history)}")
    for key in header:
        if key not in _SOLUTION_KEYS:
            fail(f"header has unexpected key {key!r}")
    for key, typ in _SOLUTION_KEYS.items():
        if key not in header:
            fail(f"header lacks the key {key!r}")
        value = header[key]
        if (typ is int and not _is_int(value)) or not isinstance(value, typ):
            fail(f"header {key!r} has the wrong type: {_json_type(value)}")
    return history


def _solution_net(header: dict, fail):
    """The network, the component count and the coefficient names of a solution's header,
    checked against its ``num_params``."""
    net = _net_from_spec(header["net"], fail)
    nt = header["num_params"]
    k = header["info"].get("components", 1)
    names = header["info"].get("param_names", [])
    if not _is_int(k) or k < 1 or not isinstance(names, list) or not all(
        isinstance(n, str) for n in names
    ):
        fail(f"header 'info' has bad components {k!r} or param_names {names!r}")
    if nt != net.num_params * k + len(names):
        fail(f"header 'num_params' is {nt} but {net!r} with {k} component(s) and "
             f"{len(names)} coefficient(s) has {net.num_params * k + len(names)} parameters")
    return net, k, names


def _solution_theta(theta, net, nt: int, fail) -> np.ndarray:
    """θ as read: a finite float vector of length ``nt``, in native byte order."""
    if theta is None:
        fail("no theta array")
    if theta.dtype.kind != "f" or theta.dtype.itemsize not in (2, 4, 8):
        fail(f"theta must be float16, float32 or float64, got {theta.dtype}")
    if theta.shape != (nt,):
        fail(f"theta has shape {theta.shape} but {net!r} needs ({nt},)")
    if not np.all(np.isfinite(theta)):
        fail("theta contains NaN or Inf")
    return theta.astype(theta.dtype.newbyteorder("="), copy=False)


def _history_arrays(arrays: dict, history: dict, fail) -> None:
    """Adds the ``history_<name>`` arrays to ``history`` (native byte order); any other
    array, or a name also in the JSON history, is refused."""
    for name, arr in arrays.items():
        if not name.startswith("history_") or name == "history_":
            fail(f"unexpected array {name!r} (a solution holds theta and history_<name>)")
        if name[len("history_") :] in history:
            fail(f"history entry {name[len('history_'):]!r} is both an array and JSON")
        history[name[len("history_") :]] = arr.astype(arr.dtype.newbyteorder("="), copy=False)


def _trial_for(path: str, problem, net, k: int, names: list, had_trial: bool):
    """The trial solution(s) ψ = A + B·N of ``problem``, after checking that the problem fits
    the saved solution (dimension, components, coefficients, whether it had a trial)."""
    from nnpde.collocation import component_problem
    from nnpde.trial import build_trial

    dim = _nets.input_dim(net)
    if problem.dim != dim:
        raise ValueError(f"cannot load {path!r} with this problem: the problem is "
                         f"{problem.dim}-D but the network has dim={dim}")  # fmt: skip
    if problem.components != k or list(problem.param_names) != names:
        raise ValueError(f"cannot load {path!r} with this problem: it was trained with "
                         f"{k} component(s) and coefficients {names}, the problem has "
                         f"{problem.components} and {list(problem.param_names)}")  # fmt: skip
    trial = tuple(build_trial(component_problem(problem, i))[0] for i in range(k))
    trial = trial[0] if k == 1 else trial
    if _has_trial(trial) != had_trial:
        raise ValueError(
            f"cannot load {path!r} with this problem: the solution was trained "
            + ("with" if had_trial else "without")
            + " a trial solution ψ = A + B·N, but this problem's conditions give "
            + ("one" if _has_trial(trial) else "none")
        )
    return trial


def _has_trial(trial) -> bool:
    if isinstance(trial, tuple):
        return any(t is not None for t in trial)
    return trial is not None

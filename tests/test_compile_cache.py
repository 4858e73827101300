"""nnpde.use_compilation_cache: JAX's persistent compilation cache, and the CLI's flag for it."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental.compilation_cache import compilation_cache

import nnpde
from nnpde.compile_cache import default_directory, use_compilation_cache

OPTIONS = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
           "jax_persistent_cache_min_entry_size_bytes")  # fmt: skip


@pytest.fixture
def restore_cache_options():
    """Puts JAX's cache options (the suite's shared directory, tests/conftest.py) back."""
    before = {name: getattr(jax.config, name) for name in OPTIONS}
    yield
    for name, value in before.items():
        jax.config.update(name, value)
    compilation_cache.reset_cache()


def _hits():
    got = []

    def listen(event, **kwargs):
        if event == "/jax/compilation_cache/cache_hits":
            got.append(event)

    return got, listen


def _entries(path) -> int:
    return sum(1 for f in os.listdir(path) if not f.startswith("."))


def test_a_program_compiled_once_is_read_back(tmp_path, restore_cache_options):
    jax.jit(lambda v: v + 0.5)(jnp.ones(3))  # JAX's cache opened on the suite's directory
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1e9)  # undone by the call
    path = use_compilation_cache(tmp_path / "xla")
    assert path == (tmp_path / "xla").absolute() and path.is_dir()
    assert jax.config.jax_compilation_cache_dir == str(path)
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0
    assert jax.config.jax_persistent_cache_min_entry_size_bytes == 0

    x = jnp.linspace(0.0, 1.0, 7)
    first = jax.jit(lambda v: jnp.cos(v) * 1.2345 + v**3)(x)  # a program no other test has
    assert _entries(path) >= 1
    got, listen = _hits()
    jax.monitoring.register_event_listener(listen)
    try:  # the same program from another function object: not in jit's in-memory cache
        again = jax.jit(lambda v: jnp.cos(v) * 1.2345 + v**3)(x)
    finally:
        jax.monitoring.unregister_event_listener(listen)
    assert len(got) == 1
    np.testing.assert_array_equal(np.asarray(again), np.asarray(first))


@pytest.mark.parametrize("bad", [3, "", b"dir"])
def test_a_directory_that_is_not_a_path_is_refused(bad, restore_cache_options):
    with pytest.raises(TypeError, match="directory must be a path"):
        use_compilation_cache(bad)


def test_the_default_directory_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_directory() == tmp_path / "nnpde" / "xla"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert (
        default_directory() == type(tmp_path)(os.path.expanduser("~")) / ".cache" / "nnpde" / "xla"
    )
    assert nnpde.use_compilation_cache is use_compilation_cache


def test_the_cli_flag_fills_the_directory(tmp_path, restore_cache_options, capsys):
    from nnpde.cli import main

    path = tmp_path / "cli-xla"
    assert main(["--compilation-cache", str(path), "--steps", "2", "--grid", "4",
                 "--hidden", "3", "3", "--no-png"]) == 0  # fmt: skip
    assert f"compilation cache: {path.absolute()}" in capsys.readouterr().out
    assert _entries(path) >= 3  # the solve's programs (LM loop, its start, residuals, ...)

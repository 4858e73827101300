"""Builds nnpde's HTML documentation with pdoc; any warning fails the build.

    python docs/build.py                 # writes docs/_build/index.html
    python docs/build.py -o OUTPUT_DIR

The pages are the guide (``docs/index.md``, ``docs/kernels.md``, ``docs/choosing.md``,
``docs/conditions.md``, ``docs/geometry.md``, ``docs/robustness.md``, ``docs/changes.md``,
rendered as the package ``guide`` and its modules ``guide.kernels``, ``guide.choosing``,
``guide.conditions``, ``guide.geometry``, ``guide.robustness`` and ``guide.changes``)
and the API reference generated from the docstrings of ``nnpde`` (Google style, Markdown,
math by MathJax). Needs the ``docs`` extra: ``pip install -e '.[docs]'``.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import shutil
import sys
import tempfile
import warnings

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
DEFAULT_OUTPUT = DOCS / "_build"

#: Guide pages: module name under ``guide`` -> Markdown file in docs/ ("" is the package).
PAGES = {"": "index.md", "kernels": "kernels.md", "choosing": "choosing.md",
         "conditions": "conditions.md", "geometry": "geometry.md", "robustness": "robustness.md",
         "changes": "changes.md"}
API = ("nnpde",)  # documented with the submodules that its __all__ exports


def _write_guide(folder: pathlib.Path) -> pathlib.Path:
    """A throwaway package whose module docstrings include the Markdown pages (pdoc documents
    modules only; this is its recommended way to add pages)."""
    package = folder / "guide"
    package.mkdir()
    for name, page in PAGES.items():
        module = package / f"{name or '__init__'}.py"
        module.write_text(f'"""\n.. include:: {DOCS / page}\n"""\n', encoding="utf-8")
    return package


def _point_namedtuples_at_their_modules() -> None:
    """Works around pdoc issue #765: pdoc resolves the annotations of a NamedTuple's
    generated ``__new__`` (e.g. ``Array`` in ``nnpde.Jet``) in the module that
    ``inspect.getmodule`` finds for it, which is none, and warns. Attributing each nnpde
    NamedTuple's ``__new__`` to the class's own module resolves them. Affects this process
    only."""
    for name, module in list(sys.modules.items()):
        if name != "nnpde" and not name.startswith("nnpde."):
            continue
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, tuple)
                and hasattr(obj, "_fields")
                and obj.__module__ == name
            ):
                obj.__new__.__module__ = name


def _drop_tilde_in_roles() -> None:
    """pdoc turns the Sphinx role :class:`~nnpde.Problem` into `~nnpde.Problem`, which it
    cannot link; without the tilde it links the name. Affects this process only."""
    import pdoc.docstrings

    rst = pdoc.docstrings.rst

    def rst_without_tildes(contents, source_file):
        return rst(re.sub(r"(:[a-z]+:`)~", r"\1", contents), source_file)

    pdoc.docstrings.rst = rst_without_tildes


def build(output: pathlib.Path = DEFAULT_OUTPUT) -> list[str]:
    """Writes the HTML pages to ``output``; returns the warnings raised while building."""
    import pdoc
    import pdoc.render

    sys.path.insert(0, str(ROOT))  # document this checkout, installed or not
    try:
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import nnpde

            _point_namedtuples_at_their_modules()
            _drop_tilde_in_roles()
            pdoc.render.configure(
                docformat="google",
                math=True,
                search=True,
                show_source=True,
                footer_text=f"nnpde {nnpde.__version__}",
            )
            pdoc.pdoc(_write_guide(pathlib.Path(tmp)), *API, output_directory=output)
        for image in DOCS.glob("*.png"):  # the guide's pages refer to them by bare name
            shutil.copy2(image, output / "guide" / image.name)
    finally:
        sys.path.remove(str(ROOT))
        sys.modules.pop("guide", None)
        for name in [m for m in sys.modules if m.startswith("guide.")]:
            sys.modules.pop(name)
    messages = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught]
    return list(dict.fromkeys(messages))  # pdoc repeats some per signature it renders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = DEFAULT_OUTPUT.relative_to(ROOT)
    parser.add_argument("-o", "--output", type=pathlib.Path, default=DEFAULT_OUTPUT,
                        help=f"output folder (default {default})")  # fmt: skip
    args = parser.parse_args(argv)
    problems = build(args.output)
    for line in problems:
        print(f"docs/build.py: warning: {line}", file=sys.stderr)
    if problems:
        print(f"docs/build.py: {len(problems)} warning(s); failing", file=sys.stderr)
        return 1
    print(f"docs/build.py: wrote {args.output / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Architecture rules checked by reading the source (AST), not by importing it.

(a) ``core/`` never imports Qt (PySide6/shiboken6): the engine knows nothing of the UI.
(b) In the app's code (core/, gui/, resources/), only ``core/remote/azure/``
    imports ``azure``: one door to Azure. Tests and benchmarks may use the SDK directly
    to build states the app would refuse to create or to measure a baseline.
(c) Every Python file we write starts with a module docstring saying what it is for.
(d) The layers import downwards only: the vocabulary (``core/*.py``) imports no layer;
    ``core.local`` and ``core.remote`` import no engine, app or client;
    ``core.engine`` never imports ``core.app`` or a client; ``core.app`` never imports
    ``core.cli``; nothing in ``core`` imports ``gui``.

The scanners are tested on small synthetic sources too, so a check that silently
stopped seeing imports (and passed on everything) would fail here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
AZURE_DOOR = CORE / "remote" / "azure"
DOCSTRING_DIRS = ("core", "gui", "tests", "bench", "packaging")
APP_DIRS = ("core", "gui", "resources")
QT_ROOTS = {"PySide6", "shiboken6", "PyQt5", "PyQt6"}
# Never scanned: third-party trees and build output that may sit inside the checkout.
SKIP_PARTS = {"node_modules", ".venv", "build", "dist", "__pycache__", ".git"}


def python_files(*dirs: str) -> Iterator[Path]:
    for name in dirs:
        base = ROOT / name
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            if not SKIP_PARTS.intersection(path.relative_to(ROOT).parts):
                yield path


def module_name(path: Path) -> str:
    """`core/remote/base.py` -> `core.remote.base` (the package in the checkout)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_roots(source: str, module: str = "", is_package: bool = False) -> set[str]:
    """Top-level names of every module `source` imports, at any depth (also inside
    functions and `if TYPE_CHECKING:`), including `importlib.import_module("x")` and
    `__import__("x")` with a literal name. Relative imports resolve against `module`,
    so `from ..remote import x` counts as `core` (ours), never as a third party."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
            elif node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - (node.level - 1)]
                roots.add(anchor[0] if anchor else "<relative>")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                name in {"import_module", "__import__"}
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                roots.add(first.value.split(".")[0])
    return roots


def imported_modules(source: str, module: str = "", is_package: bool = False) -> set[str]:
    """Full dotted names of our own modules that ``source`` imports (``blobsync.core.x``
    and relative imports both become ``core.x``; ``from . import y`` becomes
    ``package.y``), at any depth."""
    found: set[str] = set()
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                base = node.module
            elif node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                continue
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            name = name.removeprefix("blobsync.")
            if name.split(".")[0] in ("core", "gui"):
                found.add(name)
    return found


def file_modules(path: Path) -> set[str]:
    return imported_modules(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )


def file_roots(path: Path) -> set[str]:
    return imported_roots(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )


def has_module_docstring(source: str) -> bool:
    doc = ast.get_docstring(ast.parse(source), clean=True)
    return bool(doc and doc.strip())


# ---------------------------------------------------------------- the scanners themselves


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import PySide6.QtCore", {"PySide6"}),
        ("from PySide6 import QtWidgets", {"PySide6"}),
        ("def f():\n    import shiboken6\n", {"shiboken6"}),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import azure.core\n",
            {"typing", "azure"},
        ),
        ("import importlib\nimportlib.import_module('azure.storage.blob')", {"importlib", "azure"}),
        ("__import__('PySide6')", {"PySide6"}),
        ("import os, json as j", {"os", "json"}),
    ],
)
def test_scanner_sees_imports(source: str, expected: set[str]) -> None:
    assert imported_roots(source, "core.x") == expected


def test_scanner_resolves_relative_imports_inside_core() -> None:
    assert imported_roots("from ..models import X", "core.remote.memory") == {"core"}
    assert imported_roots("from . import base", "core.remote", is_package=True) == {"core"}
    assert imported_roots("from .errors import E", "core.engine") == {"core"}


def test_module_scanner_resolves_our_imports() -> None:
    assert imported_modules("from ..app import pause", "core.engine.facade") >= {
        "core.app",
        "core.app.pause",
    }
    assert "core.cli" in imported_modules("import blobsync.core.cli", "gui.app")
    assert "gui.bridge" in imported_modules("from blobsync.gui.bridge import X", "core.app.x")
    assert imported_modules("from .planner import plan_item", "core.engine.facade") >= {
        "core.engine.planner"
    }
    assert imported_modules("import os", "core.x") == set()


def test_docstring_check_rejects_files_without_one() -> None:
    assert has_module_docstring('"""What this is for."""\nimport os\n')
    assert not has_module_docstring("import os\n")
    assert not has_module_docstring('import os\n"""Too late to be a docstring."""\n')
    assert not has_module_docstring('""""""\n')
    assert not has_module_docstring("# a comment is not a docstring\n")


def test_the_scan_sees_the_tree() -> None:
    """Guards against a scan that finds nothing (wrong root) and so passes vacuously."""
    core_files = list(python_files("core"))
    assert CORE / "__init__.py" in core_files
    assert CORE / "engine" / "facade.py" in core_files
    assert ROOT / "tests" / "test_architecture.py" in list(python_files("tests"))


# ---------------------------------------------------------------- the rules


def test_core_never_imports_qt() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(file_roots(path) & QT_ROOTS)
        for path in python_files("core")
        if file_roots(path) & QT_ROOTS
    }
    assert offenders == {}, f"core/ must not import Qt: {offenders}"


def test_only_the_azure_door_imports_azure() -> None:
    importers = [path for path in python_files(*APP_DIRS) if "azure" in file_roots(path)]
    assert any(AZURE_DOOR in p.parents for p in importers), "the scan saw no Azure import"
    outside = [str(p.relative_to(ROOT)) for p in importers if AZURE_DOOR not in p.parents]
    assert outside == [], f"only core/remote/azure/ may import azure.*; also: {outside}"


#: (files under this folder or module, must not import modules starting with these)
LAYER_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("core.local", ("core.engine", "core.app", "core.cli", "core.remote", "gui")),
    ("core.remote", ("core.engine", "core.app", "core.cli", "core.local", "gui")),
    ("core.engine", ("core.app", "core.cli", "gui")),
    ("core.app", ("core.cli", "gui")),
    ("core.cli", ("gui",)),
    ("core", ("gui",)),
]
VOCABULARY_LAYERS = ("core.local", "core.remote", "core.engine", "core.app", "core.cli")


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize(("layer", "forbidden"), LAYER_RULES)
def test_layers_import_downwards_only(layer: str, forbidden: tuple[str, ...]) -> None:
    files = [p for p in python_files("core") if _under(module_name(p), layer)]
    assert files, f"no files in {layer}"
    offenders = {
        module_name(p): sorted(m for m in file_modules(p) if any(_under(m, f) for f in forbidden))
        for p in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_vocabulary_imports_no_layer() -> None:
    """``core/*.py`` (models, events, errors, names, credentials, crash points) is what
    every layer speaks; it must not depend on any of them."""
    files = [p for p in python_files("core") if p.parent == CORE]
    assert CORE / "models.py" in files
    offenders = {
        module_name(p): sorted(
            m for m in file_modules(p) if any(_under(m, layer) for layer in VOCABULARY_LAYERS)
        )
        for p in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_python_file_starts_with_a_docstring() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in python_files(*DOCSTRING_DIRS)
        if not has_module_docstring(path.read_text(encoding="utf-8"))
    ]
    assert missing == [], f"files without a module docstring: {missing}"


def test_no_file_keeps_merge_conflict_markers() -> None:
    """A merge left unresolved in a README or a module would ship as is."""
    import subprocess

    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=False
    )
    if tracked.returncode != 0:  # not a checkout (an unpacked source tree): read them all
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    else:
        names = tracked.stdout.splitlines()
    marked = []
    for name in names:
        if not name.endswith((".py", ".md", ".toml", ".sh", ".txt", ".cfg", ".json", ".desktop")):
            continue
        try:
            lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in lines):
            marked.append(name)
    assert marked == []

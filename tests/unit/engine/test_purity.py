"""The engine imports nothing but the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[3] / "periop" / "drugs" / "engine"
ENGINE_PACKAGE = "periop.drugs.engine"


def imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import stays inside the engine package by construction.
            modules.append(ENGINE_PACKAGE if node.level else node.module or "")
    return modules


def is_allowed(module: str) -> bool:
    top_level = module.split(".")[0]
    in_engine = module == ENGINE_PACKAGE or module.startswith(ENGINE_PACKAGE + ".")
    return in_engine or top_level in sys.stdlib_module_names


def test_the_engine_has_python_files_to_check():
    assert len(list(ENGINE.glob("*.py"))) >= 5


def test_every_engine_module_imports_only_the_standard_library_or_the_engine():
    offending = {
        f"{path.name}: {module}"
        for path in sorted(ENGINE.rglob("*.py"))
        for module in imported_modules(path)
        if not is_allowed(module)
    }

    assert offending == set()


def test_the_check_would_catch_django_or_a_sibling_package(tmp_path: Path):
    module = tmp_path / "impure.py"
    module.write_text("import django.conf\nfrom periop.drugs import registry\n", encoding="utf-8")

    assert [m for m in imported_modules(module) if not is_allowed(m)] == [
        "django.conf",
        "periop.drugs",
    ]

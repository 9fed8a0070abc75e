"""The domain (warning/) imports only the standard library and itself: no I/O frameworks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import warning

DOMAIN = Path(warning.__file__).resolve().parent
FORBIDDEN = frozenset(
    {
        "aiohttp",
        "sqlalchemy",
        "celery",
        "redis",
        "jinja2",
        "alembic",
        "asyncpg",
        "aiosqlite",
        "twilio",
    }
)


def top_level_imports(source: str) -> set[str]:
    """The top-level package of every module `source` imports (absolute imports only)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


DOMAIN_FILES = sorted(DOMAIN.rglob("*.py"))


def test_the_domain_has_modules_to_scan() -> None:
    names = {path.name for path in DOMAIN_FILES}
    assert {"workflow.py", "commands.py", "permissions.py", "audit.py", "cap.py"} <= names


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: str(p.relative_to(DOMAIN)))
def test_domain_module_imports_no_framework(path: Path) -> None:
    imported = top_level_imports(path.read_text(encoding="utf-8"))
    assert imported & FORBIDDEN == set()


SYNTHETIC = [
    pytest.param("import aiohttp.web", {"aiohttp"}, id="import-dotted"),
    pytest.param("import os, redis as r", {"os", "redis"}, id="import-several-aliased"),
    pytest.param(
        "from sqlalchemy.ext.asyncio import AsyncSession", {"sqlalchemy"}, id="from-dotted"
    ),
    pytest.param("from celery import shared_task", {"celery"}, id="from-package"),
    pytest.param("def f():\n    import jinja2\n", {"jinja2"}, id="import-inside-function"),
    pytest.param(
        "try:\n    import twilio.rest\nexcept ImportError:\n    pass\n",
        {"twilio"},
        id="import-inside-try",
    ),
    pytest.param("from . import model\nfrom .errors import X", set(), id="relative-ignored"),
    pytest.param("from warning.model import State", {"warning"}, id="domain-itself"),
]


@pytest.mark.parametrize(("source", "expected"), SYNTHETIC)
def test_scanner_finds_imports(source: str, expected: set[str]) -> None:
    assert top_level_imports(source) == expected


def test_scanner_flags_a_forbidden_import() -> None:
    assert top_level_imports("import aiohttp.web") & FORBIDDEN == {"aiohttp"}

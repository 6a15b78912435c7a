"""Every environment variable the product reads is in the README's configuration table."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.processes import ROOT

APPS = ("tenants", "vouchers", "checkout", "billing", "webhooks", "duework", "widget")
APPS += ("superpayment",)
ENV_READERS = {"env_str", "env_bool", "env_int", "env_list", "getenv"}
# Mappings of the process environment: os.environ, and the copies the launcher hands children.
ENVIRONMENTS = {"environ", "env"}
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def _app_sources() -> Iterator[Path]:
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            if "migrations" not in parts and "tests" not in parts:
                yield path


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _variable(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isupper():
        return node.value
    return None


def _read_of(node: ast.AST) -> ast.AST | None:
    """The name argument if `node` reads the environment: env_*("X"), os.getenv("X"),
    environ.get("X") (or setdefault, pop), environ["X"], "X" in environ."""
    if isinstance(node, ast.Call) and node.args:
        function = node.func
        if _name(function) in ENV_READERS:
            return node.args[0]
        if (
            isinstance(function, ast.Attribute)
            and function.attr in ("get", "setdefault", "pop")
            and _name(function.value) in ENVIRONMENTS
        ):
            return node.args[0]
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        return node.slice if _name(node.value) in ENVIRONMENTS else None
    if isinstance(node, ast.Compare) and len(node.comparators) == 1:
        return node.left if _name(node.comparators[0]) in ENVIRONMENTS else None
    return None


def environment_reads(source: str) -> set[str]:
    names = {_variable(_read_of(node)) for node in ast.walk(ast.parse(source))}
    return {name for name in names if name is not None}


def test_the_scan_finds_every_way_the_code_reads_the_environment():
    source = (
        'env_int("A")\nos.environ.get("B", "1")\nos.environ["C"]\nos.getenv("D")\n'
        'env.get("E")\nif "F" in os.environ: pass\nos.environ.setdefault("G", "x")\n'
        'settings.get("lower")\nother.get("H")\nenv["I"] = "written, not read"\n'
    )
    assert environment_reads(source) == {"A", "B", "C", "D", "E", "F", "G"}


def test_every_setting_read_from_the_environment_is_documented():
    reads: dict[str, set[str]] = {}
    for path in _app_sources():
        for name in environment_reads(path.read_text()) - NOT_SETTINGS:
            reads.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} <= set(reads)
    # Read outside superpayment/, in a management command: the scan covers every app's folders.
    assert "webhooks/management/commands/webhooks_dispatch.py" in reads["METRICS_PORT"]
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("## Deploying")]
    missing = {
        name: sorted(paths) for name, paths in sorted(reads.items()) if f"`{name}`" not in table
    }
    assert not missing, f"add to the README's configuration table: {missing}"

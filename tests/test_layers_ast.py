"""House rules of backend/ that import-linter cannot see, checked over the source (no database, no
import of the modules): the size of a module, the one place that refuses a cursor, and imports
hidden inside functions (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[1] / "backend"

#: A module past this many lines becomes a package (docs/architecture.md).
MAX_LINES = 400

#: The only module that builds the 400 INVALID_CURSOR error (core/pagination.invalid_cursor).
CURSOR_MODULE = "core/pagination.py"

#: Imports inside a function, each with its reason: (module under backend/, function or "*" for
#: every function of the module). Anything else is imported at module level; a function-level
#: import that dodges a cycle is a cycle to remove, not to hide.
ALLOWED_FUNCTION_IMPORTS: dict[tuple[str, str], str] = {
    ("cli.py", "*"): "each command loads only what it needs: a cron'd `expire-terms` does not load the server",
    ("app.py", "route_handlers"): "the controllers (PDF, imaging, web stacks) load when an app is built, not on import",
    ("migrations/env.py", "run"): "Alembic's env: Settings only when no URL was handed over",
    ("migrations/runner.py", "current_heads"): "Alembic's script directory, for `db upgrade` checks only",
    ("core/changes.py", "ChangeFeed._listen"): "asyncpg: the PostgreSQL change feed only; SQLite polls",
    ("core/ratelimit.py", "make_redis"): "redis: only when a Redis URL is configured",
    ("documents_pdf/fonts.py", "cjk_font"): "fontTools: the font is cut once per machine, on the first PDF",
    ("documents_pdf/layout.py", "_ink"): "Pillow: only for a PDF with an inked signature",
}


def _modules() -> list[tuple[str, str]]:
    return [(path.relative_to(BACKEND).as_posix(), path.read_text(encoding="utf-8"))
            for path in sorted(BACKEND.rglob("*.py"))]


def _function_imports(tree: ast.Module) -> list[tuple[str, int, str]]:
    """(qualified function name, line, imported module) of every import inside a function."""
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, scope: list[str], in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, [*scope, child.name], True)
            elif isinstance(child, ast.ClassDef):
                visit(child, [*scope, child.name], in_function)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                if in_function:
                    names = ([a.name for a in child.names] if isinstance(child, ast.Import)
                             else ["." * child.level + (child.module or "")])
                    found.extend((".".join(scope), child.lineno, name) for name in names)
            else:
                visit(child, scope, in_function)

    visit(tree, [], False)
    return found


def test_no_module_over_400_lines() -> None:
    long = {name: n for name, text in _modules() if (n := len(text.splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them into a package): {long}"


def test_invalid_cursor_is_built_only_in_core_pagination() -> None:
    sites = [f"{name}:{node.lineno}" for name, text in _modules() if name != CURSOR_MODULE
             for node in ast.walk(ast.parse(text))
             if isinstance(node, ast.Constant) and node.value == "INVALID_CURSOR"]
    assert not sites, f"INVALID_CURSOR outside {CURSOR_MODULE} (use core/pagination.parse_cursor): {sites}"


def test_cursor_refusal_still_lives_in_core_pagination() -> None:
    text = (BACKEND / CURSOR_MODULE).read_text(encoding="utf-8")
    assert any(isinstance(node, ast.Constant) and node.value == "INVALID_CURSOR"
               for node in ast.walk(ast.parse(text))), f"{CURSOR_MODULE} no longer builds INVALID_CURSOR"


def test_no_function_level_imports_outside_the_allowlist() -> None:
    hidden = [f"{name}:{line} {function}() imports {module}" for name, text in _modules()
              for function, line, module in _function_imports(ast.parse(text))
              if (name, "*") not in ALLOWED_FUNCTION_IMPORTS and (name, function) not in ALLOWED_FUNCTION_IMPORTS]
    assert not hidden, "imports inside functions (move them to module level, or allow one with a reason):\n" + \
        "\n".join(hidden)


def test_every_allowed_function_import_is_still_there() -> None:
    used = {(name, "*" if (name, "*") in ALLOWED_FUNCTION_IMPORTS else function)
            for name, text in _modules() for function, _, _ in _function_imports(ast.parse(text))}
    stale = set(ALLOWED_FUNCTION_IMPORTS) - used
    assert not stale, f"allowlist entries whose import has gone (delete them): {sorted(stale)}"

"""The project's own documentation stays true: docs/api.md against the served OpenAPI, docs/rules.md
against the code and tests it names, README against the repository (nothing outside it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
API = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
RULES = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
OPERATION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`( \*\(public\)\*)?")
REF = re.compile(r"`([\w/.]+\.py)::(\w+)`")


def documented_operations() -> dict[tuple[str, str], bool]:
    """(method, path) → marked public, for every operation docs/api.md names."""
    out: dict[tuple[str, str], bool] = {}
    for method, path, public in OPERATION.findall(API):
        key = (method.lower(), path)
        out[key] = out.get(key, False) or bool(public)
    return out


def served_operations(doc: dict[str, Any]) -> dict[tuple[str, str], bool]:
    out = {}
    for path, item in doc["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                out[(method, path)] = item[method].get("security", []) == []
    return out


@pytest.mark.db
async def test_api_reference_names_only_served_operations_with_their_security(client: Any) -> None:
    served = served_operations((await client.get("/schema/openapi.json")).json())
    documented = documented_operations()
    assert len(documented) > 80
    for key, public in documented.items():
        assert key in served, f"docs/api.md names {key}, which the server does not offer"
        assert public == served[key], f"docs/api.md says {key} is {'public' if public else 'token-only'}"


@pytest.mark.db
async def test_api_reference_names_every_served_operation(client: Any) -> None:
    served = served_operations((await client.get("/schema/openapi.json")).json())
    missing = sorted(set(served) - set(documented_operations()))
    assert missing == [], f"add these to docs/api.md: {missing}"


def _defines(path: Path, name: str) -> bool:
    text = path.read_text(encoding="utf-8")
    return re.search(rf"^\s*(?:async\s+)?def\s+{name}\b|^\s*class\s+{name}\b|^{name}\s*[:=]", text, re.M) is not None


def _rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_every_rule_row_names_code_and_a_test_that_exist() -> None:
    checked = 0
    for cells in _rows(RULES):
        if len(cells) != 4 or cells[0] in {"Article", "Source"}:
            continue
        code, test = REF.findall(cells[2]), REF.findall(cells[3])
        assert code and test, cells
        for file, name in code + test:
            path = ROOT / file
            assert path.is_file(), f"{file} (row {cells[0]}) does not exist"
            assert _defines(path, name), f"{file} defines no {name} (row {cells[0]})"
        assert all(file.startswith("tests/") and name.startswith("test_") for file, name in test), cells
        checked += 1
    assert checked >= 30


def test_every_article_is_carried_or_listed_out_of_scope() -> None:
    carried, out = set(), set()
    section = ""
    for line in RULES.splitlines():
        if line.startswith("## "):
            section = line
        cells = [c.strip() for c in line.strip("|").split("|")] if line.startswith("|") else []
        if not cells or not re.match(r"^\d", cells[0]):
            continue
        numbers = {int(n) for n in re.findall(r"\d+", re.sub(r"\(\d+\)", "", cells[0]))}
        (out if "Not carried" in section else carried).update(numbers)
    assert carried | out == set(range(1, 33))
    assert not carried & out


def test_readme_points_into_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme
    for link in ("docs/api.md", "docs/rules.md"):
        assert link in readme
        assert (ROOT / link).is_file()

"""One registry of finding codes (core/findings.py), and everything else agrees with it.

The core's source is read, not run: the first argument of every `finding(...)`, `Finding(...)`,
`Cause(...)` and `Candidate(...)` call, the codes a `code = a if b else c` chooses
between, and what `f.code` is compared with. Each must be a registry constant (`F.NAME`), never a
string; every registered code must be made somewhere; no call site may report a code worse than
the registry's `severity`; and the README's table must be the registry's own rendering.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core.model import Severity

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "app" / "uv_cache_inspector"
CORE = PACKAGE / "core"
MAKERS = {"finding", "Finding", "Cause", "Candidate"}
CONSTANTS = {k: v for k, v in vars(F).items() if isinstance(v, str) and v in F.REGISTRY}
RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _choices(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.IfExp):
        return _choices(node.body) + _choices(node.orelse)
    return [node]


def _code_sites(root: Path) -> list[tuple[str, int, ast.AST, ast.Call | None]]:
    """(file, line, the expression giving a code, the call making the finding or None)."""
    sites: list[tuple[str, int, ast.AST, ast.Call | None]] = []
    for path in root.rglob("*.py"):
        if path.name == "findings.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in MAKERS:
                    sites += [(path.name, node.lineno, c, node) for c in _choices(node.args[0])]
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.IfExp):
                if any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets):
                    sites += [(path.name, node.lineno, c, None) for c in _choices(node.value)]
            elif (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Attribute)
                and node.left.attr == "code"
            ):
                right = node.comparators[0]
                elts = right.elts if isinstance(right, (ast.Set, ast.Tuple, ast.List)) else [right]
                sites += [(path.name, node.lineno, e, None) for e in elts]
    return sites


def _constant(expr: ast.AST) -> str | None:
    """The registry code an expression names (`F.NAME`), else None."""
    if not (isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name)):
        return None
    if expr.value.id != "F" or isinstance(getattr(F, expr.attr, None), frozenset):
        return None  # not the registry, or one of its sets (F.REPAIRABLE)
    return CONSTANTS.get(expr.attr, f"<unregistered F.{expr.attr}>")


def _severity(call: ast.Call) -> Severity | None:
    """The severity a finding()/Finding() call writes out literally (ERROR, Severity.WARNING)."""
    name = getattr(call.func, "id", getattr(call.func, "attr", ""))
    expr = call.args[1] if name in {"finding", "Finding"} and len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "severity":
            expr = kw.value
    if expr is None:
        return None
    word = getattr(expr, "id", getattr(expr, "attr", ""))
    return Severity[word] if word in Severity.__members__ else None


def test_every_code_is_a_registry_constant_never_a_string():
    strings = [
        (f, line, c.value)
        for f, line, c, _ in _code_sites(PACKAGE)
        if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value in F.REGISTRY
    ]
    assert strings == [], "finding codes written as strings: use core.findings' constants"
    unregistered = [
        (f, line, code)
        for f, line, c, _ in _code_sites(PACKAGE)
        if (code := _constant(c)) is not None and code not in F.REGISTRY
    ]
    assert unregistered == []


def test_every_registered_code_is_made_somewhere():
    made = {
        _constant(c) for _, _, c, call in _code_sites(CORE) if call is not None and _constant(c)
    }
    # Codes chosen through a variable (explain's causes carry theirs in the Cause tuple).
    assert made, "the scan found no codes at all"
    assert sorted(set(F.REGISTRY) - made) == [], "registered codes nothing makes"
    # One of each way a code is made: finding(), Finding(), Cause(); from each source.
    assert {F.ORPHANED_TMP, F.MODIFIED_ARCHIVE, F.ONEDRIVE, F.OS_ERROR} <= made


def test_no_call_site_reports_a_code_worse_than_the_registry_says():
    worse = []
    for f, line, c, call in _code_sites(CORE):
        code = _constant(c)
        sev = _severity(call) if call is not None else None
        if code in F.REGISTRY and sev is not None and RANK[sev] < RANK[F.REGISTRY[code].severity]:
            worse.append((f, line, code, sev.value, F.REGISTRY[code].severity.value))
    assert worse == []


def test_the_registry_agrees_with_itself():
    for name, code in CONSTANTS.items():
        assert name == code.upper().replace("-", "_")
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code)
    assert F.REPAIRABLE.isdisjoint(F.PRUNABLE)
    assert F.HOUSEKEEPING <= F.REPAIRABLE | F.PRUNABLE  # a tidy-up has a tool of ours


def test_readme_table_is_the_registry():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = F.markdown_table()
    assert table in text, (
        "README's table of codes: paste `python -m uv_cache_inspector.core.findings`"
    )
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, re.MULTILINE))
    assert listed == set(F.REGISTRY)

"""Every model the window shows passes Qt's model tester, filled from a real cache."""

from __future__ import annotations

import os
from dataclasses import replace

from uv_cache_inspector.core.cache.inventory import build
from uv_cache_inspector.core.cache.layout import parse_bucket
from uv_cache_inspector.core.diagnosis.engine import diagnose
from uv_cache_inspector.core.model import Finding, Severity
from uv_cache_inspector.gui.models.buckets import BucketTreeModel
from uv_cache_inspector.gui.models.entries import (
    COL_PACKAGE,
    COL_SIZE,
    EntryFilter,
    EntryTableModel,
    version_key,
)
from uv_cache_inspector.gui.models.lists import Column, ObjectTable
from uv_cache_inspector.gui.models.roles import Role


def _diagnosis(cache):
    gen = diagnose(str(cache))
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def _inventory(cache):
    diag = _diagnosis(cache)
    return build(diag.snapshot, diag.findings)


def test_entry_table_and_filter(qtmodeltester, real_cache):
    inv = _inventory(real_cache)
    model = EntryTableModel()
    model.set_rows(inv.rows)
    qtmodeltester.check(model)
    packages = {r.package for r in inv.rows if r.kind == "archive"}
    assert {"alpha", "beta", "gamma-native", "delta", "epsilon"} <= packages

    controls = EntryFilter(model)  # shows archive-v0 from the start
    qtmodeltester.check(model)
    shown = {model.index(i, COL_PACKAGE).data() for i in range(model.rowCount())}
    assert shown == packages | ({"(cached environment)"} & shown)
    controls.set_text("alpha")
    assert model.rowCount() == sum(
        1 for r in inv.rows if r.kind == "archive" and r.package == "alpha"
    )
    qtmodeltester.check(model)
    controls.set_group("")
    controls.set_text("")
    assert model.rowCount() == len(inv.rows)

    # Live updates keep the model consistent, shown or filtered out.
    controls.set_group("archive-v0")
    row = next(r for r in inv.rows if r.kind == "archive")
    hidden = next(r for r in inv.rows if r.kind != "archive" and r.group != "archive-v0")
    before = model.rowCount()
    model.remove(row.key)
    assert model.rowCount() == before - 1 and model.find(row.key) is None
    model.upsert(row)
    assert model.rowCount() == before and model.find(row.key) is row
    model.remove(hidden.key)
    assert model.rowCount() == before and model.find(hidden.key) is None
    model.upsert(hidden)
    assert model.rowCount() == before and model.find(hidden.key) is hidden
    moved = replace(row, group="tmp", bucket="")  # a shown row that no longer passes
    model.upsert(moved)
    assert model.rowCount() == before - 1 and model.find(row.key) is moved
    qtmodeltester.check(model)


def test_sizes_sort_as_python_ints(real_cache):
    """Sizes above 2**31 must not wrap (Qt would compare them as 32-bit ints)."""
    inv = _inventory(real_cache)
    rows = [r for r in inv.rows if r.kind == "archive"][:3]
    rows[0].bytes = 5 * 2**40  # 5 TiB
    rows[1].bytes = 3 * 2**31
    rows[2].bytes = 7
    model = EntryTableModel()
    model.set_rows(rows)
    EntryFilter(model).set_group("")
    model.sort(COL_SIZE)
    assert [model.index(i, COL_SIZE).data(Role.SORT) for i in range(3)] == [
        7,
        3 * 2**31,
        5 * 2**40,
    ]


def test_versions_sort_by_number():
    assert sorted(["10.0", "2.0", "1.10", "1.9", "1.10rc1"], key=version_key) == [
        "1.9",
        "1.10",
        "1.10rc1",
        "2.0",
        "10.0",
    ]


def test_bucket_tree(qtmodeltester, real_cache):
    inv = _inventory(real_cache)
    model = BucketTreeModel()
    model.set_tree(inv.tree)
    qtmodeltester.check(model)
    top = model.index(0, 0)
    names = {model.index(i, 0, top).data() for i in range(model.rowCount(top))}
    buckets = {n for n in os.listdir(real_cache) if parse_bucket(n)}
    assert names == buckets
    archive = model.find("archive-v0")
    assert archive.isValid()
    assert archive.siblingAtColumn(1).data(Role.SORT) == next(
        n.bytes for n in inv.tree.children if n.key == "archive-v0"
    )
    # Index/shard nodes below a link bucket (bucket -> index).
    wheels = model.find(next(n for n in buckets if n.startswith("wheels-v")))
    assert model.rowCount(wheels) >= 1


def test_object_table(qtmodeltester):
    items = [
        Finding("orphaned-tmp", Severity.WARNING, "/c/.tmpA", "a", None),
        Finding("foreign-owner", Severity.ERROR, "/c/archive-v0", "b", None),
    ]
    model: ObjectTable[Finding] = ObjectTable(
        [Column("Code", lambda f: f.code), Column("Message", lambda f: f.message)],
        severity=lambda f: f.severity.value,
    )
    model.set_items(items)
    qtmodeltester.check(model)
    model.append(items[0])
    assert model.rowCount() == 3
    qtmodeltester.check(model)
    assert model.index(1, 0).data() == "foreign-owner"
    assert model.index(0, 1).data() == "a"
    assert model.index(0, 2).data() is None  # no such column

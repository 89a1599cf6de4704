"""Bucket names and the release table (docs/uv-cache-format.md §2)."""

from __future__ import annotations

import pytest

from uv_cache_inspector.core.cache.layout import (
    buckets_for,
    classify,
    parse_bucket,
    parse_version,
    uv_versions_for_bucket,
)
from uv_cache_inspector.core.model import BucketStatus


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wheels-v8", ("wheels", 8)),
        ("flat-index-v7", ("flat-index", 7)),
        ("built-wheels-v3", ("built-wheels", 3)),
        ("archive-v0", ("archive", 0)),
        ("wheels-v", None),
        ("wheels", None),
        (".tmpAbc123", None),
        ("Wheels-v8", None),
        ("wheels-v8x", None),
    ],
)
def test_parse_bucket(name, expected):
    assert parse_bucket(name) == expected


def test_parse_version():
    assert parse_version("uv 0.13.9 (d1b2c3 2026-01-01)") == (0, 13, 9)
    assert parse_version("0.5") == (0, 5, 0)
    assert parse_version("no version") is None


# The full sets at selected releases, as the format doc lists them.
DOC_SETS = {
    (0, 4, 30): "sdists-v5 wheels-v2 simple-v13 flat-index-v1 interpreter-v2 git-v0 builds-v0 "
    "environments-v1",
    (0, 5, 31): "sdists-v7 wheels-v3 simple-v15 flat-index-v2 interpreter-v4 git-v0 builds-v0 "
    "environments-v1",
    (0, 6, 17): "sdists-v9 wheels-v5 simple-v15 flat-index-v2 interpreter-v4 git-v0 builds-v0 "
    "environments-v2",
    (0, 8, 24): "sdists-v9 wheels-v5 simple-v18 flat-index-v2 interpreter-v4 git-v0 builds-v0 "
    "environments-v2 python-v0 binaries-v0",
    (0, 9, 30): "sdists-v9 wheels-v5 simple-v19 flat-index-v2 interpreter-v4 git-v0 builds-v0 "
    "environments-v2 python-v0 binaries-v0",
    (0, 12, 24): "sdists-v9 wheels-v6 simple-v25 flat-index-v5 interpreter-v4 git-v1 builds-v0 "
    "environments-v2 python-v0 binaries-v0 osv-v0 files-v0",
    (0, 13, 9): "sdists-v11 wheels-v8 simple-v28 flat-index-v7 interpreter-v5 git-v2 builds-v0 "
    "environments-v2 python-v1 binaries-v0 osv-v1 files-v0",
}


@pytest.mark.parametrize("version", sorted(DOC_SETS))
def test_full_sets_match_the_format_doc(version):
    expected = set(DOC_SETS[version].split()) | {"archive-v0"}
    assert set(buckets_for(version).names()) == expected


def test_fixture_releases_match_their_own_buckets():
    # The buckets real uv 0.10.12 created in its fixture cache (tests/fixtures/caches).
    bs = buckets_for((0, 10, 12))
    for name in ["wheels-v6", "sdists-v9", "simple-v20", "interpreter-v4", "environments-v2"]:
        assert classify(name, bs)[0] is BucketStatus.CURRENT, name


def test_stale_and_unknown_relative_to_newest_uv():
    bs = buckets_for((0, 13, 9))
    assert classify("wheels-v6", bs)[0] is BucketStatus.STALE
    assert classify("built-wheels-v3", bs)[0] is BucketStatus.STALE
    assert classify("wheels-v9", bs)[0] is BucketStatus.UNKNOWN  # newer than any uv here
    assert classify("turbo-v1", bs)[0] is BucketStatus.UNKNOWN  # a kind we do not know
    assert classify("archive-v0", bs)[0] is BucketStatus.CURRENT


def test_newer_buckets_are_never_stale_for_an_older_uv():
    # 0.12.24's prune deletes 0.13.9's buckets (docs/uv-cache-format.md §2); we must not call them stale.
    bs = buckets_for((0, 12, 24))
    for name in ["wheels-v8", "sdists-v11", "simple-v28", "git-v2", "python-v1"]:
        assert classify(name, bs)[0] is BucketStatus.UNKNOWN, name
    assert classify("wheels-v5", bs)[0] is BucketStatus.STALE


@pytest.mark.parametrize(
    ("version", "current", "stale"),
    [
        # What each release's own `uv cache prune` kept and removed, run on a cache holding
        # every version of these kinds (docs/uv-cache-format.md §2).
        ((0, 12, 7), ["flat-index-v4", "simple-v24", "git-v0"], ["flat-index-v3"]),
        ((0, 12, 8), ["files-v0", "flat-index-v4", "simple-v24"], ["simple-v23"]),
        ((0, 12, 13), ["flat-index-v5", "simple-v25", "git-v0"], ["flat-index-v4", "simple-v24"]),
        ((0, 12, 18), ["flat-index-v5", "git-v0"], ["flat-index-v4"]),
        ((0, 12, 19), ["git-v1", "files-v0"], ["git-v0"]),
        ((0, 13, 1), ["flat-index-v6", "simple-v26", "git-v1"], ["flat-index-v5"]),
        ((0, 13, 2), ["flat-index-v7", "simple-v27"], ["flat-index-v6", "simple-v26"]),
    ],
)
def test_releases_checked_by_their_own_prune(version, current, stale):
    bs = buckets_for(version)
    for name in current:
        assert classify(name, bs)[0] is BucketStatus.CURRENT, (version, name)
    for name in stale:
        assert classify(name, bs)[0] is BucketStatus.STALE, (version, name)


def test_a_release_only_bracketed_may_use_either_version(monkeypatch):
    # When a change is only known to lie between two releases (`after`), a release in between
    # may read the old or the new version: neither is stale for it.
    from uv_cache_inspector.core.cache import layout

    bracketed = layout.Change((0, 12, 15), {"flat-index": 5}, after=(0, 12, 12))
    table = tuple(bracketed if c.buckets.get("flat-index") == 5 else c for c in layout.CHANGES)
    monkeypatch.setattr(layout, "CHANGES", table)
    bs = buckets_for((0, 12, 14))
    assert classify("flat-index-v4", bs)[0] is BucketStatus.CURRENT
    assert classify("flat-index-v5", bs)[0] is BucketStatus.CURRENT
    assert classify("flat-index-v3", bs)[0] is BucketStatus.STALE


def test_a_uv_newer_than_the_table():
    bs = buckets_for((0, 14, 2))
    assert bs.beyond_table
    assert classify("wheels-v8", bs)[0] is BucketStatus.CURRENT
    assert classify("wheels-v9", bs)[0] is BucketStatus.UNKNOWN
    assert classify("wheels-v7", bs)[0] is BucketStatus.STALE


def test_which_releases_wrote_a_bucket():
    assert uv_versions_for_bucket("wheels", 6) == ((0, 10, 0), (0, 13, 0))
    assert uv_versions_for_bucket("sdists", 11) == ((0, 13, 9), None)
    assert uv_versions_for_bucket("wheels", 99) is None

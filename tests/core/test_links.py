"""Link and side-file readers (docs/uv-cache-format.md §3) on files real uv releases wrote, and on junk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.harness import fixtures
from uv_cache_inspector.core.cache import links


@pytest.fixture(scope="module")
def fixture_roots() -> dict[str, Path]:
    return {v: fixtures.extract(f"uv-{v}") for v in fixtures.RELEASES}


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern))


@pytest.mark.parametrize("release", fixtures.RELEASES)
def test_wheel_http_pointers_name_the_archive_uv_installed(fixture_roots, release):
    """Each `<key>.http` names the archive that, by inode, holds that package (manifest)."""
    root = fixture_roots[release]
    expected = fixtures.manifest(f"uv-{release}")["archives"]
    https = _files(root, "wheels-v*/**/*.http")
    assert len(https) == 4  # alpha 1.0, alpha 2.0, beta, gamma-native
    for http in https:
        pointer = links.parse_http_archive(http.read_bytes())
        assert isinstance(pointer, links.ArchivePointer), (http, pointer)
        assert pointer.version == 0
        name, _version = expected[pointer.id]
        assert links.normalize_name(name) == http.parent.name
        if pointer.filename is not None:  # recorded since 0.6.4
            assert pointer.filename.startswith(name.replace("-", "_") + "-")


@pytest.mark.parametrize("release", fixtures.RELEASES)
def test_sdist_revision_pointer_names_an_existing_revision(fixture_roots, release):
    root = fixture_roots[release]
    (rev,) = _files(root, "sdists-v*/**/revision.http")
    rid = links.parse_revision_http(rev.read_bytes())
    assert isinstance(rid, str)
    assert (rev.parent / rid).is_dir()


@pytest.mark.parametrize("release", fixtures.RELEASES)
def test_symlinks_name_archives(fixture_roots, release):
    root = fixture_roots[release]
    symlinks = [p for p in root.glob("wheels-v*/**/*") if p.is_symlink()]
    assert symlinks
    for link in symlinks:
        target = links.parse_symlink_target(os.readlink(link))
        assert target.archive_version == 0
        assert (root / "archive-v0" / str(target.archive_id)).is_dir()
        # Absolute before 0.11.17, relative since (docs/uv-cache-format.md §3).
        assert target.absolute == (release in {"0.5.31", "0.8.24", "0.10.12"})


def test_windows_link_files(fixture_roots):
    win = fixtures.extract("windows-shaped")
    side = (".http", ".msgpack", ".lock", ".rev")
    files = [p for p in win.glob("wheels-v*/**/*") if p.is_file() and not p.name.endswith(side)]
    assert files
    for f in files:
        t = links.parse_link_file(f.read_bytes())
        assert isinstance(t, links.LinkTarget)
        assert t.archive_version == 0 and (win / "archive-v0" / str(t.archive_id)).is_dir()
    assert isinstance(links.parse_link_file(b"archive-v1/abc"), links.LinkTarget)
    assert isinstance(links.parse_link_file(b"\xff\xfe"), links.Corrupt)
    assert isinstance(links.parse_link_file(b"hello"), links.Corrupt)


def test_truncations_of_real_files_never_raise(fixture_roots):
    for release, root in fixture_roots.items():
        for http in _files(root, "wheels-v*/**/*.http")[:1] + _files(root, "**/revision.http"):
            data = http.read_bytes()
            for cut in range(len(data)):
                for parser in (links.parse_http_archive, links.parse_revision_http):
                    result = parser(data[:cut])
                    assert isinstance(result, (links.ArchivePointer, str, links.Corrupt)), release


def test_new_format_is_told_apart_by_its_crc(fixture_roots):
    new = next(iter(_files(fixture_roots["0.13.9"], "wheels-v*/**/*.http"))).read_bytes()
    old = next(iter(_files(fixture_roots["0.12.24"], "wheels-v*/**/*.http"))).read_bytes()
    for data in (new, old):
        assert isinstance(links.http_payload(data), bytes)
    flipped = bytearray(new)
    flipped[-10] ^= 0xFF  # break the CRC: read as the old format, which then fails or differs
    assert links.http_payload(bytes(flipped)) != links.http_payload(new)


def test_archive_records_of_every_shape():
    assert links.archive_from_value(["a" * 16, []]).id == "a" * 16
    assert links.archive_from_value(["a" * 16, [], 0]).version == 0
    p = links.archive_from_value(["a" * 16, [{"Sha256": "ff"}], "x-1-py3-none-any.whl", 0, 5])
    assert (p.filename, p.version, p.size, p.hashes) == (
        "x-1-py3-none-any.whl",
        0,
        5,
        ("sha256:ff",),
    )
    m = links.archive_from_value({"id": "b" * 16, "hashes": [["Sha256", "ee"]], "version": 0})
    assert m.id == "b" * 16 and m.hashes == ("sha256:ee",)
    assert isinstance(links.archive_from_value({"hashes": []}), links.Corrupt)
    assert isinstance(links.archive_from_value(42), links.Corrupt)
    assert isinstance(links.archive_from_value([7, []]), links.Corrupt)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_parsers_never_raise_on_junk(data):
    for parser in (
        links.parse_http_archive,
        links.parse_rev,
        links.parse_revision_http,
        links.parse_revision_rev,
        links.parse_link_file,
        links.http_payload,
    ):
        parser(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_symlink_targets_never_raise(raw):
    t = links.parse_symlink_target(raw)
    assert t.raw == raw


def test_names_and_versions():
    assert links.dist_info_name_version("six-1.17.0.dist-info") == ("six", "1.17.0")
    assert links.dist_info_name_version("nodash.dist-info") is None
    assert links.wheel_stem_name_version("docopt-0.6.2-py2.py3-none-any") == ("docopt", "0.6.2")
    assert links.wheel_key_version("six", "1.17.0-py2.py3-none-any") == "1.17.0"
    assert links.wheel_key_version("six", "six-1.17.0-py2.py3-none-any") == "1.17.0"
    assert links.normalize_name("Gamma_Native.x") == "gamma-native-x"


@pytest.mark.parametrize(
    ("symlinks", "link_files", "expected"),
    [
        (5, 0, ("symlink", "detected")),
        (0, 5, ("file", "detected")),
        (3, 2, ("mixed", "detected")),
        (0, 0, ("symlink", "default")),
    ],
)
def test_detect_style_from_evidence(symlinks, link_files, expected):
    assert links.detect_style(symlinks, link_files, default="symlink") == expected


def test_detect_style_empty_cache_follows_the_host():
    assert links.detect_style(0, 0) == (links.host_link_style(), "default")
    assert links.detect_style(0, 0, default="file") == ("file", "default")

"""The watch's pieces: the inotify reader, the depth rules, overflow, and a real uv beside it."""

from __future__ import annotations

import os
import struct
import threading
import time

import pytest

from uv_cache_inspector.core.platform import inotify
from uv_cache_inspector.core.watch import CacheWatcher


def _record(name: bytes, wd: int = 1, mask: int = inotify.IN_CREATE, pad: int = 16) -> bytes:
    body = name + b"\0" * (pad - len(name)) if name else b""
    return struct.pack("iIII", wd, mask, 0, len(body)) + body


def test_parse_events_reads_records_and_drops_a_truncated_tail():
    buf = _record(b"a") + _record(b"", 2, inotify.IN_IGNORED) + _record(b".tmpX", 1)
    assert inotify.parse_events(buf) == [
        (1, inotify.IN_CREATE, b"a"),
        (2, inotify.IN_IGNORED, b""),
        (1, inotify.IN_CREATE, b".tmpX"),
    ]
    assert inotify.parse_events(buf[:-3]) == [
        (1, inotify.IN_CREATE, b"a"),
        (2, inotify.IN_IGNORED, b""),
    ]
    assert inotify.parse_events(b"\x01\x02") == []


def test_one_inotify_instance_many_directories(tmp_path):
    """Thousands of directories on one descriptor (watchdog would open one per directory)."""
    got: list[tuple[str, str, bool]] = []
    seen = threading.Event()

    def on(kind: str, path: str, is_dir: bool) -> None:
        got.append((kind, path, is_dir))
        if path.endswith("last"):
            seen.set()

    ino = inotify.Inotify(on)
    ino.start()
    try:
        dirs = [tmp_path / f"d{i:04d}" for i in range(1500)]
        for d in dirs:
            d.mkdir()
            ino.add(str(d))
        assert len(ino) == 1500
        fds = len(os.listdir("/proc/self/fd"))
        (dirs[7] / "x").mkdir()
        (dirs[7] / "x").rename(dirs[7] / "y")
        (dirs[1499] / "last").write_text("")
        assert seen.wait(5)
        assert ("created", str(dirs[7] / "x"), True) in got
        assert ("deleted", str(dirs[7] / "x"), True) in got  # rename: old name gone ...
        assert ("created", str(dirs[7] / "y"), True) in got  # ... new name there
        # A removed directory is forgotten.
        os.rmdir(dirs[3])
        deadline = time.monotonic() + 5
        while len(ino) != 1499 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(ino) == 1499
        assert len(os.listdir("/proc/self/fd")) == fds
        with pytest.raises(OSError):
            ino.add(str(tmp_path / "missing"))
    finally:
        ino.close()


def test_watch_limit_reports_overflow_and_keeps_going(real_cache):
    batches: list = []
    w = CacheWatcher(str(real_cache), batches.extend, max_watches=3, debounce=0.05)
    w.start()
    try:
        assert w.watch_count == 3
        assert batches[0].event == "ready"
        assert batches[0].detail["complete"] is False
        deadline = time.monotonic() + 5
        while len(batches) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [e.event for e in batches] == ["ready", "overflow"]
    finally:
        w.stop()


def test_watch_never_looks_inside_archives(real_cache):
    w = CacheWatcher(str(real_cache), lambda b: None)
    w.start()
    try:
        archive = str(real_cache / "archive-v0")
        inside = [p for p in w._watched if p.startswith(archive + os.sep)]
        assert inside == []
        assert str(real_cache) in w._watched and archive in w._watched
        assert all("/src" not in p for p in w._watched)
    finally:
        w.stop()


def test_stop_before_start_finishes(real_cache):
    """The app starts the watch in a thread and may close at once: start() then returns."""
    w = CacheWatcher(str(real_cache), lambda b: None)
    w.stop()
    w.start()
    assert w._threads == []

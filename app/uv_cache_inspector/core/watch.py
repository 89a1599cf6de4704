"""Watch a cache while uv works: structure, not content, in coalesced batches.

The root, each bucket, and the directories of the link buckets where entries appear are watched
(on Linux one inotify instance with a bounded number of directory watches; elsewhere watchdog's
single recursive watch, filtered): never inside archives, never one per file. Events arrive on
the watch thread; they are classified, coalesced (a `.tmp*` that appears and vanishes
within one batch is not news) and handed over in batches by a timer. The lock is followed by
reading /proc/locks on Linux (no locking at all), elsewhere by uv's non-blocking probe once a
second. When uv lets go of the lock, the `.tmp*` directories still there are reported as left
behind. Plain callbacks: the app passes them to Qt through a queued signal (gui/watcher.py).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from uv_cache_inspector.core.cache.layout import parse_bucket

# Linux lists locks in /proc/locks: reading it takes no lock, so watching never makes a
# starting `uv cache prune` wait. Elsewhere uv's non-blocking probe runs once a second.
_HAS_PROC_LOCKS = sys.platform.startswith("linux") and os.path.exists("/proc/locks")
LINK_DEPTH = {"wheels": 4, "sdists": 5, "built-wheels": 5, "environments": 1}
_SIDE = re.compile(r"\.(lock|http|msgpack|rev)$")


@dataclass(frozen=True, slots=True)
class WatchEvent:
    event: str  # see EVENTS
    path: str
    t: float = field(default_factory=time.time)
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        from uv_cache_inspector.core.model import display_path

        return {
            "event": self.event,
            "path": display_path(self.path),
            "t": round(self.t, 3),
            **self.detail,
        }


EVENTS = (
    "ready",
    "archive-added",
    "archive-removed",
    "entry-added",
    "entry-removed",
    "tmp-created",
    "tmp-removed",
    "tmp-left-behind",
    "bucket-added",
    "bucket-removed",
    "lock-taken",
    "lock-released",
    "foreign-owner",
    "overflow",
)


def _archive_name(path: str) -> dict[str, Any]:
    from uv_cache_inspector.core.cache.links import dist_info_name_version, normalize_name

    try:
        for n in os.listdir(path):
            parsed = dist_info_name_version(n)
            if parsed:
                return {"package": normalize_name(parsed[0]), "version": parsed[1]}
            if n == "pyvenv.cfg":
                return {"package": None, "kind": "environment"}
    except OSError:
        pass
    return {}


def _watch_limit() -> int:
    """How many directory watches we allow ourselves: half of the user's inotify budget (other
    programs need theirs), at most 50,000. Elsewhere one recursive watch is used."""
    try:
        with open("/proc/sys/fs/inotify/max_user_watches", encoding="ascii") as fh:
            return max(256, min(50_000, int(fh.read()) // 2))
    except (OSError, ValueError):
        return 8_000


class CacheWatcher:
    """Watches the root, the buckets and the link directories; never inside archives.

    On Linux: one inotify instance with one non-recursive watch per directory (core/platform/
    inotify.py). Elsewhere: watchdog's single recursive watch on the root (ReadDirectoryChangesW,
    FSEvents), with events below the interesting depth dropped here.
    """

    def __init__(
        self,
        root: str,
        on_batch: Callable[[list[WatchEvent]], None],
        *,
        debounce: float = 0.25,
        lock_poll: float = 0.5,
        max_watches: int | None = None,
        backend: str | None = None,
    ) -> None:
        self.root = os.path.realpath(root)
        self.on_batch = on_batch
        self.debounce = debounce
        self.lock_poll = lock_poll
        self.max_watches = max_watches if max_watches is not None else _watch_limit()
        self.backend = backend or ("inotify" if sys.platform.startswith("linux") else "watchdog")
        self._pending: list[WatchEvent] = []
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._watched: set[str] = set()
        self._ino: Any = None
        self._observer: Any = None
        self._threads: list[threading.Thread] = []
        self._lock_held: bool | None = None
        self._root_uid = os.stat(self.root).st_uid
        self._lock_path = os.path.join(self.root, ".lock")
        self._lock_wake = threading.Event()
        self.overflowed = False

    # -- set-up -----------------------------------------------------------------------------

    def _watch(self, path: str) -> None:
        if path in self._watched or self._ino is None:
            return  # (watchdog's recursive watch already covers every directory)
        if len(self._watched) >= self.max_watches:
            self._overflow(path)
            return
        from uv_cache_inspector.core.platform import inotify

        mask = inotify.STRUCTURE | (inotify.OPEN_CLOSE if path == self.root else 0)
        try:
            self._ino.add(path, mask)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:  # the user's inotify watch limit
                self._overflow(path)
            return
        self._watched.add(path)

    def _overflow(self, path: str) -> None:
        if not self.overflowed:
            self.overflowed = True
            self._push(WatchEvent("overflow", path, detail={"watches": len(self._watched)}))

    def _initial_watches(self) -> None:
        self._watch(self.root)
        try:
            names = os.listdir(self.root)
        except OSError:
            return
        for name in sorted(names):
            if self._stop.is_set():
                return
            path = os.path.join(self.root, name)
            parsed = parse_bucket(name)
            if parsed is None or not os.path.isdir(path) or os.path.islink(path):
                continue
            self._watch(path)
            depth = LINK_DEPTH.get(parsed[0])
            if depth:
                self._watch_below(path, depth)

    def _watch_below(self, top: str, depth: int) -> None:
        level = [top]
        for _ in range(depth - 1):
            nxt = []
            for d in level:
                if self._stop.is_set():
                    return
                nxt.extend(_subdirs(d))
            for d in nxt:
                self._watch(d)
            level = nxt

    def start(self) -> None:
        """Set the watches up (this lists a few thousand directories on a large cache: call it
        off any UI thread), then report "ready". Returns at once if stop() came first."""
        if self.backend == "inotify":
            from uv_cache_inspector.core.platform.inotify import Inotify

            self._ino = Inotify(self._on_raw)
            self._ino.start()
        else:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            watcher = self

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event: Any) -> None:
                    watcher._on_fs_event(event)

            self._observer = Observer()
            self._observer.schedule(Handler(), self.root, recursive=True)
            self._watched.add(self.root)
            self._observer.start()
        self._initial_watches()
        if self._stop.is_set():
            return
        self._lock_held = self._lock_state()
        for target in (self._flush_loop, self._lock_loop):
            t = threading.Thread(target=target, daemon=True, name=f"uvci-{target.__name__}")
            t.start()
            self._threads.append(t)
        self.on_batch(
            [
                WatchEvent(
                    "ready",
                    self.root,
                    detail={
                        "watches": len(self._watched),
                        "complete": not self.overflowed,
                        "lock_held": bool(self._lock_held),
                        "backend": self.backend,
                    },
                )
            ]
        )

    def stop(self) -> None:
        self._stop.set()
        self._lock_wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._ino is not None:
            self._ino.close()
        for t in self._threads:
            t.join(timeout=5)

    @property
    def watch_count(self) -> int:
        return len(self._watched)

    # -- classification ---------------------------------------------------------------------

    def _push(self, ev: WatchEvent) -> None:
        with self._mutex:
            self._pending.append(ev)

    def _interesting_parent(self, parent: str) -> bool:
        """Is `parent` a directory we watch (root, a bucket, a link directory)?"""
        if parent == self.root:
            return True
        rel = os.path.relpath(parent, self.root).split(os.sep)
        parsed = parse_bucket(rel[0])
        if parsed is None:
            return False
        if len(rel) == 1:
            return True
        depth = LINK_DEPTH.get(parsed[0], 0)
        return len(rel) <= depth and "src" not in rel[1:]

    def _classify(self, path: str, created: bool) -> WatchEvent | None:
        parent, name = os.path.split(path)
        rel_parent = os.path.relpath(parent, self.root)
        if name.startswith(".tmp"):
            where = "root" if rel_parent == "." else rel_parent.split(os.sep)[0]
            return WatchEvent(
                "tmp-created" if created else "tmp-removed", path, detail={"location": where}
            )
        if rel_parent == ".":
            if parse_bucket(name):
                return WatchEvent("bucket-added" if created else "bucket-removed", path)
            return None
        top = rel_parent.split(os.sep)[0]
        if top == "archive-v0" and rel_parent == "archive-v0":
            detail = _archive_name(path) if created else {}
            return WatchEvent(
                "archive-added" if created else "archive-removed",
                path,
                detail={"id": name, **detail},
            )
        parsed = parse_bucket(top)
        if parsed and parsed[0] in LINK_DEPTH and not _SIDE.search(name):
            return WatchEvent(
                "entry-added" if created else "entry-removed", path, detail={"bucket": top}
            )
        return None

    def _on_raw(self, kind: str, path: str, _is_dir: bool) -> None:
        """From the inotify thread."""
        if kind == "overflow":
            self._push(WatchEvent("overflow", self.root, detail={"reason": "event queue"}))
        elif kind in {"opened", "closed"}:
            if path == self._lock_path:
                self._lock_wake.set()
        else:
            self._on_change(path, kind == "created")

    def _on_fs_event(self, event: Any) -> None:
        """From watchdog's thread (recursive watch: drop what happens deeper than we look)."""
        kind = event.event_type
        if kind in {"opened", "closed", "closed_no_write"}:
            # Someone opened or closed the lock file: look at the lock now, not at the next
            # poll (a small `uv pip install` holds it for a tenth of a second).
            if os.fsdecode(event.src_path) == self._lock_path:
                self._lock_wake.set()
            return
        items: list[tuple[str, bool]] = []
        if kind == "created":
            items.append((os.fsdecode(event.src_path), True))
        elif kind == "deleted":
            items.append((os.fsdecode(event.src_path), False))
        elif kind == "moved":
            items.append((os.fsdecode(event.src_path), False))
            items.append((os.fsdecode(event.dest_path), True))
        else:
            return
        for path, created in items:
            if not (path == self.root or path.startswith(self.root + os.sep)):
                continue
            if self._interesting_parent(os.path.dirname(path)):
                self._on_change(path, created)

    def _on_change(self, path: str, created: bool) -> None:
        ev = self._classify(path, created)
        if ev is not None:
            self._push(ev)
        if created:
            self._on_created(path)

    def _on_created(self, path: str) -> None:
        rel = os.path.relpath(path, self.root).split(os.sep)
        try:
            st = os.lstat(path)
        except OSError:
            return
        if len(rel) <= 2 and st.st_uid != self._root_uid and not rel[-1].startswith(".tmp"):
            self._push(
                WatchEvent(
                    "foreign-owner", path, detail={"uid": st.st_uid, "root_uid": self._root_uid}
                )
            )
        if not stat.S_ISDIR(st.st_mode) or rel[-1].startswith(".tmp") or rel[-1] == "src":
            return
        parsed = parse_bucket(rel[0])
        if len(rel) == 1 and parsed:
            self._watch(path)
            depth = LINK_DEPTH.get(parsed[0])
            if depth:
                self._watch_below(path, depth)
        elif parsed and parsed[0] in LINK_DEPTH and len(rel) <= LINK_DEPTH[parsed[0]]:
            self._watch(path)

    # -- the two loops --------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.debounce):
            with self._mutex:
                batch, self._pending = self._pending, []
            batch = coalesce(batch)
            if batch:
                self.on_batch(batch)

    def _lock_state(self) -> bool | None:
        lock_path = self._lock_path
        if not _HAS_PROC_LOCKS:
            from uv_cache_inspector.core.cache import lock

            return lock.probe(self.root).held
        try:
            st = os.stat(lock_path)
            with open("/proc/locks", encoding="ascii", errors="replace") as fh:
                text = fh.read()
        except OSError:
            return None
        from uv_cache_inspector.core.cache.lock import parse_proc_locks

        dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
        me = os.getpid()  # our own probes (the app's doctor) are not uv at work
        return any(
            ino == st.st_ino
            and d == dev
            and kind == "FLOCK"
            and not mode.startswith("WAIT-")
            and pid != me
            for pid, kind, mode, d, ino in parse_proc_locks(text)
        )

    def _lock_loop(self) -> None:
        while not self._stop.is_set():
            woken = self._lock_wake.wait(self.lock_poll)
            self._lock_wake.clear()
            held = self._lock_state()
            if woken and held is not None and not held and not self._lock_held:
                # Opened, not yet locked: uv calls flock right after open. Look closely for a
                # moment (every 5 ms, up to 0.3 s) so a short hold is not missed.
                deadline = time.monotonic() + 0.3
                while not held and time.monotonic() < deadline and not self._stop.is_set():
                    time.sleep(0.005)
                    held = bool(self._lock_state())
            if held is None or held == self._lock_held:
                continue
            self._lock_held = held
            if held:
                from uv_cache_inspector.core.cache import lock

                holders = [h.label() for h in lock.holders(os.path.join(self.root, ".lock"))]
                self._push(
                    WatchEvent(
                        "lock-taken", os.path.join(self.root, ".lock"), detail={"holders": holders}
                    )
                )
            else:
                self._push(WatchEvent("lock-released", os.path.join(self.root, ".lock")))
                for name in _tmp_names(self.root):
                    self._push(WatchEvent("tmp-left-behind", os.path.join(self.root, name)))


def _subdirs(path: str) -> list[str]:
    """Directories where entries may appear (not unpacked sources, not temporary ones)."""
    try:
        with os.scandir(path) as it:
            return [
                e.path
                for e in it
                if e.is_dir(follow_symlinks=False)
                and e.name != "src"
                and not e.name.startswith(".tmp")
            ]
    except OSError:
        return []


def _tmp_names(root: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(root) if n.startswith(".tmp"))
    except OSError:
        return []


def coalesce(batch: list[WatchEvent]) -> list[WatchEvent]:
    """Drop what cancels out within one batch (created then removed), keep the rest in order."""
    net: dict[tuple[str, str], int] = {}
    pairs = {
        "tmp-created": ("tmp", 1),
        "tmp-removed": ("tmp", -1),
        "archive-added": ("archive", 1),
        "archive-removed": ("archive", -1),
        "entry-added": ("entry", 1),
        "entry-removed": ("entry", -1),
        "bucket-added": ("bucket", 1),
        "bucket-removed": ("bucket", -1),
    }
    for ev in batch:
        if ev.event in pairs:
            kind, sign = pairs[ev.event]
            net[(kind, ev.path)] = net.get((kind, ev.path), 0) + sign
    out: list[WatchEvent] = []
    seen: set[tuple[str, str]] = set()
    for ev in batch:
        if ev.event in pairs:
            key = (pairs[ev.event][0], ev.path)
            if net[key] == 0 or (net[key] > 0) != (pairs[ev.event][1] > 0) or key in seen:
                continue
            seen.add(key)
        out.append(ev)
    return out

"""The core watcher, brought into the GUI thread: queued signal, debounce timer, one batch.

Setting the watches up lists a few thousand directories on a large cache, so it runs in a
thread of its own; the window learns the watch is in place from the "ready" event.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal

from uv_cache_inspector.core.watch import CacheWatcher, WatchEvent


class GuiWatcher(QObject):
    changed = Signal(list)  # list[WatchEvent], in the GUI thread, coalesced
    failed = Signal(str)  # the watch could not be set up (message)
    _arrived = Signal(list)  # from the watch threads (queued to ours)

    def __init__(self, parent: QObject | None = None, debounce_ms: int = 150) -> None:
        super().__init__(parent)
        self._watcher: CacheWatcher | None = None
        self._pending: list[WatchEvent] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._flush)
        self._arrived.connect(self._on_arrived)
        self.root: str | None = None

    def start(self, root: str) -> None:
        self.stop()
        self.root = root
        try:
            watcher = CacheWatcher(root, self._deliver)
        except OSError as exc:  # the cache went away (or became unreadable) meanwhile
            self.failed.emit(exc.strerror or str(exc))
            return
        self._watcher = watcher

        def set_up() -> None:
            try:
                watcher.start()
            except OSError as exc:
                try:
                    self.failed.emit(exc.strerror or str(exc))
                except RuntimeError:
                    pass

        threading.Thread(target=set_up, daemon=True, name="uvci-watch-setup").start()

    def _deliver(self, batch: list[WatchEvent]) -> None:
        """From the watch threads: through the queued signal, unless the window is gone."""
        try:
            self._arrived.emit(batch)
        except RuntimeError:
            pass  # this object was deleted (the window closed) while the watch wound down

    def stop(self) -> None:
        if self._watcher is not None:
            watcher, self._watcher = self._watcher, None
            # stop() joins the watch threads: do it off the GUI thread too.
            threading.Thread(target=watcher.stop, daemon=True, name="uvci-watch-stop").start()
        self._pending = []

    @property
    def watch_count(self) -> int:
        return self._watcher.watch_count if self._watcher else 0

    @property
    def active(self) -> bool:
        return self._watcher is not None

    def _on_arrived(self, batch: list[WatchEvent]) -> None:
        if self._watcher is None:
            return  # a stopped watch's last words
        self._pending.extend(batch)
        if not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self.changed.emit(batch)

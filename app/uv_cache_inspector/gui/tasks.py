"""One adapter for all long work: a core generator runs in a QRunnable, off the GUI thread.

It reports progress (at most 20 times a second, and the start of each phase), streamed items
(findings, trace steps), the result, or the error, through a signals object that lives in the
GUI thread (so the connections are queued). Each task has a name; starting a task of the same
name cancels the previous one, and a generation number drops whatever a superseded run still
reports.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from uv_cache_inspector.core.errors import CancelledError
from uv_cache_inspector.core.model import CancelToken, Progress

Factory = Callable[[CancelToken], Generator[Any, None, Any]]


class _Signals(QObject):
    progress = Signal(str, int, object)
    item = Signal(str, int, object)
    result = Signal(str, int, object)
    error = Signal(str, int, object, str)
    done = Signal(str, int)


class _Runnable(QRunnable):
    def __init__(
        self, name: str, gen: int, factory: Factory, token: CancelToken, signals: _Signals
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.name, self.gen, self.factory, self.token, self.signals = (
            name,
            gen,
            factory,
            token,
            signals,
        )

    def run(self) -> None:
        last = 0.0
        last_phase = ""
        emit = self._emit
        try:
            generator = self.factory(self.token)
            while True:
                _check(self.token, generator)
                try:
                    item = next(generator)
                except StopIteration as stop:
                    emit("result", self.name, self.gen, stop.value)
                    break
                if isinstance(item, Progress):
                    # At most 20 a second, but never drop the first of a new phase: the work
                    # may stay in it for a long time, and the window must say where it is.
                    now = time.monotonic()
                    if now - last >= 0.05 or item.phase != last_phase or item.phase == "done":
                        last, last_phase = now, item.phase
                        emit("progress", self.name, self.gen, item)
                else:
                    emit("item", self.name, self.gen, item)
        except CancelledError as exc:
            emit("error", self.name, self.gen, exc, "")
        except BaseException as exc:
            emit("error", self.name, self.gen, exc, traceback.format_exc())
        finally:
            emit("done", self.name, self.gen)

    def _emit(self, signal: str, *args: object) -> None:
        """Report to the window, unless the window (a dialog closed meanwhile) is gone: then
        nobody is listening, and the work's result is simply dropped."""
        try:
            getattr(self.signals, signal).emit(*args)
        except RuntimeError:
            self.token.cancel()


def _check(token: CancelToken, generator: Generator[Any, None, Any]) -> None:
    if token.cancelled():
        generator.close()
        raise CancelledError("cancelled")


class TaskRunner(QObject):
    """Start, cancel and follow named tasks; only the newest run of a name is heard."""

    progress = Signal(str, object)
    item = Signal(str, object)
    result = Signal(str, object)
    error = Signal(str, object, str)  # name, exception, traceback text ("" when expected)
    started = Signal(str)
    finished = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._signals = _Signals(self)
        self._gen: dict[str, int] = {}
        self._tokens: dict[str, CancelToken] = {}
        self._running: set[str] = set()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(4)
        self._signals.progress.connect(self._on_progress)
        self._signals.item.connect(self._on_item)
        self._signals.result.connect(self._on_result)
        self._signals.error.connect(self._on_error)
        self._signals.done.connect(self._on_done)

    def run(self, name: str, factory: Factory) -> int:
        self.cancel(name)
        gen = self._gen.get(name, 0) + 1
        self._gen[name] = gen
        token = CancelToken()
        self._tokens[name] = token
        self._running.add(name)
        self.started.emit(name)
        self.pool.start(_Runnable(name, gen, factory, token, self._signals))
        return gen

    def cancel(self, name: str) -> None:
        token = self._tokens.pop(name, None)
        if token is not None:
            token.cancel()

    def busy(self, name: str) -> bool:
        return name in self._running

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)

    def _current(self, name: str, gen: int) -> bool:
        return self._gen.get(name) == gen

    def _on_progress(self, name: str, gen: int, p: Progress) -> None:
        if self._current(name, gen):
            self.progress.emit(name, p)

    def _on_item(self, name: str, gen: int, item: object) -> None:
        if self._current(name, gen):
            self.item.emit(name, item)

    def _on_result(self, name: str, gen: int, value: object) -> None:
        if self._current(name, gen):
            self.result.emit(name, value)

    def _on_error(self, name: str, gen: int, exc: object, tb: str) -> None:
        if self._current(name, gen):
            self.error.emit(name, exc, tb)

    def _on_done(self, name: str, gen: int) -> None:
        if self._current(name, gen):
            self._running.discard(name)
            self._tokens.pop(name, None)
            self.finished.emit(name)

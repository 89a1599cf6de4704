"""Walkers on every core: threads running the compiled walker, or processes running the Python one.

The compiled walker (cache/_walker.c) lets go of the GIL while it lists and stats, so threads of
this process walk in parallel (`ThreadPool`): no interpreter to start, nothing to pickle. The
Python walker holds the GIL, so it runs in a small pool of processes (`WorkerPool`), spawned
(never forked: the GUI has threads) with the inspector's own interpreter and `-S`, importing only
`cache/walk.py` (and, for the "verify" task, `cache/record.py`); results come back as pickles over
pipes. Either way work goes out in chunks to whichever walker is idle, and `start_pool()` picks
the kind. When no worker can be started the caller walks in-process.
"""

from __future__ import annotations

import os
import pickle
import queue
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from uv_cache_inspector.core.cache.walk import (
    WORKER_NICE_ENV,
    WORKER_TASK_ENV,
    lower_priority,
    use_compiled,
    walk_many,
    worker_niceness,
)
from uv_cache_inspector.core.selfexec import worker_command

if TYPE_CHECKING:
    import subprocess

    from uv_cache_inspector.core.cache.walk import UnitResult

# subprocess and selectors are imported by the process pool only: the compiled walker's
# threads start sooner without them (`uvci scan` starts its walkers before anything else).

Unit = tuple[str, str, "tuple[int, int, int] | None"]

# Below this many units, starting processes costs more than it saves.
POOL_MIN_UNITS = 48


def default_worker_count() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class WorkerPool:
    """Started on construction; use as a context manager so workers always exit.

    `early` units are handed out at once, so the workers walk the bulk of the cache (the
    archives) while the caller is still importing and listing; `run()` then hands out the rest
    and yields the results of both. `early_paths` tells the caller what is already under way.
    """

    def __init__(self, count: int, early: Sequence[Unit] = (), task: str = "walk") -> None:
        import subprocess

        from uv_cache_inspector.core.platform.subproc import NO_WINDOW

        # Windows: walkers below the app's priority (elsewhere they lower their own: walk.py).
        below_normal: int = getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0)
        cmd, env = worker_command()
        niceness = worker_niceness()
        if niceness is not None:
            env[WORKER_NICE_ENV] = str(niceness)
        env[WORKER_TASK_ENV] = (
            task  # "walk" (core/cache/walk.py) or "verify" (core/cache/record.py)
        )
        self.procs: list[subprocess.Popen[bytes]] = []
        self.busy: set[int] = set()
        self.early_paths = frozenset(u[0] for u in early)
        self._pending: list[list[Any]] = []
        try:
            for _ in range(count):
                self.procs.append(
                    subprocess.Popen(
                        cmd,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        env=env,
                        close_fds=True,
                        creationflags=NO_WINDOW | below_normal,
                    )
                )
                # Niced from here on, not only once the worker has started up.
                lower_priority(self.procs[-1].pid, niceness)
        except OSError:
            self.close()
            raise
        self._pending = list(reversed(chunked(early, count)))
        for i, proc in enumerate(self.procs):
            if not self._pending:
                break
            assert proc.stdin is not None
            self._send(proc.stdin, self._pending.pop())
            self.busy.add(i)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        import subprocess

        for p in self.procs:
            try:
                if p.stdin:
                    p.stdin.close()
            except OSError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []

    def end(self, cancelled: bool) -> None:
        """Done with the pool: workers killed when the work was cancelled (they may be deep in a
        large unit), else closed once they finish."""
        if cancelled:
            self.kill()
        else:
            self.close()

    def kill(self) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs = []

    @staticmethod
    def _send(stdin: IO[bytes], chunk: Sequence[Any]) -> None:
        data = pickle.dumps(list(chunk), protocol=pickle.HIGHEST_PROTOCOL)
        stdin.write(len(data).to_bytes(8, "little") + data)
        stdin.flush()

    @staticmethod
    def _read_exact(stream: IO[bytes], n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            part = stream.read(n - len(buf))
            if not part:
                raise EOFError("scan worker exited")
            buf += part
        return bytes(buf)

    def run(self, chunks: Sequence[Sequence[Any]]) -> Iterator[list[Any]]:
        """Yield each chunk's results as they arrive (order not kept), early ones included.
        Units and results are the task's: walk_unit's (UnitResult) or check_archive's."""
        import selectors

        todo = list(reversed([list(c) for c in chunks])) + self._pending
        self._pending = []
        sel = selectors.DefaultSelector()
        try:
            for i, proc in enumerate(self.procs):
                assert proc.stdin is not None
                assert proc.stdout is not None
                if i not in self.busy and todo:
                    self._send(proc.stdin, todo.pop())
                    self.busy.add(i)
                if i in self.busy:
                    sel.register(proc.stdout, selectors.EVENT_READ, i)
            while self.busy:
                for key, _ in sel.select():
                    i = key.data
                    proc = self.procs[i]
                    assert proc.stdout is not None
                    size = int.from_bytes(self._read_exact(proc.stdout, 8), "little")
                    results: list[Any] = pickle.loads(  # noqa: S301 - our own child
                        self._read_exact(proc.stdout, size)
                    )
                    if todo:
                        assert proc.stdin is not None
                        self._send(proc.stdin, todo.pop())
                    else:
                        sel.unregister(proc.stdout)
                        self.busy.discard(i)
                    yield results
        finally:
            sel.close()


def chunked(units: Sequence[Any], workers: int) -> list[list[Any]]:
    """Chunks small enough to balance the load, large enough to keep the pipes quiet."""
    if not units:
        return []
    size = max(1, min(64, len(units) // (workers * 8) or 1))
    return [list(units[i : i + size]) for i in range(0, len(units), size)]


class ThreadPool:
    """Walker threads with `WorkerPool`'s interface, for the compiled walker.

    The threads start on the `early` units at once; `run()` queues the rest and yields each
    chunk's results as it is done. On Linux each thread lowers its own priority as the worker
    processes do (a thread has its own nice value there), so the app's GUI thread gets a core.
    """

    def __init__(self, count: int, early: Sequence[Unit] = ()) -> None:
        self.early_paths = frozenset(u[0] for u in early)
        self._tasks: queue.SimpleQueue[list[Unit] | None] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[list[UnitResult] | BaseException] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._sent = 0
        self._niceness = worker_niceness() if sys.platform.startswith("linux") else None
        for chunk in chunked(early, count):
            self._tasks.put(chunk)
            self._sent += 1
        self._threads = [
            threading.Thread(target=self._work, name=f"uvci-walker-{i}", daemon=True)
            for i in range(count)
        ]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        if self._niceness is not None:
            lower_priority(threading.get_native_id(), self._niceness)
        while True:
            chunk = self._tasks.get()
            if chunk is None:
                return
            if self._stop.is_set():
                self._results.put([])
                continue
            try:
                self._results.put(walk_many(chunk, compiled=True))
            except BaseException as exc:  # surfaced by run(), never lost in a thread
                self._results.put(exc)

    def __enter__(self) -> ThreadPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        self._threads = []

    def end(self, cancelled: bool) -> None:
        """Done with the pool (as WorkerPool.end)."""
        if cancelled:
            self.kill()
        else:
            self.close()

    def kill(self) -> None:
        """Stop handing out work; a unit being walked finishes (the threads are daemons)."""
        self._stop.set()
        self.close()

    def run(self, chunks: Sequence[Sequence[Unit]]) -> Iterator[list[UnitResult]]:
        """Yield each chunk's results as they arrive (order not kept), early ones included."""
        for chunk in chunks:
            self._tasks.put(list(chunk))
            self._sent += 1
        for _ in range(self._sent):
            got = self._results.get()
            if isinstance(got, BaseException):
                raise got
            yield got
        self._sent = 0


def start_pool(count: int, early: Sequence[Unit] = ()) -> WorkerPool | ThreadPool:
    """Walker threads when the compiled walker runs, else walker processes (OSError: none)."""
    if use_compiled():
        return ThreadPool(count, early)
    return WorkerPool(count, early)

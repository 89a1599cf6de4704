"""`uvci watch`: changes in the cache, streamed as they happen, until interrupted."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import EXIT_OK, add_command, cache_context

if TYPE_CHECKING:
    from uv_cache_inspector.cli.common import Subparsers
    from uv_cache_inspector.core.watch import WatchEvent


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(
        subparsers, "watch", "stream changes in the cache as they happen (until interrupted)"
    )
    p.add_argument("--seconds", type=float, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import threading

    from uv_cache_inspector.core import fmt
    from uv_cache_inspector.core.errors import CacheNotFoundError
    from uv_cache_inspector.core.watch import CacheWatcher

    root = cache_context(args).location.path
    if not os.path.isdir(root):
        raise CacheNotFoundError(f"uv has not created a cache at {root}")
    out_lock = threading.Lock()
    import json

    def show(batch: list[WatchEvent]) -> None:
        with out_lock:
            for ev in batch:
                if args.json:
                    sys.stdout.write(json.dumps(ev.to_json(), ensure_ascii=False) + "\n")
                else:
                    stamp = time.strftime("%H:%M:%S", time.localtime(ev.t))
                    rel = os.path.relpath(ev.path, os.path.realpath(root))
                    extra = " ".join(f"{k}={v}" for k, v in ev.detail.items() if v is not None)
                    where = fmt.user_path(root) if rel == "." else rel
                    sys.stdout.write(f"{stamp} {ev.event:<16} {where} {extra}".rstrip() + "\n")
            sys.stdout.flush()

    # Ctrl+C and SIGTERM end the watch with exit 0, from the first instant "ready" can be seen:
    # the handlers are in place before the watcher starts (they only set an event).
    import signal

    stop = threading.Event()
    previous = {}
    for signame in ("SIGINT", "SIGTERM"):
        signum = getattr(signal, signame, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    watcher = CacheWatcher(root, show)
    try:
        watcher.start()
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while not stop.is_set():
            left = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if left <= 0:
                break
            stop.wait(left)
    finally:
        watcher.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return EXIT_OK

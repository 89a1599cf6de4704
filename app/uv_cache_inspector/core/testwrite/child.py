"""The test-write's child process: started by `runas.as_user` as the user uv runs as, it replays
uv's write (and, when asked, runs the real uv) and writes each step as one JSON line on stdout,
as it happens. Its one argument is a JSON object; the parent reads nothing else from it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Generator, Sequence
from typing import Any

from uv_cache_inspector.core.errors import InspectorError
from uv_cache_inspector.core.model import TraceStep


def request(root: str, *, bucket: str, keep: bool, uv: str | None, use_strace: bool) -> str:
    """The argument `main` takes, as the parent writes it."""
    return json.dumps(
        {"root": root, "bucket": bucket, "keep": keep, "uv": uv, "use_strace": use_strace}
    )


def _steps(spec: dict[str, Any]) -> Generator[TraceStep, None, None]:
    from uv_cache_inspector.core.cache.context import make_context
    from uv_cache_inspector.core.testwrite.replay import replay
    from uv_cache_inspector.core.testwrite.with_uv import with_uv

    uv = spec.get("uv")
    ctx = make_context(spec["root"], [uv] if uv else ()).start()
    root = ctx.location.path
    keep = bool(spec.get("keep"))
    # The generators' return values (ProbeResult) are not needed: the parent rebuilds its own.
    yield from replay(root, bucket=str(spec["bucket"]), keep=keep, bucket_set=ctx.bucket_set())
    if uv:
        use_strace = bool(spec.get("use_strace"))
        yield from with_uv(root, uv, use_strace=use_strace, keep=keep, python=sys.executable)


def main(argv: Sequence[str] = ()) -> int:
    try:
        spec = json.loads(argv[0])
        for step in _steps(spec):
            print(json.dumps(dataclasses.asdict(step)), flush=True)
    except (IndexError, ValueError, KeyError) as exc:
        print(f"test-write child: bad request: {exc}", file=sys.stderr)
        return 2
    except InspectorError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the parent turns this line into a failed step
        print(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the parent's SIGINT: replay has cleaned up on its way out
        return 130
    return 0

"""What several commands share for output: progress on stderr, one JSON document on stdout, the
stream wrapper that keeps file names from driving the terminal, findings, plans and their results
in people's words."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from uv_cache_inspector.core.errors import CancelledError

if TYPE_CHECKING:
    from uv_cache_inspector.core.actions.apply import ActionResult
    from uv_cache_inspector.core.actions.model import Action, Plan
    from uv_cache_inspector.core.model import Finding, Progress

T = TypeVar("T")


# -- progress --------------------------------------------------------------------------------


class ProgressLine:
    """A one-line progress indicator on stderr, only when stderr is a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and p.phase != "done":
            return
        self.last = now
        from uv_cache_inspector.core import fmt

        frac = p.fraction
        bar = ""
        if frac is not None:
            filled = int(frac * 24)
            bar = "[" + "#" * filled + "-" * (24 - filled) + f"] {frac * 100:3.0f}% "
        text = f"\r{p.phase:<10} {bar}{fmt.size(p.bytes) if p.bytes else ''} {p.message}"
        self.stream.write(text[:100].ljust(100))
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
            self.shown = False


def drive(gen: Generator[Progress, None, T], progress: ProgressLine | None = None) -> T:
    """Run a core generator to the end, showing its Progress; Ctrl+C cancels cleanly.

    Without cyclic garbage collection meanwhile, as the app's inspections run (main_window.py:
    the scan and the diagnosis make no reference cycles): collections set off by the scan's
    allocations walked everything built so far, 35 ms of a 0.6 s scan on 309k files. What is
    built then lives until the command ends, so it is frozen out of later collections."""
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        while True:
            try:
                item = next(gen)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if progress is not None and getattr(item, "phase", None) is not None:
                progress(item)
    except KeyboardInterrupt:
        gen.close()
        raise CancelledError("interrupted") from None
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
        if progress is not None:
            progress.clear()


# -- JSON and the streams --------------------------------------------------------------------


def emit_json(data: object) -> None:
    """One JSON document: indented for a person at a terminal, compact for a program (the
    indenting encoder is pure Python and several times slower on a large cache)."""
    import json

    indent, separators = (2, None) if sys.stdout.isatty() else (None, (",", ":"))
    text = json.dumps(data, indent=indent, separators=separators, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A name that is not UTF-8 slipped through as a lone surrogate: JSON must stay valid
        # UTF-8, so every string is shown as display_path shows paths (\xNN escapes).
        text = json.dumps(
            _printable(data), indent=indent, separators=separators, ensure_ascii=False
        )
    sys.stdout.write(text + "\n")


def _printable(data: object) -> object:
    from uv_cache_inspector.core.model import display_path

    if isinstance(data, str):
        return display_path(data)
    if isinstance(data, dict):
        return {_printable(k): _printable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_printable(v) for v in data]
    return data


def _hex_escape(exc: UnicodeError) -> tuple[str, int]:
    """Error handler for stdout/stderr: a byte that was not UTF-8 in a file name (a lone
    surrogate after os.fsdecode) is printed as a backslash-x escape, like display_path does;
    anything else unprintable as a backslash-u escape."""
    if isinstance(exc, UnicodeEncodeError):
        bad = exc.object[exc.start : exc.end]
        return (
            "".join(
                f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}"
                for c in bad
            ),
            exc.end,
        )
    raise exc


class _TerminalSafe:
    """A text stream that escapes terminal control characters on the way out (a file name with
    ESC sequences must not drive the user's terminal); line breaks and tabs pass, and carriage
    returns on stderr (the progress line). JSON is unaffected: json.dumps escapes them itself."""

    def __init__(self, stream: TextIO, keep_cr: bool) -> None:
        self._stream = stream
        self._keep_cr = keep_cr

    def write(self, text: str) -> int:
        from uv_cache_inspector.core.fmt import terminal_safe

        self._stream.write(terminal_safe(text, keep_cr=self._keep_cr))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # whatever the wrapped stream has (flush, fileno...)
        return getattr(self._stream, name)


def safe_streams() -> None:
    import codecs

    codecs.register_error("uvci-hex", _hex_escape)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="uvci-hex")
            except (ValueError, OSError):
                pass
    if not isinstance(sys.stdout, _TerminalSafe) and sys.stdout is not None:
        sys.stdout = _TerminalSafe(sys.stdout, keep_cr=False)
    if not isinstance(sys.stderr, _TerminalSafe) and sys.stderr is not None:
        sys.stderr = _TerminalSafe(sys.stderr, keep_cr=True)


# -- findings, plans, results ----------------------------------------------------------------


_LABEL = {"error": "ERROR", "warning": "WARN ", "info": "INFO "}


def print_finding(f: Finding, stream: TextIO | None = None) -> None:
    from uv_cache_inspector.core import fmt

    out = stream or sys.stdout
    # One line each: a name in a message can hold a newline that would fake another finding.
    where = f" [{fmt.printable(fmt.user_path(f.path))}]" if f.path else ""
    out.write(f"{_LABEL[f.severity.value]} {f.code}{where}\n  {fmt.printable(f.message)}\n")
    if f.fix:
        out.write(f"  fix: {fmt.printable(f.fix)}\n")
    out.flush()


def print_plan(plan: Plan, verbose: bool) -> None:
    from uv_cache_inspector.core import fmt

    root = plan.root
    by_cat: dict[str, list[Action]] = {}
    for a in plan.ordered():
        by_cat.setdefault(a.category, []).append(a)
    print(f"Plan for {fmt.user_path(root)} ({plan.kind}):")
    for cat, actions in by_cat.items():
        size = sum(a.bytes for a in actions)
        shared = sum(a.shared_bytes for a in actions)
        extra = f"; {fmt.size(shared)} more stays in use by hard links" if shared else ""
        print(
            f"\n  {cat}: {len(actions)} item{'s' if len(actions) != 1 else ''}, "
            f"{fmt.size(size)}{extra}"
        )
        shown = actions if verbose else actions[:8]
        for a in shown:
            rel = fmt.printable(os.path.relpath(a.path, root))
            admin = "  [needs administrator rights]" if a.needs_privilege else ""
            size_text = fmt.size(a.bytes) if a.kind == "delete" else ""
            print(f"    {a.kind:<6} {rel}  {size_text}  {a.reason}{admin}")
        if len(actions) > len(shown):
            print(f"    ... and {len(actions) - len(shown)} more (--verbose lists them)")
    for w in plan.warnings:
        print(f"\nWarning: {w}")
    for k in plan.kept:
        print(f"\nKept: {k}")
    print()
    print(plan.summary())


def result_json(
    plan: Plan, results: Sequence[ActionResult], *, dry_run: bool, extra: dict[str, object]
) -> dict[str, object]:
    """The contract's repair/prune JSON: the plan, or (applied) each action's outcome."""
    data: dict[str, object] = plan.to_json()
    if not dry_run:
        data["dry_run"] = False
        data["actions"] = [r.to_json() for r in results]
        data["freed_bytes"] = sum(r.freed for r in results if r.done)
    data.update(extra)
    return data


def report_results(
    results: Sequence[ActionResult],
    journal: str | None,
    kept: Sequence[str] = (),
    journal_error: str | None = None,
) -> None:
    from uv_cache_inspector.core import fmt

    for k in kept:
        print(f"Left alone: {k}")
    if journal_error:
        print(f"The journal stopped: {journal_error}; the work went on.")
    done = [r for r in results if r.done]
    failed = [r for r in results if not r.done]
    freed = sum(r.freed for r in done)
    if not results:
        print("Nothing to do.")
    elif freed or any(r.action.kind == "delete" for r in done):
        print(f"Done: {fmt.plural(len(done), 'action')}, {fmt.size(freed)} freed.")
    else:
        print(f"Done: {fmt.plural(len(done), 'action')}.")
    for r in failed:
        print(f"  not done: {r.action.kind} {fmt.printable(r.action.path)}: {r.error}")
    if journal:
        print(f"Journal: {fmt.user_path(journal)}")

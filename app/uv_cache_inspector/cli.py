"""`uvci`: the command-line face of the inspector (cli-contract.md).

Global options are accepted before or after the subcommand. Human output goes to stdout,
progress and warnings to stderr; `--json` prints one JSON document. Errors the user can act on are
one line on stderr with the contract's exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from uv_cache_inspector import __version__
from uv_cache_inspector.core.errors import CancelledError, InspectorError, UsageError

if TYPE_CHECKING:
    from uv_cache_inspector.core.model import Progress

T = TypeVar("T")

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_IN_USE = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


class _Version(argparse.Action):
    """`--version`: the version and which walker scans (compiled, or the Python fallback and
    why), on one line, as bug reports need it (argparse's own action would wrap it)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from uv_cache_inspector.core.cache.walk import walker_description

        print(f"uvci {__version__} ({walker_description()})")
        parser.exit()


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--cache-dir",
        metavar="PATH",
        default=default,
        help="the cache to inspect (default: found exactly as uv finds it)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="machine-readable output on stdout",
    )
    parser.add_argument(
        "--uv",
        metavar="PATH",
        action="append",
        default=argparse.SUPPRESS if suppress else [],
        help="a uv executable to consider besides those on PATH (repeatable)",
    )
    parser.add_argument(
        "--layout",
        choices=["auto", "windows", "unix"],
        default=argparse.SUPPRESS if suppress else "auto",
        help="how links in the cache are read: Windows link files or Unix symlinks "
        "(default: auto, from what is in the cache)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="uvci",
        description="See what is inside uv's package cache, find out why it broke, fix it safely.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and the walker")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _global_options(p, suppress=True)
        return p

    p = add("scan", "read the whole cache: buckets, entries, sizes, owners")
    p.add_argument("--top", type=int, default=20, help="packages to list (human output)")
    p.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_scan)

    def diagnosis_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--owner",
            metavar="USER",
            help="the user who runs uv (default: you; as root: SUDO_UID or the cache's owner)",
        )
        p.add_argument(
            "--venv",
            metavar="PATH",
            help="an environment to check against the cache (default: $VIRTUAL_ENV or ./.venv)",
        )
        p.add_argument(
            "--orphan-age",
            type=float,
            default=3600,
            metavar="SECONDS",
            help="how old an unused .tmp* directory must be to count as orphaned",
        )
        p.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)

    p = add("doctor", "scan and diagnose: name the cause of every known cache failure")
    diagnosis_options(p)
    p.add_argument(
        "--quick",
        action="store_true",
        help="only the checks that need no full scan (well under a second)",
    )
    p.set_defaults(func=cmd_doctor)

    p = add("explain", "explain a uv error message (argument, or - / nothing for stdin)")
    p.add_argument("text", nargs="?", default="-", help="uv's error text, or - for stdin")
    diagnosis_options(p)
    p.set_defaults(func=cmd_explain)

    p = add("test-write", "replay uv's atomic write-and-rename routine on the cache, traced")
    p.add_argument("--keep", action="store_true", help="leave what it wrote, for inspection")
    p.add_argument(
        "--bucket",
        choices=["root", "sdists", "builds"],
        default="root",
        help="where to make the temporary directory (sdists and builds use their "
        "bucket, wheels the root)",
    )
    p.add_argument(
        "--with-uv",
        action="store_true",
        help="also run the real uv against the cache (under strace when available)",
    )
    p.add_argument("--no-strace", action="store_true", help="do not trace uv with strace")
    p.add_argument(
        "--owner",
        metavar="USER",
        help="the user who runs uv (when run as root, the test-write runs as this user; "
        "default: the cache's owner or SUDO_UID)",
    )
    p.set_defaults(func=cmd_test_write)

    def apply_options(p: argparse.ArgumentParser) -> None:
        g = p.add_mutually_exclusive_group()
        g.add_argument("--dry-run", action="store_true", help="only show the plan (default)")
        g.add_argument("--yes", "-y", action="store_true", help="apply the plan")
        p.add_argument(
            "--force",
            action="store_true",
            help="act even while uv holds the cache lock (at your own risk)",
        )
        p.add_argument(
            "--while-in-use",
            action="store_true",
            help="go on while uv runs (uv run / uvx servers hold the lock for hours): only what "
            "no running uv uses is touched, re-checked before each deletion",
        )
        p.add_argument("--verbose", "-v", action="store_true", help="list every action")
        p.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)

    p = add("repair", "plan, then apply, the fixes for doctor's findings")
    apply_options(p)
    p.add_argument("--owner", metavar="USER", help="the user who runs uv (gets ownership back)")
    p.add_argument(
        "--orphan-age",
        type=float,
        default=3600,
        metavar="SECONDS",
        help="how old an unused .tmp* directory must be to be removed",
    )
    p.add_argument("--plan", metavar="FILE", help=argparse.SUPPRESS)  # the privileged helper
    p.add_argument(
        "--no-elevate",
        action="store_true",
        help="never ask for administrator rights; print the command instead",
    )
    p.set_defaults(func=cmd_repair, venv=None)

    p = add(
        "prune", "remove what uv no longer uses (by default exactly what `uv cache prune` removes)"
    )
    apply_options(p)
    p.add_argument("--ci", action="store_true", help="like `uv cache prune --ci`")
    p.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="NAME",
        help="remove this package's entries (like `uv cache clean NAME`); repeatable",
    )
    p.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="also remove entries not used for DAYS days",
    )
    p.add_argument(
        "--max-size",
        metavar="SIZE",
        help="also remove least recently used entries until the cache fits SIZE (e.g. 20G)",
    )
    p.add_argument(
        "--venv",
        action="append",
        default=[],
        metavar="PATH",
        help="an environment to protect (symlink link mode); repeatable",
    )
    p.add_argument("--plan", metavar="FILE", help=argparse.SUPPRESS)  # the privileged helper
    p.add_argument(
        "--no-elevate",
        action="store_true",
        help="never ask for administrator rights; print the command instead",
    )
    p.set_defaults(func=cmd_prune)

    p = add(
        "verify",
        "check every unpacked wheel against its RECORD hashes: edits that leaked into the cache "
        "through hard links",
    )
    p.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="NAME",
        help="only this package's archives; repeatable",
    )
    p.add_argument(
        "--venv",
        action="append",
        default=[],
        metavar="PATH",
        help="an environment to look in for the edited files (default: $VIRTUAL_ENV or "
        "./.venv); repeatable",
    )
    p.add_argument(
        "--fix",
        action="store_true",
        help="plan removing the modified archives with their links, so the next install "
        "unpacks fresh copies (with --yes: apply it)",
    )
    p.add_argument(
        "--no-state",
        action="store_true",
        help="hash every file again, ignoring the verdicts remembered from earlier runs",
    )
    apply_options(p)
    p.set_defaults(func=cmd_verify)

    p = add("watch", "stream changes in the cache as they happen (until interrupted)")
    p.add_argument("--seconds", type=float, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_watch)

    p = add(
        "install-shortcut",
        "add the app to the application menu / Start menu / ~/Applications for this user",
    )
    p.add_argument("--uninstall", action="store_true", help="remove what it added, and only that")
    p.add_argument("--dry-run", action="store_true", help="say what it would write or remove")
    p.set_defaults(func=cmd_install_shortcut)

    p = add("report", "a Markdown report to paste into a bug report")
    diagnosis_options(p)
    p.set_defaults(func=cmd_report)
    return parser


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


def drive(gen: Generator[Any, None, T], progress: ProgressLine | None = None) -> T:
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


def emit_json(data: Any) -> None:
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


def _printable(data: Any) -> Any:
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

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _safe_streams() -> None:
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


# -- commands ----------------------------------------------------------------------------------


def _context(args: argparse.Namespace) -> Any:
    from uv_cache_inspector.core.cache.context import make_context

    return make_context(args.cache_dir, args.uv or (), layout=args.layout).start()


def _early_pool(cache_dir: str | None, workers: int | None) -> Any:
    """Start the scan's walker processes before anything else, when the cache is big enough to
    want them: their interpreters start while this one imports the rest of the inspector."""
    from uv_cache_inspector.core.cache.workers import (
        POOL_MIN_UNITS,
        default_worker_count,
        start_pool,
    )

    count = default_worker_count() if workers is None else workers
    if count <= 1:
        return None
    if cache_dir is None:
        from uv_cache_inspector.core.cache.location import locate

        cache_dir = locate().path
    # The scan keys its units by real path; so must we, or the early work is wasted.
    archive = os.path.join(os.path.realpath(cache_dir), "archive-v0")
    try:
        st = os.stat(archive)
        with os.scandir(archive) as it:
            names = [e.name for e in it]
    except OSError:
        return None
    if len(names) < POOL_MIN_UNITS:
        return None
    # The archives are the bulk of the work: hand them out now (the scan skips them later;
    # temporary directories among them are left to the scan, which knows what they are).
    owner = (st.st_uid, st.st_gid, st.st_mode & 0o7777)
    early = [
        (os.path.join(archive, n), "archive", owner)
        for n in sorted(names)
        if not n.startswith(".tmp")
    ]
    return start_pool(count, early)


def cmd_scan(args: argparse.Namespace) -> int:
    pool = _early_pool(args.cache_dir, args.workers)
    from uv_cache_inspector.core.cache.scan import scan
    from uv_cache_inspector.core.model import CancelToken

    ctx = _context(args)
    token = CancelToken()
    gen = scan(
        ctx.location.path,
        bucket_set=ctx.bucket_set,
        uv_version=ctx.uv_version_label,
        cancel=token,
        workers=args.workers,
        pool=pool,
        link_style=ctx.link_style,
    )
    snap = drive(gen, ProgressLine())
    if args.json:
        from uv_cache_inspector.core.cache.jsonout import snapshot_json

        emit_json(snapshot_json(snap, ctx.location))
        return EXIT_OK
    _print_scan(snap, ctx, args.top)
    return EXIT_OK


def _venv(arg: str | None) -> str | None:
    if arg:
        return arg
    env = os.environ.get("VIRTUAL_ENV")
    if env:
        return env
    return ".venv" if os.path.isdir(".venv") else None


_LABEL = {"error": "ERROR", "warning": "WARN ", "info": "INFO "}


def _print_finding(f: Any, stream: TextIO | None = None) -> None:
    from uv_cache_inspector.core import fmt

    out = stream or sys.stdout
    # One line each: a name in a message can hold a newline that would fake another finding.
    where = f" [{fmt.printable(fmt.user_path(f.path))}]" if f.path else ""
    out.write(f"{_LABEL[f.severity.value]} {f.code}{where}\n  {fmt.printable(f.message)}\n")
    if f.fix:
        out.write(f"  fix: {fmt.printable(f.fix)}\n")
    out.flush()


def _diagnose(args: argparse.Namespace, *, deep: bool, stream_human: bool) -> Any:
    """Run the diagnosis; print findings as they arrive when asked to (human output)."""
    from uv_cache_inspector.core.diagnosis.engine import diagnose
    from uv_cache_inspector.core.model import CancelToken, Progress

    ctx = _context(args)
    if stream_human:
        from uv_cache_inspector.core import fmt

        print(f"Cache: {fmt.user_path(ctx.location.path)} ({ctx.location.detail})")
        print()
    shown: set[tuple[str, Any]] = set()
    progress = ProgressLine()
    gen = diagnose(
        ctx.location.path,
        location=ctx.location,
        binaries=lambda: ctx.binaries,
        bucket_set=ctx.bucket_set,
        venv=_venv(getattr(args, "venv", None)),
        owner=getattr(args, "owner", None),
        orphan_age=getattr(args, "orphan_age", 3600),
        cancel=CancelToken(),
        deep=deep,
        workers=getattr(args, "workers", None),
        link_style=ctx.link_style,
    )
    try:
        while True:
            try:
                item = next(gen)
            except StopIteration as stop:
                return stop.value, ctx
            if isinstance(item, Progress):
                progress(item)
                continue
            key = (item.code, item.path)
            if stream_human and key not in shown:
                shown.add(key)
                progress.clear()
                _print_finding(item)
    except KeyboardInterrupt:
        gen.close()
        raise CancelledError("interrupted") from None
    finally:
        progress.clear()


def _findings_json(diag: Any, ctx: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    from uv_cache_inspector.core.model import display_path

    inp = diag.inputs
    out: dict[str, Any] = {
        "cache_dir": display_path(diag.root),
        "findings": [f.to_json() for f in diag.findings],
        "uv_user": {"uid": inp.user.uid, "name": inp.user.name, "how": inp.user.how},
        "lock": inp.lock.describe(),
        "uv_versions": [
            {"path": b.path, "version": b.version_str, "found": b.how_found} for b in inp.binaries
        ],
        "location": ctx.location.to_json(),
    }
    if extra:
        out.update(extra)
    return out


def _summary(findings: list[Any]) -> str:
    counts = {
        s: sum(1 for f in findings if f.severity.value == s) for s in ("error", "warning", "info")
    }
    if not findings:
        return "No problems found: uv can use this cache."
    parts = [
        f"{counts['error']} error{'s' if counts['error'] != 1 else ''}",
        f"{counts['warning']} warning{'s' if counts['warning'] != 1 else ''}",
        f"{counts['info']} note{'s' if counts['info'] != 1 else ''}",
    ]
    return "Summary: " + ", ".join(parts) + "."


def cmd_doctor(args: argparse.Namespace) -> int:
    diag, ctx = _diagnose(args, deep=not args.quick, stream_human=not args.json)
    if args.json:
        emit_json(_findings_json(diag, ctx))
    elif not diag.findings:
        print("No problems found: uv can use this cache.")
    else:
        print()
        print(_summary(diag.findings))
    return EXIT_FINDINGS if diag.errors else EXIT_OK


def _read_explain_input(arg: str) -> str | bytes:
    if arg != "-":
        return arg
    stream = getattr(sys.stdin, "buffer", None)
    return stream.read() if stream is not None else sys.stdin.read()


def cmd_explain(args: argparse.Namespace) -> int:
    """Explain uv's error text. Works without a cache (the message may come from another
    machine): the text alone says a lot, and what could not be checked is said plainly."""
    from uv_cache_inspector.core.diagnosis import explain as ex
    from uv_cache_inspector.core.findings import severity_rank
    from uv_cache_inspector.core.model import Owner, display_path
    from uv_cache_inspector.core.platform.access import resolve_user

    data = _read_explain_input(args.text)
    ctx = _context(args)
    root = os.path.realpath(ctx.location.path)
    cache_present = os.path.isdir(root)
    try:
        root_owner: Any = Owner.from_stat(os.stat(root)) if cache_present else None
    except OSError:
        root_owner = None
    user = resolve_user(root_owner, getattr(args, "owner", None))
    failures, explained, prepared = ex.explain_text(data, user, root, cache_present=cache_present)
    notices = list(prepared.notes)
    if prepared.binary:
        notices.insert(
            0,
            "this looks like binary data, not uv's output"
            + (
                f" ({prepared.nul_bytes} NUL byte{'s' if prepared.nul_bytes != 1 else ''})"
                if prepared.nul_bytes
                else ""
            ),
        )
    if not cache_present:
        notices.append(
            f"no uv cache at {display_path(root)}: the message is explained from its text alone"
        )
    related: list[Any] = []
    if cache_present and failures:
        try:
            diag, _ = _diagnose(args, deep=False, stream_human=False)
        except InspectorError:
            diag = None
        if diag is not None:
            keys = {(e.finding.code, e.finding.path) for e in explained}
            related = [
                f
                for f in diag.findings
                if f.severity.value != "info" and (f.code, f.path) not in keys
            ]
    findings = [e.finding for e in explained]
    for e in explained:
        findings.extend(e.evidence[1:])
    findings = sorted(findings, key=severity_rank) + related
    if args.json:
        emit_json(
            {
                "cache_dir": display_path(root),
                "cache_present": cache_present,
                "findings": [f.to_json() for f in findings],
                "failures": [
                    {
                        "operation": f.op,
                        "paths": list(f.paths),
                        "errno": f.errno,
                        "os_message": f.os_message,
                        "text": f.line,
                        "errno_name": f.errno_name,
                        "platform": f.platform,
                        "kind": f.kind,
                        "chain": list(f.chain),
                        "resource": f.resource,
                    }
                    for f in failures
                ],
                "explanations": [e.to_json() for e in explained],
                "primary": 0 if explained else None,
                "notices": notices,
            }
        )
    else:
        _print_explanations(failures, explained, related, notices)
    if not failures:
        return EXIT_USAGE
    return EXIT_FINDINGS if any(f.severity.value == "error" for f in findings) else EXIT_OK


def _print_explanations(
    failures: list[Any], explained: list[Any], related: list[Any], notices: list[str]
) -> None:
    from uv_cache_inspector.core.diagnosis.explain import escape

    for n in notices:
        print(f"note: {escape(n)}")
    if notices:
        print()
    if not failures:
        print(
            "No uv failure found in that text: paste uv's whole error output (the lines "
            "with 'failed to ...', 'Caused by:' and '(os error N)')."
        )
        return
    for i, e in enumerate(explained):
        story = e.story()
        f = e.failure
        if i == 0:
            print(f"uv said: {escape(f.line)}")
        else:
            print(f"Also: {escape(f.line)}")
        print(f"  {escape(story['headline'])} ({e.finding.code})")
        print(f"  What uv tried:  {escape(story['tried'])}")
        print(f"  Refused:        {escape(story['refused'])}")
        print(f"  Why:            {escape(story['why'])}")
        if story["todo"]:
            print(f"  What to do:     {escape(story['todo'])}")
        for c in story["checked"]:
            print(f"  Checked:        {escape(c)}")
        for c in story["unchecked"]:
            print(f"  Not checked:    {escape(c)}")
        others = [] if e.evidence else list(e.candidates[1:])
        if others and i == 0:
            print("  Other causes the text allows:")
            for c in others[:5]:
                print(f"    - {c.cause}: {escape(c.why)}")
        for extra in e.evidence[1:]:
            _print_finding(extra)
        print()
    if len(failures) > len(explained):
        print(f"... and {len(failures) - len(explained)} more failures, not explained")
    if related:
        print("What uvci doctor sees in this cache:")
        for f in related:
            _print_finding(f)


def _print_step(s: Any) -> None:
    status = "skip" if s.skipped else ("ok  " if s.ok else "FAIL")
    text = s.error if not s.ok and s.error else (s.note or "")
    first, *rest = (text or "").splitlines() or [""]
    print(f"  {status}  {s.step:<8} {s.duration_ms:8.1f} ms  {first}")
    for line in rest:
        print(f"{'':26}{line}")
    if len(s.attempts) > 1 or any("warning" in a for a in s.attempts):  # retries (Windows)
        for a in s.attempts:
            what = "ok" if a.get("ok") else f"errno {a.get('errno')}"
            if a.get("winerror") is not None:
                what += f" (winerror {a['winerror']})"
            if a.get("warning"):
                what += f"; {a['warning']}"
            print(f"{'':26}attempt {a.get('attempt')}: {what} after {a.get('ms', 0):.1f} ms")
    if not s.ok and s.explanation:
        print(f"{'':8}why: {s.explanation}")
    sys.stdout.flush()


def cmd_test_write(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core import fmt
    from uv_cache_inspector.core.testwrite.common import run
    from uv_cache_inspector.core.testwrite.replay import replay
    from uv_cache_inspector.core.testwrite.runas import as_user, runs_as_someone_else
    from uv_cache_inspector.core.testwrite.with_uv import with_uv

    ctx = _context(args)
    root = ctx.location.path
    steps: list[Any] = []
    show = _print_step
    quiet = args.json
    other = runs_as_someone_else(root, args.owner)
    if not quiet:
        print(f"Test write on {fmt.user_path(root)}: uv's persist routine, step by step")
        if other is not None:
            print(f"(as {other.describe()}: the user uv runs as; root would pass every step)")
    if other is not None:
        newest = ctx.newest_uv if args.with_uv else None
        if args.with_uv and newest is None:
            raise UsageError("--with-uv needs a uv executable (on PATH, or --uv PATH)")
        result = run(
            as_user(
                root,
                other,
                bucket=args.bucket,
                keep=args.keep,
                uv=newest.path if newest else None,
                use_strace=not args.no_strace,
            ),
            None if quiet else show,
        )
        return _test_write_done(args, root, result.steps, result.ok)
    gen = replay(
        root, bucket=args.bucket, keep=args.keep, owner=args.owner, bucket_set=ctx.bucket_set()
    )
    result = run(gen, None if args.json else show)
    steps.extend(result.steps)
    ok = result.ok
    if args.with_uv:
        newest = ctx.newest_uv
        if newest is None:
            raise UsageError("--with-uv needs a uv executable (on PATH, or --uv PATH)")
        if not quiet:
            print(f"\nThe real uv ({newest.version_str}, {fmt.user_path(newest.path)}):")
        gen2 = with_uv(
            root,
            newest.path,
            use_strace=not args.no_strace,
            keep=args.keep,
            owner=args.owner,
            python=sys.executable,
        )
        result2 = run(gen2, None if args.json else show)
        steps.extend(result2.steps)
        ok = ok and result2.ok
    return _test_write_done(args, root, steps, ok)


def _test_write_done(args: argparse.Namespace, root: str, steps: list[Any], ok: bool) -> int:
    if args.json:
        emit_json({"ok": ok, "cache_dir": root, "steps": [s.to_json() for s in steps]})
    else:
        failed = next((s for s in steps if not s.ok), None)
        print()
        print(
            "Every step passed: uv can write to this cache."
            if ok
            else f"The write fails at {failed.step if failed else '?'}."
        )
    return EXIT_OK if ok else EXIT_FINDINGS


def _print_plan(plan: Any, verbose: bool) -> None:
    from uv_cache_inspector.core import fmt

    root = plan.root
    by_cat: dict[str, list[Any]] = {}
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


def _apply(
    plan: Any, args: argparse.Namespace, only: set[str] | None = None, guard: Any = None
) -> Any:
    from uv_cache_inspector.core.actions.apply import apply

    return drive(
        apply(
            plan,
            force=args.force,
            only=only,
            while_in_use=getattr(args, "while_in_use", False),
            guard=guard,
        ),
        ProgressLine(),
    )


def _result_json(
    plan: Any, results: list[Any], *, dry_run: bool, extra: dict[str, Any]
) -> dict[str, Any]:
    """The contract's repair/prune JSON: the plan, or (applied) each action's outcome."""
    data: dict[str, Any] = plan.to_json()
    if not dry_run:
        data["dry_run"] = False
        data["actions"] = [r.to_json() for r in results]
        data["freed_bytes"] = sum(r.freed for r in results if r.done)
    data.update(extra)
    return data


def _report_results(
    results: list[Any],
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


def cmd_prune(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core import operations as ops
    from uv_cache_inspector.core.actions import elevate
    from uv_cache_inspector.core.actions.apply import check_target
    from uv_cache_inspector.core.cache.scan import scan
    from uv_cache_inspector.core.fmt import parse_size

    ctx = _context(args)
    real = check_target(ctx.location.path)
    situation = ops.lock_situation(real)
    if args.yes:
        ops.check_may_act(situation, args.while_in_use, args.force)
    try:
        max_size = parse_size(args.max_size) if args.max_size else None
    except ValueError as exc:
        raise UsageError(f"--max-size: {exc} (use e.g. 500M or 20G)") from None
    options = ops.PruneOptions(
        ci=args.ci,
        packages=tuple(args.package),
        older_than_days=args.older_than,
        max_size=max_size,
        venvs=tuple(args.venv),
        while_in_use=args.while_in_use,
    )
    ops.prune_policy(options)  # bad options are refused before the scan
    snap = drive(
        scan(
            real,
            bucket_set=ctx.bucket_set,
            uv_version=ctx.uv_version_label,
            workers=args.workers,
            link_style=ctx.link_style,
        ),
        ProgressLine(),
    )
    if args.plan:  # the privileged helper: only what a fresh plan of its own also wants
        plan, guard = elevate.intersect(_load_plan(args.plan), _fresh_prune(snap, ctx, args)), None
    else:
        plan, guard = ops.prune(snap, ctx.bucket_set(), options, None if args.force else situation)
    notice = situation.notice() if guard is not None else None
    if notice and not args.json:
        print(notice)
    mine, privileged = ops.split_privileged(plan)
    if not args.yes:
        if args.json:
            emit_json(_result_json(plan, [], dry_run=True, extra={"while_in_use": notice}))
        else:
            _print_plan(plan, args.verbose)
            if privileged:
                print(
                    f"{len(privileged)} action(s) need administrator rights: `uvci prune "
                    "--yes` asks for them."
                )
            if plan.actions:
                print(PRUNE_SIZES)
                print("Run `uvci prune --yes` (with the same options) to apply it.")
        return EXIT_OK
    result = _apply(plan, args, only=mine, guard=guard)
    results = list(result.results)
    extra: dict[str, Any] = {"journal": result.journal, "while_in_use": result.while_in_use}
    if privileged:
        me = _me()
        results += _elevated(plan, privileged, me, args, extra)
    if args.json:
        emit_json(_result_json(plan, results, dry_run=False, extra=extra))
    else:
        _report_results(results, result.journal, plan.kept, result.journal_error)
        if results:
            print(PRUNE_SIZES)
    return EXIT_FINDINGS if any(not r.done for r in results) else EXIT_OK


PRUNE_SIZES = (
    "(Sizes are space on disk, each hard-linked file once, as `uv cache size` counts; "
    "`uv cache prune` reports file lengths, every hard link again, so its figure differs.)"
)


def _load_plan(path: str) -> Any:
    from uv_cache_inspector.core.actions.model import Plan

    try:
        with open(path, encoding="utf-8") as fh:
            return Plan.load(fh.read())
    except OSError as exc:
        raise UsageError(f"--plan {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--plan {path}: not a plan file") from None


def _fresh_prune(snap: Any, ctx: Any, args: argparse.Namespace) -> Any:
    """What this process would plan itself for the saved plan's request (a Delete of chosen
    rows, or a prune with the saved options)."""
    from uv_cache_inspector.core import operations as ops

    saved = _load_plan(args.plan)
    chosen = saved.policy.get("delete")
    if isinstance(chosen, list):
        return ops.delete(snap, [str(p) for p in chosen])[0]
    pol = saved.policy
    fresh_options = ops.PruneOptions(
        ci=bool(pol.get("ci")),
        packages=tuple(pol.get("packages") or ()),
        older_than_days=pol.get("older_than_days"),
        max_size=pol.get("max_size"),
        venvs=tuple(args.venv),
    )
    return ops.prune(snap, ctx.bucket_set(), fresh_options)[0]


def _me() -> Any:
    from uv_cache_inspector.core.platform.access import resolve_user

    return resolve_user(None)


def cmd_repair(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core import operations as ops
    from uv_cache_inspector.core.actions import elevate
    from uv_cache_inspector.core.actions.apply import check_target
    from uv_cache_inspector.core.actions.model import Plan
    from uv_cache_inspector.core.platform.access import has_account

    ctx = _context(args)
    real = check_target(ctx.location.path)
    saved_plan = None
    if args.plan:
        try:
            with open(args.plan, encoding="utf-8") as fh:
                saved_plan = Plan.load(fh.read())
        except OSError as exc:
            raise UsageError(f"--plan {args.plan}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"--plan {args.plan}: not a plan file") from None
    situation = ops.lock_situation(real)
    if args.yes and saved_plan is None:
        ops.check_may_act(situation, args.while_in_use, args.force)
    diag, _ = _diagnose(args, deep=True, stream_human=False)
    user = diag.user
    if args.owner and not has_account(user.uid) and not args.force:
        raise UsageError(
            f"--owner {args.owner}: no account on this machine has uid {user.uid}; giving the "
            "cache to it would lock every real user out. Use --force if that is what you want."
        )
    plan, guard = ops.repair(
        diag, situation=None if args.force else situation, while_in_use=args.while_in_use
    )
    notice = situation.notice() if guard is not None else None
    if notice and not args.json:
        print(notice)
    if saved_plan is not None:
        plan = elevate.intersect(saved_plan, plan)
    mine, privileged = ops.split_privileged(plan)
    if not args.yes:
        if args.json:
            emit_json(
                _result_json(
                    plan, [], dry_run=True, extra={"uv_user": user.name, "while_in_use": notice}
                )
            )
        else:
            _print_plan(plan, args.verbose)
            if privileged:
                from uv_cache_inspector.core import fmt

                n = fmt.plural(len(privileged), "action")
                verb = "needs" if len(privileged) == 1 else "need"
                if elevate.choose() == "none":
                    print(
                        f"{n} {verb} administrator rights, and no password prompt can open "
                        f"here ({elevate.why_no_prompt()}). Run:"
                    )
                else:
                    print(
                        f"{n} {verb} administrator rights: `uvci repair --yes` asks for "
                        "them, or run:"
                    )
                print(f"  {elevate.paste_command(real, user.name)}")
            elif plan.actions:
                print("Run `uvci repair --yes` to apply it.")
        return EXIT_OK
    result = _apply(plan, args, only=mine, guard=guard)
    results = list(result.results)
    extra: dict[str, Any] = {"journal": result.journal, "while_in_use": result.while_in_use}
    if privileged:
        results += _elevated(plan, privileged, user, args, extra)
    if args.json:
        emit_json(_result_json(plan, results, dry_run=False, extra=extra))
    else:
        _report_results(results, result.journal, plan.kept, result.journal_error)
    return EXIT_FINDINGS if any(not r.done for r in results) else EXIT_OK


def _elevated(
    plan: Any, privileged: list[Any], user: Any, args: argparse.Namespace, extra: dict[str, Any]
) -> list[Any]:
    """Run the privileged part through pkexec/sudo/UAC/osascript, or say what to paste."""
    from uv_cache_inspector.core import operations as ops
    from uv_cache_inspector.core.actions import elevate
    from uv_cache_inspector.core.actions.apply import ActionResult
    from uv_cache_inspector.core.actions.model import Plan

    sub = Plan(
        plan.root,
        plan.kind,
        privileged,
        for_uid=user.uid,
        uv_version=plan.uv_version,
        policy=plan.policy,
    )
    method = "none" if args.no_elevate else elevate.choose()
    extra["elevation"] = method
    if method == "none":
        # Exactly the actions left undone, saved: not a fresh operation that could do more.
        paste = elevate.paste_for(sub, user.name)
        extra["paste_command"] = paste
        if not args.json:
            why = "--no-elevate was given" if args.no_elevate else elevate.why_no_prompt()
            print(f"Some actions need administrator rights ({why}). Run:")
            print(f"  {paste}")
        return [
            ActionResult(a, error=f"needs administrator rights: run `{paste}`") for a in privileged
        ]
    proc = elevate.run(sub, method, user.uid)
    return ops.elevated_results(
        privileged, proc.stdout, proc.stderr.strip() or "administrator step did not run"
    )


def cmd_verify(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core.actions.delete import verify_plan
    from uv_cache_inspector.core.cache.scan import scan
    from uv_cache_inspector.core.diagnosis.verify import verify

    if args.yes and not args.fix:
        raise UsageError("--yes applies the fix: use it with --fix")
    ctx = _context(args)
    root = ctx.location.path
    progress = ProgressLine()
    venvs = tuple(args.venv) or tuple(v for v in [_venv(None)] if v)
    report = drive(
        verify(
            root,
            packages=tuple(args.package),
            venvs=venvs,
            workers=args.workers,
            use_state=not args.no_state,
        ),
        progress,
    )
    data = report.to_json()
    code = EXIT_FINDINGS if report.modified else EXIT_OK
    plan = None
    if args.fix and report.modified:  # the links that name the archives: a scan finds them
        snap = drive(
            scan(
                root,
                bucket_set=ctx.bucket_set,
                uv_version=ctx.uv_version_label,
                workers=args.workers,
            ),
            progress,
        )
        plan = verify_plan(snap, report.modified)
    if not args.json:
        _print_verify(report)
    if plan is None:
        if args.json:
            emit_json(data)
        elif report.modified:
            print("Run `uvci verify --fix` to see how to make the next install pristine.")
        return code
    if not args.yes:
        if args.json:
            data["fix"] = _result_json(plan, [], dry_run=True, extra={})
            emit_json(data)
        else:
            print()
            _print_plan(plan, args.verbose)
            print("Run `uvci verify --fix --yes` to apply it.")
            _print_reinstall(report.modified, "Then reinstall")
        return code
    result = _apply(plan, args)
    if args.json:
        data["fix"] = _result_json(
            plan, result.results, dry_run=False, extra={"journal": result.journal}
        )
        emit_json(data)
    else:
        print()
        _report_results(result.results, result.journal)
        if not result.failed:
            print(
                "The next install of "
                + ", ".join(m.label() for m in report.modified)
                + " unpacks a fresh copy."
            )
            _print_reinstall(report.modified, "Now reinstall")
    return code


def _print_reinstall(modified: Any, lead: str) -> None:
    from uv_cache_inspector.core.diagnosis.verify import reinstall_commands

    print(
        "Environments that share the edited files keep them until reinstalled. "
        f"{lead} them, with one of:"
    )
    for cmd in reinstall_commands(modified):
        print(f"  {cmd}")


def _print_verify(report: Any) -> None:
    from uv_cache_inspector.core import fmt

    root = report.root
    for m in report.modified:
        print(f"MODIFIED {m.label()}  [{os.path.relpath(m.path, root)}]")
        for f in m.files:
            shared = ""
            if f.links > 1:
                n = f.links - 1
                shared = f"; {n} other link{'s' if n != 1 else ''}"
            print(f"  {f.change:<10} {f.path}  ({f.detail}{shared})")
            for place in f.places:
                print(f"{'':13}also in {fmt.user_path(place)}")
            unnamed = f.links - 1 - len(f.places)
            if f.links > 1 and unnamed > 0:
                print(
                    f"{'':13}{unnamed} more link{'s' if unnamed != 1 else ''} in environments "
                    "not checked (--venv PATH names them)"
                )
    if report.modified:
        print()
    reasons: dict[str, int] = {}
    for u in report.cannot_verify:
        reasons[u.reason] = reasons.get(u.reason, 0) + 1
    print(
        f"Verified {report.verified:,} unpacked wheel{'s' if report.verified != 1 else ''} "
        f"({report.files:,} files: {report.hashed:,} hashed, {fmt.size(report.hashed_bytes)}; "
        f"{report.reused:,} unchanged since the last verify) in {report.duration:.2f} s."
    )
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        print(f"Cannot verify {n:,}: {reason}.")
    if report.packages and not report.verified and not report.cannot_verify:
        print(f"No unpacked archive of {', '.join(report.packages)} in this cache.")
    if report.state_file:
        print(f"Remembered in {fmt.user_path(report.state_file)}.")
    if report.state_note:
        print(f"Note: {report.state_note}.")
    if report.modified:
        n = len(report.modified)
        print(f"{n} archive{'s' if n != 1 else ''} modified.")
    else:
        print("No archive differs from its RECORD.")


def cmd_watch(args: argparse.Namespace) -> int:
    import threading

    from uv_cache_inspector.core import fmt
    from uv_cache_inspector.core.errors import CacheNotFoundError
    from uv_cache_inspector.core.watch import CacheWatcher

    root = _context(args).location.path
    if not os.path.isdir(root):
        raise CacheNotFoundError(f"uv has not created a cache at {root}")
    out_lock = threading.Lock()
    import json

    def show(batch: list[Any]) -> None:
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
    import threading

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


def cmd_install_shortcut(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core.platform import shortcut

    result = (
        shortcut.uninstall(dry_run=args.dry_run)
        if args.uninstall
        else shortcut.install(dry_run=args.dry_run)
    )
    if args.json:
        emit_json(result.to_json())
    else:
        print(result.summary())
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core.diagnosis.report import markdown

    diag, ctx = _diagnose(args, deep=True, stream_human=False)
    text = markdown(diag)
    if args.json:
        emit_json({**_findings_json(diag, ctx), "markdown": text})
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _print_scan(snap: Any, ctx: Any, top: int) -> None:
    from uv_cache_inspector.core import fmt
    from uv_cache_inspector.core.model import display_path

    loc = ctx.location
    newest = ctx.newest_uv
    print(f"Cache:     {display_path(snap.root)}")
    print(f"Found:     {loc.detail}")
    if loc.disagreement:
        print(f"Note:      {loc.disagreement}")
    uv_line = f"{newest.version_str} ({newest.path})" if newest else ctx.uv_version_label()
    print(f"uv:        {uv_line}")
    print(
        f"Size:      {fmt.size(snap.total_bytes)} in {snap.total_files:,} files "
        f"and {snap.total_dirs:,} directories (scanned in {snap.duration:.2f} s)"
    )
    print()
    rows = [
        [b.name, b.status.value, fmt.size(b.bytes), f"{b.files:,}", b.note]
        for b in sorted(snap.buckets, key=lambda b: -b.bytes)
    ]
    if rows:
        print(fmt.table(rows, ["bucket", "status", "size", "files", "note"], right={2, 3}))
        print()
    by_pkg: dict[str, list[Any]] = {}
    for a in snap.archives:
        by_pkg.setdefault(a.package or f"({a.kind.value})", []).append(a)
    pkg_rows = sorted(by_pkg.items(), key=lambda kv: -sum(a.bytes for a in kv[1]))
    if pkg_rows:
        rows = []
        for pkg, archives in pkg_rows[:top]:
            versions = sorted({a.version or "?" for a in archives})
            used = max((a.last_used or 0) for a in archives) or None
            rows.append(
                [
                    pkg,
                    ", ".join(versions)[:30],
                    str(len(archives)),
                    fmt.size(sum(a.bytes for a in archives)),
                    f"{sum(a.files for a in archives):,}",
                    fmt.since(used),
                ]
            )
        header = ["package", "versions", "archives", "size", "files", "last used"]
        print(fmt.table(rows, header, right={2, 3, 4}))
        if len(pkg_rows) > top:
            print(f"... and {len(pkg_rows) - top} more packages (--top N to see more)")
        print()
    unref = [a for a in snap.archives if not a.referenced]
    print(
        f"Archives:  {len(snap.archives):,}, of which {len(unref):,} unreferenced "
        f"({fmt.size(sum(a.bytes for a in unref))}; `uvci prune` removes them)"
    )
    if snap.tmp_dirs:
        total = sum(t.bytes for t in snap.tmp_dirs)
        print(f"Temporary: {len(snap.tmp_dirs)} .tmp* entries ({fmt.size(total)})")
    if snap.problems:
        print(f"Problems:  {len(snap.problems)} (see `uvci doctor`)")


# -- entry point -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    saved = sys.stdout, sys.stderr
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = saved


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same clean stop as Ctrl+C (exit 143)."""


def _on_sigterm(*_: object) -> None:
    raise _Terminated


def _main(argv: list[str]) -> int:
    if argv[:1] and argv[0].startswith("--uvci-"):  # a child of this program (core/selfexec.py)
        from uv_cache_inspector.entry import run_child

        child = run_child(argv)
        if child is not None:
            return child
        argv = argv[1:]  # CLI_FLAG: the command line itself
    _safe_streams()
    import signal
    import threading

    try:
        # Inside the try: from the instant the handler exists, its exception is caught here.
        if hasattr(signal, "SIGTERM") and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code: int = args.func(args)
    except InspectorError as exc:
        print(f"uvci: {exc}", file=sys.stderr)
        return exc.exit_code
    except _Terminated:
        print("uvci: terminated (SIGTERM); what was done so far is in the journal", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("uvci: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `uvci scan | head`: the reader went away; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    return code

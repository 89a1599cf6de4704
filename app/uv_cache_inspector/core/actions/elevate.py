"""Running a repair with administrator rights, and checking a saved plan on the other side.

Giving files back to their user (chown) needs root. The unprivileged side saves its plan and
asks the platform to run `uvci repair --plan FILE --yes` as administrator: pkexec on Linux
desktops, sudo in a terminal, UAC (ShellExecute "runas") on Windows, osascript's "with
administrator privileges" on macOS. When none of these is possible it prints the exact command
to paste.

The privileged side trusts nothing in the file: it recomputes the repair plan itself for the
user who asked (PKEXEC_UID / SUDO_UID, which must match the plan's), and applies only actions
that are in both plans, each checked again when it runs (core.apply). A forged plan can at most
ask for what a fresh diagnosis of that user's cache already wants.

Only the Linux paths run in CI; UAC and osascript are built from their documentation and are
not verified on Windows or macOS.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping

from uv_cache_inspector.core.actions.model import Action, Plan
from uv_cache_inspector.core.errors import UsageError
from uv_cache_inspector.core.platform.subproc import NO_WINDOW
from uv_cache_inspector.core.selfexec import cli_command


def paste_command(
    root: str,
    owner: str,
    plan_file: str | None = None,
    *,
    kind: str = "repair",
    which: Callable[[str], str | None] = shutil.which,
    platform: str = sys.platform,
) -> str:
    """What to type when no elevation is possible.

    With `plan_file` (a saved plan) the command applies that plan and nothing else (the
    privileged side still checks it against a fresh one); without, a whole repair or prune.
    Where sudo is not installed, `su -c` runs it as root."""
    uvci = which("uvci") or "uvci"
    sub = "prune" if kind == "prune" else "repair"
    plan = ["--plan", plan_file] if plan_file else []
    owner_args = ["--owner", owner] if sub == "repair" else []
    if platform == "win32":
        extra = f' --plan "{plan_file}"' if plan_file else ""
        who = f" --owner {owner}" if owner_args else ""
        return f'(as administrator) {uvci} {sub} --cache-dir "{root}"{extra}{who} --yes'
    args = [uvci, sub, "--cache-dir", root, *plan, *owner_args, "--yes"]
    command = " ".join(shlex.quote(a) for a in args)
    if which("sudo") is None:
        return f"su -c {shlex.quote(command)}"
    return f"sudo {command}"


def paste_for(plan: Plan, owner: str) -> str:
    """The command to paste for exactly this plan (its privileged part): the plan is kept in
    the user's state directory (a temporary file could be gone before it is pasted), and the
    helper applies what a fresh plan also wants, nothing more."""
    from platformdirs import user_state_dir

    folder = os.path.join(user_state_dir("uv-cache-inspector", appauthor=False), "plans")
    try:
        os.makedirs(folder, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix=f"{plan.kind}-", suffix=".json", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(plan.dump())
        os.chmod(path, 0o644)
    except OSError:
        path = save_plan(plan)
    return paste_command(plan.root, owner, path, kind=plan.kind)


def why_no_prompt(
    env: Mapping[str, str] | None = None,
    *,
    which: Callable[[str], str | None] = shutil.which,
    platform: str = sys.platform,
) -> str:
    """Why choose() found no way to ask for a password here, in a sentence."""
    env = os.environ if env is None else env
    if platform == "darwin":
        return "osascript, which asks macOS for an administrator password, was not found"
    graphical = bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    pkexec, sudo = which("pkexec"), which("sudo")
    if graphical and pkexec is None:
        why = "pkexec (polkit), which asks for the password in a window, is not installed"
    elif not graphical:
        why = "there is no graphical session for pkexec to ask for a password in"
    else:
        why = "no password prompt is possible here"
    if sudo is None:
        why += (
            "; sudo is not installed either: run the command as root (su asks for root's password)"
        )
    else:
        why += "; sudo asks in a terminal"
    return why


def choose(env: Mapping[str, str] | None = None, interactive: bool | None = None) -> str:
    """The elevation method available here, or "none"."""
    env = os.environ if env is None else env
    if sys.platform == "win32":
        return "uac"
    if sys.platform == "darwin":
        return "osascript" if shutil.which("osascript") else "none"
    graphical = bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    if graphical and shutil.which("pkexec"):
        return "pkexec"
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    if interactive and shutil.which("sudo"):
        return "sudo"
    return "none"


def save_plan(plan: Plan) -> str:
    fd, path = tempfile.mkstemp(prefix="uvci-plan-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(plan.dump())
    os.chmod(path, 0o644)  # the helper runs as root; readable is enough
    return path


def _helper_args(kind: str, plan_file: str, root: str, owner_uid: int) -> list[str]:
    """The privileged helper: `uvci repair|prune --plan FILE`. It applies only what a fresh
    plan of its own, for the same user and options, also wants (`intersect`)."""
    sub = "prune" if kind == "prune" else "repair"
    args = [sub, "--cache-dir", root, "--plan", plan_file]
    if sub == "repair":
        args += ["--owner", str(owner_uid)]
    return [*args, "--yes"]


def command(
    method: str, plan_file: str, root: str, owner_uid: int, kind: str = "repair"
) -> list[str]:
    args = [*cli_command(), *_helper_args(kind, plan_file, root, owner_uid), "--json"]
    if method == "pkexec":
        return ["pkexec", *args]
    if method == "sudo":
        return ["sudo", *args]
    if method == "osascript":
        script = " ".join(shlex.quote(a) for a in args)
        apple = script.replace("\\", "\\\\").replace('"', '\\"')
        return ["osascript", "-e", f'do shell script "{apple}" with administrator privileges']
    raise UsageError(f"no elevation method {method!r}")


def run(plan: Plan, method: str, owner_uid: int) -> subprocess.CompletedProcess[str]:
    """Run the privileged helper on a saved copy of `plan` and wait for it."""
    path = save_plan(plan)
    try:
        if method == "uac":  # pragma: no cover - Windows only
            return _run_uac(path, plan.root, owner_uid, plan.kind)
        return subprocess.run(
            command(method, path, plan.root, owner_uid, plan.kind),
            capture_output=True,
            text=True,
            check=False,
            creationflags=NO_WINDOW,
        )
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def _run_uac(
    path: str, root: str, owner_uid: int, kind: str = "repair"
) -> subprocess.CompletedProcess[str]:  # pragma: no cover
    import ctypes

    args = cli_command()
    params = subprocess.list2cmdline([*args[1:], *_helper_args(kind, path, root, owner_uid)])
    rc = ctypes.windll.shell32.ShellExecuteW(None, "runas", args[0], params, None, 0)  # type: ignore[attr-defined]
    return subprocess.CompletedProcess(args, 0 if rc > 32 else 1, "", "")


def invoking_uid(env: Mapping[str, str] | None = None) -> int | None:
    """Who asked for the elevation (pkexec / sudo set these); None when run directly."""
    env = os.environ if env is None else env
    for var in ("PKEXEC_UID", "SUDO_UID"):
        value = env.get(var)
        if value and value.isdigit():
            return int(value)
    return None


def _key(a: Action) -> tuple[object, ...]:
    return (a.kind, a.path, a.uid, a.gid, a.add_mode, a.add_file_mode, a.recursive)


def intersect(saved: Plan, fresh: Plan, env: Mapping[str, str] | None = None) -> Plan:
    """The saved plan, restricted to what a fresh plan for the same user also wants."""
    if os.path.realpath(saved.root) != os.path.realpath(fresh.root):
        raise UsageError("the saved plan is for another cache")
    asker = invoking_uid(env)
    if asker is not None and saved.for_uid is not None and asker not in {0, saved.for_uid}:
        raise UsageError(f"the saved plan is for uid {saved.for_uid}, but uid {asker} asked")
    wanted = {_key(a) for a in fresh.actions}
    kept = [a for a in saved.actions if _key(a) in wanted]
    dropped = len(saved.actions) - len(kept)
    out = Plan(
        fresh.root,
        saved.kind,
        kept,
        warnings=list(fresh.warnings),
        for_uid=saved.for_uid,
        uv_version=fresh.uv_version,
    )
    if dropped:
        out.warnings.append(
            f"{dropped} action(s) of the saved plan are no longer needed or "
            "were not asked for by a fresh diagnosis; they were dropped"
        )
    return out

"""The app and `uvci` build each operation with the same code (core.operations), so they plan
the same thing on the same cache (issue 12, item 5). Before, the app's Prune left out the
protection of the active venv in symlink link mode that `uvci prune` applied."""

from __future__ import annotations

import json
import os

from tests.cli.helpers import uvci


def test_the_apps_prune_plan_is_the_clis(qtbot, real_cache, template, world_tmp, monkeypatch):
    from uv_cache_inspector.core.cache.context import make_context
    from uv_cache_inspector.core.cache.scan import run_scan
    from uv_cache_inspector.gui.views.prune_dialog import PruneDialog

    # An active venv installed in symlink mode, pointing into an archive prune would remove.
    orphan = min(template.orphans)
    venv = world_tmp / "symlink-venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    target = next(p for p in (real_cache / "archive-v0" / orphan).rglob("*.py"))
    (site / "linked.py").symlink_to(target)
    env = {"VIRTUAL_ENV": str(venv), "UV_LINK_MODE": "symlink"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    cli = uvci("prune", "--json", "--cache-dir", str(real_cache), env=env)
    assert cli.returncode == 0, cli.stderr
    cli_plan = json.loads(cli.stdout)
    assert any(orphan in k for k in cli_plan["kept"])  # the venv's archive is kept

    ctx = make_context(str(real_cache), ()).start()
    snap = run_scan(str(real_cache), bucket_set=ctx.bucket_set())
    dialog = PruneDialog(snap, ctx.bucket_set())
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.full is not None, timeout=60_000)
    assert dialog.full is not None
    app_paths = sorted(a.path for a in dialog.full.actions)
    cli_paths = sorted(a["path"] for a in cli_plan["actions"])
    assert app_paths == cli_paths
    assert sorted(dialog.full.kept) == sorted(cli_plan["kept"])
    assert not any(os.path.basename(p) == orphan for p in app_paths)

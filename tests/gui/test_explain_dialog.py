"""The Explain dialog, offscreen: the story of a real uv failure, the Fix button when the fix is
ours, Close, and the picture of it (UVCI_SHOTS=dir keeps the PNGs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.harness.dists import write_wheel

CORPUS = {
    e["id"]: e
    for e in json.loads(
        (Path(__file__).resolve().parents[1] / "data" / "explain_corpus.json").read_text(
            encoding="utf-8"
        )
    )["entries"]
}


def _shot(widget, tmp_path: Path, name: str) -> Path:
    out_dir = Path(os.environ.get("UVCI_SHOTS") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.png"
    assert widget.grab().save(str(path))
    assert path.stat().st_size > 10_000
    return path


def _open(qtbot, root: str, text: str):
    from uv_cache_inspector.gui.views.explain_dialog import ExplainDialog

    dlg = ExplainDialog(root, None, "")
    qtbot.addWidget(dlg)
    dlg.resize(900, 640)
    dlg.show()
    with qtbot.waitSignal(dlg.runner.result, timeout=30_000):
        dlg.input.setPlainText(text)
    return dlg


def _buttons(dlg):
    from PySide6.QtWidgets import QPushButton

    return {b.text(): b for b in dlg.findChildren(QPushButton) if b.isVisible()}


def test_story_from_the_text_alone(qtbot, tmp_path):
    """A colleague's Windows error, no cache here: the story, no Fix, a Close button."""
    dlg = _open(qtbot, str(tmp_path / "no-cache"), CORPUS["uv-17679"]["text"])
    text = dlg.output.toPlainText()
    assert "What uv tried" in text and "Move C:\\Users\\VinayakSinghSendhaw" in text
    assert "What the system refused" in text and "Access is denied. (os error 5)" in text
    assert "security software" in text and "Exclude uv's cache" in text
    assert "Not checked" in text and "no uv cache here" in text.lower()
    buttons = _buttons(dlg)
    assert "Close" in buttons
    assert not dlg.fix_button.isVisible()
    _shot(dlg, tmp_path, "explain-text-only")
    buttons["Close"].click()
    assert not dlg.isVisible()


def test_control_characters_are_shown_escaped(qtbot, tmp_path):
    text = "error: failed to open file `/tmp/a\x07b\u202ec`: Permission denied (os error 13)"
    dlg = _open(qtbot, str(tmp_path / "no-cache"), text)
    # The explanation of this text (not of an earlier, empty input) is the event to wait for.
    qtbot.waitUntil(lambda: "/tmp/a" in dlg.output.toPlainText(), timeout=30_000)
    shown = dlg.output.toPlainText()
    assert "\x07" not in shown and "\u202e" not in shown
    assert "\\x07" in shown and "\\u202e" in shown


@pytest.fixture
def root_owned_failure(nobody_cache, unprivileged, world_tmp, dists_dir, index):
    """uv #11018 on this machine: archive-v0 left to root by `sudo uv`, and uv's real error."""
    os.chown(nobody_cache / "archive-v0", 0, 0)
    venv = world_tmp / "user-venv"
    venv.mkdir()
    os.chown(venv, 65534, 65534)
    made = unprivileged.uv_cmd(
        "venv", "--python", unprivileged.python, "--cache-dir", str(nobody_cache), str(venv)
    )
    assert made.returncode == 0, made.stderr
    write_wheel(dists_dir, "explain-dialog-probe", "1.0", native=True)
    failed = unprivileged.uv_cmd(
        "pip",
        "install",
        "--cache-dir",
        str(nobody_cache),
        "--python",
        str(venv / "bin" / "python"),
        "--index-url",
        index.url,
        "explain-dialog-probe",
    )
    assert failed.returncode != 0 and "os error 13" in failed.stderr, failed.stderr
    return nobody_cache, failed.stderr


def test_evidence_and_the_fix_button(qtbot, tmp_path, root_owned_failure):
    cache, said = root_owned_failure
    dlg = _open(qtbot, str(cache), said)
    text = dlg.output.toPlainText()
    assert "foreign-owner" in text
    assert "it is owned by root" in text and "uid 65534" in text
    assert "Checked on this machine" in text
    assert "uvci repair" in text and "Not `chown -R`".replace("`", "") in text
    assert dlg.fix_button.isVisible() and dlg.fix_button.text() == "Fix it: Repair…"
    _shot(dlg, tmp_path, "explain-evidence")
    dlg.fix_button.click()
    assert dlg.requested_fix == "repair"
    assert dlg.result() == dlg.DialogCode.Accepted

"""Explain an error…: paste uv's message; the story appears as you paste.

The story of the main failure: what uv tried, what the system refused (its own words and the
error number), why (the cause the text and the disk point at), what to do, and what was
checked or could not be. A Fix button appears when the fix is ours (the window's own repair
or prune flows, on this cache only); Close closes.
"""

from __future__ import annotations

import html
import os
from collections.abc import Generator
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector.core.model import Progress
from uv_cache_inspector.gui.style import severity_color
from uv_cache_inspector.gui.tasks import TaskRunner

_FIX_LABELS = {"repair": "Fix it: Repair…", "prune": "Fix it: Prune…"}


def _e(text: str) -> str:
    from uv_cache_inspector.core.diagnosis.explain import escape

    return html.escape(escape(text))


def _code_spans(text: str) -> str:
    """`x` -> <code>x</code>, after escaping."""
    out = []
    parts = _e(text).split("`")
    for i, part in enumerate(parts):
        out.append(f"<code>{part}</code>" if i % 2 and i < len(parts) - 1 else part)
    if len(parts) % 2 == 0:  # an odd number of backticks: keep the last one as it was
        out[-1] = "`" + out[-1]
    return "".join(out)


def story_html(explanations: list[Any], notices: list[str]) -> str:
    """The dialog's text (also used by tests): the main failure as a story, then the rest."""
    muted = severity_color("muted").name()
    if not explanations:
        parts = [f"<p style='color:{muted}'>{_e(n)}</p>" for n in notices]
        parts.append(
            f"<p style='color:{muted}'>No uv failure found yet: paste what uv printed, with "
            "the lines that say “failed to …”, “Caused by:” and “(os error N)”.</p>"
        )
        return "".join(parts)
    first = explanations[0]
    story = first.story()
    sev = first.finding.severity.value
    color = severity_color(sev).name()
    rows = [
        ("What uv tried", story["tried"]),
        ("What the system refused", story["refused"]),
        ("Why", story["why"]),
        ("What to do", story["todo"]),
    ]
    head = (
        f"<h3 style='color:{color};margin-bottom:4px'>{_e(story['headline'])}"
        f"<span style='color:{muted};font-weight:normal'> ({_e(first.finding.code)})</span></h3>"
    )
    parts = [head, "<table cellspacing='0' cellpadding='4'>"]
    for label, text in rows:
        if text:
            parts.append(
                f"<tr><td valign='top' style='white-space:nowrap'><b>{label}</b></td>"
                f"<td>{_code_spans(text)}</td></tr>"
            )
    parts.append("</table>")
    if story["checked"]:
        parts.append("<p><b>Checked on this machine:</b></p><ul>")
        parts.extend(f"<li>{_e(c)}</li>" for c in story["checked"])
        parts.append("</ul>")
    if story["unchecked"]:
        parts.append(f"<p style='color:{muted}'><b>Not checked:</b></p><ul>")
        parts.extend(f"<li style='color:{muted}'>{_e(c)}</li>" for c in story["unchecked"])
        parts.append("</ul>")
    others = [] if first.evidence else first.candidates[1:5]
    if others:
        parts.append(f"<p style='color:{muted}'><b>Other causes the text allows:</b></p><ul>")
        parts.extend(f"<li style='color:{muted}'>{_e(c.cause)}: {_e(c.why)}</li>" for c in others)
        parts.append("</ul>")
    for e in explanations[1:6]:
        parts.append(
            f"<p style='color:{muted}'>Also: {_code_spans(e.story()['tried'])} "
            f"{_e(e.story()['refused'])} ({_e(e.cause)})</p>"
        )
    parts.append(
        f"<p style='color:{muted}'>uv said: <code>{_e(first.failure.line[:400])}</code></p>"
    )
    parts.extend(f"<p style='color:{muted}'>{_e(n)}</p>" for n in notices)
    return "".join(parts)


class ExplainDialog(QDialog):
    fix = Signal(str, object)  # ("repair" | "prune", [the finding]): the window's tool fixes it

    def __init__(
        self, root: str, owner: str | None = None, text: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Explain a uv error")
        self.resize(900, 640)
        self.root, self.owner = root, owner
        self.requested_fix: str | None = None  # "repair" or "prune", for the window to run
        self.explanations: list[Any] = []
        self.runner = TaskRunner(self)
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel('Paste what uv printed (all of it, with the "(os error N)" lines):', self)
        )
        split = QSplitter(Qt.Orientation.Vertical, self)
        self.input = QPlainTextEdit(split)
        self.input.setAccessibleName("uv's error message")
        self.input.setPlaceholderText(
            "error: Failed to download `six==1.17.0`\n  Caused by: Failed to write to the "
            "distribution cache\n  Caused by: failed to rename file from ... to ...\n"
            "  Caused by: Permission denied (os error 13)"
        )
        self.output = QTextBrowser(split)
        self.output.setAccessibleName("What it means")
        self.output.setOpenExternalLinks(False)
        split.addWidget(self.input)
        split.addWidget(self.output)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        lay.addWidget(split, 1)
        self.buttons = QDialogButtonBox(self)
        self.fix_button = QPushButton("Fix…", self)
        self.fix_button.setAccessibleName("Fix")
        self.fix_button.clicked.connect(self._fix)
        self.buttons.addButton(self.fix_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.fix_button.hide()  # after addButton, which shows it: only once a fix is ours
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        lay.addWidget(self.buttons)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(300)
        self.timer.timeout.connect(self.explain)
        self.input.textChanged.connect(self.timer.start)
        self.runner.result.connect(self._on_result)
        self.runner.error.connect(self._on_error)
        muted = severity_color("muted").name()
        self.output.setHtml(
            f"<p style='color:{muted}'>What uv tried, what the system refused and why, and "
            "what to do appear here as you paste.</p>"
        )
        if text:
            self.input.setPlainText(text)

    def explain(self) -> None:
        text, root, owner = self.input.toPlainText(), self.root, self.owner

        def run(_token: object) -> Generator[Progress, None, tuple[list[Any], list[str]]]:
            from uv_cache_inspector.core.diagnosis import explain
            from uv_cache_inspector.core.model import Owner
            from uv_cache_inspector.core.platform.access import resolve_user

            yield Progress("explaining")
            real = os.path.realpath(root) if root else root
            present = bool(real) and os.path.isdir(real)
            try:
                root_owner: Owner | None = Owner.from_stat(os.stat(real)) if present else None
            except OSError:
                root_owner = None
            user = resolve_user(root_owner, owner)
            _, explained, prepared = explain.explain_text(text, user, real, cache_present=present)
            notices = list(prepared.notes)
            if prepared.binary:
                notices.insert(0, "This looks like binary data, not uv's output.")
            if not present:
                notices.append(
                    "There is no uv cache here: the message is explained from its text alone."
                )
            return explained, notices

        self.runner.run("explain", run)

    def _on_result(self, name: str, value: Any) -> None:
        if name != "explain":
            return
        explained, notices = value
        self.explanations = explained
        self.output.setHtml(story_html(explained, notices))
        action = explained[0].fix_action if explained else None
        if action in _FIX_LABELS:
            self.fix_button.setText(_FIX_LABELS[action])
            self.fix_button.setToolTip(explained[0].finding.fix or "")
            self.fix_button.show()
        else:
            self.fix_button.hide()

    def _on_error(self, name: str, exc: object, _tb: str) -> None:
        if name == "explain":
            self.output.setHtml(f"<p>Could not explain this text: {_e(str(exc))}</p>")
            self.fix_button.hide()

    def _fix(self) -> None:
        if self.explanations and self.explanations[0].fix_action:
            self.requested_fix = self.explanations[0].fix_action
            self.accept()
            self.fix.emit(self.requested_fix, [self.explanations[0].finding])

"""Explain an error…: paste uv's message; the cause appears as you paste."""

from __future__ import annotations

import html
from collections.abc import Generator
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector.core.model import Finding, Progress
from uv_cache_inspector.gui.style import severity_color
from uv_cache_inspector.gui.tasks import TaskRunner
from uv_cache_inspector.gui.wording import fix_kind, window_fix


class ExplainDialog(QDialog):
    fix = Signal(str, object)  # ("repair" | "prune", the findings): the window's tool fixes them

    def __init__(
        self, root: str, owner: str | None = None, text: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Explain a uv error")
        self.resize(820, 560)
        self.root, self.owner = root, owner
        self.runner = TaskRunner(self)
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel('Paste what uv printed (all of it, with the "(os error N)" lines):', self)
        )
        self.input = QPlainTextEdit(self)
        self.input.setAccessibleName("uv's error message")
        self.input.setPlaceholderText(
            "error: Failed to download `six==1.17.0`\n  cause: Failed to write to the "
            "distribution cache\n  cause: failed to rename file from ... Permission denied "
            "(os error 13)"
        )
        lay.addWidget(self.input, 1)
        self.output = QTextBrowser(self)
        self.output.setAccessibleName("What it means")
        lay.addWidget(self.output, 2)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        self.fix_button = QPushButton("Fix it…", self)
        self.fix_button.clicked.connect(self._fix)
        self.buttons.addButton(self.fix_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.fix_button.hide()  # after addButton, which shows it
        lay.addWidget(self.buttons)
        self._fixable: list[Finding] = []
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(300)
        self.timer.timeout.connect(self.explain)
        self.input.textChanged.connect(self.timer.start)
        self.runner.result.connect(self._on_result)
        self.output.setHtml(
            "<p style='color:gray'>What the error means, and how to fix it, appears here as "
            "you paste.</p>"
        )
        if text:
            self.input.setPlainText(text)

    def explain(self) -> None:
        text, root, owner = self.input.toPlainText(), self.root, self.owner

        def run(_token: object) -> Generator[Progress, None, tuple[list[Any], list[Finding]]]:
            import os

            from uv_cache_inspector.core import explain
            from uv_cache_inspector.core.access import resolve_user
            from uv_cache_inspector.core.model import Owner

            yield Progress("explaining")
            failures = explain.parse(text)
            try:
                root_owner: Owner | None = Owner.from_stat(os.stat(root))
            except OSError:
                root_owner = None
            user = resolve_user(root_owner, owner)
            return failures, explain.explain_failures(failures, user, os.path.realpath(root))

        self.runner.run("explain", run)

    def _on_result(self, name: str, value: Any) -> None:
        if name != "explain":
            return
        failures, findings = value
        self._offer_fix(findings)
        e = html.escape
        if not failures:
            self.output.setHtml(
                "<p style='color:gray'>No uv failure found yet: paste the lines "
                'that say "failed to …" and "(os error N)".</p>'
            )
            return
        parts = []
        for f in findings:
            color = severity_color(f.severity.value).name()
            parts.append(f"<p><b style='color:{color}'>{e(f.code)}</b> — {e(f.message)}</p>")
            fix = window_fix(f)
            if fix:
                parts.append(f"<p><i>Fix:</i> {e(fix)}</p>")
            said = f.details.get("uv_said")
            if said:
                parts.append(f"<p style='color:gray'>uv said: {e(said)}</p>")
        self.output.setHtml("".join(parts) or "<p>uv's message names no operation we know.</p>")

    def _offer_fix(self, findings: list[Finding]) -> None:
        """A "Fix it" button when the cause is one the window's Repair or Prune fixes."""
        self._fixable = [f for f in findings if fix_kind(f) is not None]
        kinds = {fix_kind(f) for f in self._fixable}
        self.fix_button.setVisible(bool(self._fixable))
        self.fix_button.setText("Fix it: Repair…" if "repair" in kinds else "Fix it: Prune…")
        self.fix_button.setDefault(bool(self._fixable))

    def _fix(self) -> None:
        kind = "repair" if any(fix_kind(f) == "repair" for f in self._fixable) else "prune"
        chosen = [f for f in self._fixable if fix_kind(f) == kind]
        self.accept()
        self.fix.emit(kind, chosen)

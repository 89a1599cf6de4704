"""Report…: the Markdown to paste into a bug report, with a copy button."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector.core.diagnosis.engine import Diagnosis
from uv_cache_inspector.core.model import Progress
from uv_cache_inspector.gui.tasks import TaskRunner


class ReportDialog(QDialog):
    def __init__(self, diagnosis: Diagnosis, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Report for a bug tracker")
        self.resize(820, 620)
        self.runner = TaskRunner(self)
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel("Paste this into the issue. Paths under your home folder show as ~.", self)
        )
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setAccessibleName("Report in Markdown")
        lay.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        copy = QPushButton("Copy Markdown", self)
        copy.setDefault(True)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text.toPlainText()))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        lay.addWidget(buttons)
        self.runner.result.connect(self._on_result)

        def make(_token: object) -> Generator[Progress, None, str]:
            from uv_cache_inspector.core.diagnosis.report import markdown

            yield Progress("report")
            return markdown(diagnosis)

        self.text.setPlainText("Writing the report…")
        self.runner.run("report", make)

    def _on_result(self, name: str, value: Any) -> None:
        if name == "report":
            self.text.setPlainText(value)

"""Verify…: every unpacked wheel checked against its RECORD, with progress and cancel; the
changed files with the places that share them; the fix (remove the archives with their links)
and the commands that reinstall the environments that keep the edit. Runs core.verify."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.actions.delete import verify_plan
from uv_cache_inspector.core.diagnosis.verify import (
    ChangedFile,
    ModifiedArchive,
    VerifyReport,
    reinstall_commands,
    verify,
)
from uv_cache_inspector.core.errors import CancelledError
from uv_cache_inspector.core.model import CancelToken, Progress, Snapshot
from uv_cache_inspector.gui.models.lists import Column, ObjectTable
from uv_cache_inspector.gui.models.roles import Role
from uv_cache_inspector.gui.tasks import TaskRunner
from uv_cache_inspector.gui.views.plan_view import PlanPanel

Changed = tuple[ModifiedArchive, ChangedFile]


def _also_in(item: Changed) -> str:
    f = item[1]
    named = [fmt.user_path(p) for p in f.places]
    unnamed = f.links - 1 - len(named)
    if unnamed > 0:
        named.append(f"{unnamed} more in environments not checked")
    return ", ".join(named)


COLUMNS: list[Column[Changed]] = [
    Column("Package", lambda i: i[0].label()),
    Column("File", lambda i: i[1].path),
    Column("Change", lambda i: f"{i[1].change}: {i[1].detail}"),
    Column("Links", lambda i: str(i[1].links), sort=lambda i: i[1].links, right=True),
    Column("Also in", _also_in),
]


class VerifyDialog(QDialog):
    verified = Signal(object)  # the VerifyReport, once a run is complete

    def __init__(
        self, snapshot: Snapshot, venvs: Sequence[str] = (), parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Verify the cache's contents")
        self.resize(1000, 760)
        self.snapshot = snapshot
        self.venvs = tuple(venvs)
        self.report: VerifyReport | None = None
        self.runner = TaskRunner(self)
        lay = QVBoxLayout(self)
        intro = QLabel(
            "Checks every unpacked wheel in the cache against its RECORD (sha256 and size). "
            "uv installs by hard links, so a file edited in place in an environment is the "
            "cache's file too, and every later install of that version gets the edit. Files "
            "unchanged since the last verify are not hashed again.",
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        row = QHBoxLayout()
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        row.addWidget(self.progress, 1)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel the verify")
        self.cancel_button.clicked.connect(lambda: self.runner.cancel("verify"))
        row.addWidget(self.cancel_button)
        self.again = QPushButton("Verify again", self)
        self.again.clicked.connect(self.start)
        self.again.hide()
        row.addWidget(self.again)
        lay.addLayout(row)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        f = self.summary.font()
        f.setBold(True)
        self.summary.setFont(f)
        lay.addWidget(self.summary)
        self.model: ObjectTable[Changed] = ObjectTable(COLUMNS, lambda _i: "error", self)
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.model)
        proxy.setSortRole(Role.SORT)
        self.table = QTableView(self)
        self.table.setModel(proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setAccessibleName("Changed files")
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(self.fontMetrics().height() * 8)
        lay.addWidget(self.table, 3)
        self.notes = QLabel(self)
        self.notes.setWordWrap(True)
        lay.addWidget(self.notes)
        self.fix = QWidget(self)
        fl = QVBoxLayout(self.fix)
        fl.setContentsMargins(0, 0, 0, 0)
        title = QLabel(
            "<b>Make the next install pristine:</b> remove the changed archives with the links "
            "that name them (links first, so uv can use the cache at every instant); uv then "
            "unpacks a fresh copy.",
            self.fix,
        )
        title.setWordWrap(True)
        fl.addWidget(title)
        self.panel = PlanPanel(self.runner, self.fix)
        fl.addWidget(self.panel, 2)
        keep = QLabel(
            "The environments that share the edited files keep them until reinstalled:",
            self.fix,
        )
        keep.setWordWrap(True)
        fl.addWidget(keep)
        self.commands = QPlainTextEdit(self.fix)
        self.commands.setReadOnly(True)
        self.commands.setMaximumHeight(80)
        self.commands.setAccessibleName("Reinstall commands")
        fl.addWidget(self.commands)
        copy = QPushButton("Copy the commands", self.fix)
        copy.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.commands.toPlainText())
        )
        fl.addWidget(copy, 0, Qt.AlignmentFlag.AlignRight)
        self.fix.hide()
        lay.addWidget(self.fix, 3)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.runner.progress.connect(self._on_progress)
        self.runner.result.connect(self._on_result)
        self.runner.error.connect(self._on_error)
        self.start()

    def start(self) -> None:
        snap, venvs = self.snapshot, self.venvs

        def run(token: CancelToken) -> Generator[Progress, None, VerifyReport]:
            return (yield from verify(snap.root, snapshot=snap, venvs=venvs, cancel=token))

        self.again.hide()
        self.cancel_button.show()
        self.progress.show()
        self.progress.setValue(0)
        self.status.setText("Verifying…")
        self.runner.run("verify", run)

    def _on_progress(self, name: str, p: Progress) -> None:
        if name != "verify":
            return
        frac = p.fraction
        if p.phase == "verifying" and frac is not None:
            self.progress.setValue(int(frac * 1000))
            self.status.setText(f"Verifying… {fmt.size(p.bytes)} hashed {p.message}".rstrip())

    def _on_result(self, name: str, report: Any) -> None:
        if name != "verify":
            return
        self.report = report
        self.progress.hide()
        self.cancel_button.hide()
        self.again.show()
        n = len(report.modified)
        self.status.setText(
            f"{report.verified:,} unpacked wheels, {report.files:,} files: {report.hashed:,} "
            f"hashed ({fmt.size(report.hashed_bytes)}), {report.reused:,} unchanged since the "
            f"last verify; {report.duration:.1f} s."
        )
        if n:
            self.summary.setText(
                f"{n} archive{'s' if n != 1 else ''} changed after uv unpacked "
                f"{'them' if n != 1 else 'it'}: every new install gets the change."
            )
        else:
            self.summary.setText("No archive differs from its RECORD.")
        self.model.set_items([(m, f) for m in report.modified for f in m.files])
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        reasons: dict[str, int] = {}
        for u in report.cannot_verify:
            reasons[u.reason] = reasons.get(u.reason, 0) + 1
        self.notes.setText(
            "\n".join(f"Cannot verify {k:,}: {r}." for r, k in sorted(reasons.items()))
        )
        if n:
            self.panel.set_plan(verify_plan(self.snapshot, report.modified))
            self.commands.setPlainText("\n".join(reinstall_commands(report.modified)))
            self.fix.show()
        else:
            self.fix.hide()
        self.verified.emit(report)

    def _on_error(self, name: str, exc: object, _tb: str) -> None:
        if name != "verify":
            return
        self.progress.hide()
        self.cancel_button.hide()
        self.again.show()
        if isinstance(exc, CancelledError):
            self.status.setText("Cancelled; nothing was remembered.")
        else:
            self.status.setText(f"The verify failed: {exc}")

    def reject(self) -> None:
        self.runner.cancel("verify")
        super().reject()

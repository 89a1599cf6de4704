"""The health banner: the cause in plain words, and the fix one click away."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.model import Finding, Severity
from uv_cache_inspector.gui.style import banner_color, severity_color
from uv_cache_inspector.gui.wording import PRUNE, REPAIR, fix_kind, window_fix

MAX_ROWS = 4
QWIDGETSIZE_MAX = (1 << 24) - 1


def headline(findings: Sequence[Finding]) -> tuple[str, str]:
    """(severity, one sentence) for the top of the window."""
    errors = [f for f in findings if f.severity is Severity.ERROR]
    warnings = [f for f in findings if f.severity is Severity.WARNING]
    if errors:
        first = errors[0]
        where = _where(first)
        d = first.details
        text = {
            F.FOREIGN_OWNER: (
                f"uv cannot write to this cache: {where} belongs to "
                f"{d.get('owner', 'another user')} and uv runs as {d.get('uv_user', 'you')}."
            ),
            F.PERMISSION_DENIED: (
                f"uv cannot write to this cache: {where} is not writable for "
                f"{d.get('uv_user', 'you')} (mode {d.get('mode', '?')})."
            ),
            F.READ_ONLY_FILESYSTEM: "uv cannot write to this cache: its disk is read-only.",
            F.CROSS_DEVICE: "uv cannot write to this cache: part of it is on another disk.",
            F.LOW_DISK_SPACE: "uv is about to run out of disk space.",
            F.NOT_A_UV_CACHE: "This folder is not a uv cache.",
            F.MODIFIED_ARCHIVE: (
                "An edit leaked into the cache: "
                f"{d.get('package') or 'an archive'}"
                f"{' ' + str(d['version']) if d.get('version') else ''}"
                " was changed after uv unpacked it, and every new install of it gets the change."
            ),
        }.get(first.code, "uv cannot use this cache as it is.")
        more = f" ({len(errors)} problems)" if len(errors) > 1 else ""
        return "error", text + more
    # Leftovers that take space but never stop uv (the registry's housekeeping codes): the
    # headline does not call them a danger ("uv works, but 1 thing here can break it"
    # overstated one orphaned folder).
    risks = [f for f in warnings if f.code not in F.HOUSEKEEPING]
    tidy = [f for f in warnings if f.code in F.HOUSEKEEPING]
    if risks:
        text = f"uv works, but {fmt.plural(len(risks), 'thing')} here can break it."
        if tidy:
            text += f" ({_tidy_phrase(tidy)}.)"
        return "warning", text
    if tidy:
        return "warning", f"uv can use this cache. {_tidy_phrase(tidy)}."
    return "ok", "uv can use this cache."


def _tidy_phrase(tidy: Sequence[Finding]) -> str:
    """'1 temporary folder left by an interrupted uv run can go' and the like, joined."""
    parts = []
    orphans = [f for f in tidy if f.code == F.ORPHANED_TMP]
    if orphans:
        n = len(orphans)
        parts.append(
            f"{fmt.plural(n, 'temporary folder')} left by "
            f"{'an interrupted uv run' if n == 1 else 'interrupted uv runs'} can go"
        )
    stale = [f for f in tidy if f.code == F.STALE_BUCKET]
    if stale:
        parts.append(f"{fmt.plural(len(stale), 'bucket')} of older uv versions can be pruned")
    unref = [f for f in tidy if f.code == F.UNREFERENCED_ARCHIVE]
    if unref:
        parts.append(f"{fmt.size(sum(f.bytes for f in unref))} that nothing uses can be pruned")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _where(f: Finding) -> str:
    """The short name a finding's message starts with ('archive-v0', 'the cache directory')."""
    head = f.message.split(":", 1)[0]
    return head.split(" (", 1)[0] or "a folder"


def _group(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings of one code shown as one line (three orphaned folders are one fix), the most
    severe first, each line led by its most severe finding."""
    by_code: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=F.severity_rank):
        if f.severity is not Severity.INFO:
            by_code.setdefault(f.code, []).append(f)
    return list(by_code.items())


def _label_for(code: str, items: list[Finding]) -> tuple[str, str] | None:
    kind = fix_kind(items[0]) if items else None
    if code == F.ORPHANED_TMP and kind:
        size = sum(f.bytes for f in items)
        return "repair", (
            f"Remove {fmt.plural(len(items), 'orphaned temporary folder')}"
            + (f" ({fmt.size(size)})" if size else "")
        )
    if code == F.MODIFIED_ARCHIVE:
        return "verify", "Verify and fix…"
    if kind == "repair":
        return "repair", REPAIR
    if kind == "prune":
        return "prune", PRUNE
    fix = window_fix(items[0]) if items else None
    if fix and "`" in fix:
        return "copy", "Copy the command"
    return None


class Banner(QFrame):
    action = Signal(str, object)  # ("repair" | "prune" | "verify" | "copy" | "all", findings)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setAccessibleName("Cache health")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(14, 10, 14, 10)
        self._layout.setSpacing(6)
        self.title = QLabel(self)
        self.title.setObjectName("bannerTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.35)
        f.setBold(True)
        self.title.setFont(f)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        self._layout.addLayout(header)
        self.rows = QGridLayout()
        self.rows.setHorizontalSpacing(12)
        self.rows.setVerticalSpacing(8)
        self.rows.setColumnStretch(1, 1)
        self._layout.addLayout(self.rows)
        self.more = QPushButton("Show all findings…", self)
        self.more.setFlat(True)
        self.more.setAccessibleName("Show all findings")
        self.more.clicked.connect(lambda: self.action.emit("all", self._findings))
        header.addWidget(self.more, 0, Qt.AlignmentFlag.AlignTop)
        self._findings: list[Finding] = []
        self.set_message("info", "Looking at the cache…")

    def set_message(self, severity: str, text: str) -> None:
        self._clear_rows()
        self._paint(severity)
        self.title.setText(text)
        self.more.hide()
        self._refit()

    def set_findings(self, findings: Sequence[Finding], summary: str = "") -> None:
        self._findings = list(findings)
        severity, text = headline(findings)
        self._paint(severity)
        self.title.setText(text if severity != "ok" or not summary else f"{text} {summary}")
        self._clear_rows()
        groups = _group(findings)
        for i, (code, items) in enumerate(groups[:MAX_ROWS]):
            self._row(i, code, items)
        shown = sum(len(i) for _, i in groups[:MAX_ROWS])
        notes = sum(1 for f in findings if f.severity is Severity.INFO)
        self.more.setVisible(bool(findings))
        if len(findings) > shown and shown:
            self.more.setText(f"Show all {len(findings)} findings…")
        elif notes and not shown:
            self.more.setText(f"Show {notes} note{'s' if notes != 1 else ''}…")
        else:
            self.more.setText("Details…")
        self._refit()

    def _paint(self, severity: str) -> None:
        bg = banner_color(severity)
        fg = severity_color(severity)
        self.setStyleSheet(
            f"QFrame#banner {{ background: {bg.name()}; border: 1px solid {fg.name()}; "
            f"border-radius: 6px; }} QLabel#bannerTitle {{ color: {fg.name()}; }}"
        )

    def _clear_rows(self) -> None:
        while self.rows.count():
            item = self.rows.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()

    def _row(self, row: int, code: str, items: list[Finding]) -> None:
        first = items[0]
        top = Qt.AlignmentFlag.AlignTop
        tag = QLabel(first.severity.value.upper(), self)
        tag.setStyleSheet(
            f"color: {severity_color(first.severity.value).name()}; font-weight: bold;"
        )
        self.rows.addWidget(tag, row, 0, top)
        text = first.message
        if len(items) > 1:
            text += f"  (and {len(items) - 1} more like it)"
        body = QLabel(self)
        body.setWordWrap(True)
        body.setTextFormat(Qt.TextFormat.PlainText)
        fix = window_fix(first)
        body.setText(text + (f"\nFix: {fix}" if fix else ""))
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rows.addWidget(body, row, 1, top)
        what = _label_for(code, items)
        if what is not None:
            kind, label = what
            btn = QPushButton(label, self)
            btn.setAccessibleName(label)
            btn.clicked.connect(lambda _=False, k=kind, it=items: self.action.emit(k, it))
            self.rows.addWidget(btn, row, 2, top | Qt.AlignmentFlag.AlignRight)

    def resizeEvent(self, event: QResizeEvent) -> None:
        # Word-wrapped labels report their height for a guessed width; cap the banner at the
        # height it needs for the width it really has, so no empty band opens below the text.
        super().resizeEvent(event)
        self._fit()

    def _refit(self) -> None:
        # New rows are shown (and so counted by the layout) only once the event loop runs.
        self.setMaximumHeight(QWIDGETSIZE_MAX)
        QTimer.singleShot(0, self._fit)

    def _fit(self) -> None:
        lay = self.layout()
        if lay is None:
            return
        lay.invalidate()
        need = lay.heightForWidth(self.width()) if lay.hasHeightForWidth() else -1
        if need > 0:
            need += self.fontMetrics().height() // 2  # the labels' own rounding, and air
        if need > 0 and self.maximumHeight() != need:
            self.setMaximumHeight(need)

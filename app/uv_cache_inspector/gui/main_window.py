"""The main window: composition only. What it shows and does comes from the core.

One task ("inspect") locates the cache, streams the diagnosis (findings reach the banner as they
are found, before the full scan is done), and builds the inventory in the worker thread; the
window then only fills its models. The watcher's batches update rows one by one; when uv lets go
of the lock, a fresh inspection follows.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Generator
from typing import Any

# core.fmt imports humanize on first use (the CLI starts faster without it); the window would
# then import it in the GUI thread on the first progress report, while the scan competes for
# the interpreter: a 30-70 ms freeze measured by tests/benchmarks/bench_gui_stall.py --trace.
import humanize  # noqa: F401
from PySide6.QtCore import QModelIndex, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector import __version__
from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.context import CacheContext, make_context
from uv_cache_inspector.core.cache.inventory import Inventory, Row, build
from uv_cache_inspector.core.diagnosis.engine import Diagnosis, diagnose
from uv_cache_inspector.core.errors import CacheNotFoundError, CancelledError, InspectorError
from uv_cache_inspector.core.model import CancelToken, Finding, Progress
from uv_cache_inspector.core.watch import WatchEvent
from uv_cache_inspector.gui.models.buckets import BucketTreeModel
from uv_cache_inspector.gui.models.entries import (
    COL_FILES,
    COL_LAST_USED,
    COL_OWNER,
    COL_PACKAGE,
    COL_SIZE,
    COL_SOURCE,
    COL_STATE,
    COL_VERSION,
    EntryFilter,
    EntryTableModel,
    sort_rows,
)
from uv_cache_inspector.gui.models.roles import Role
from uv_cache_inspector.gui.style import app_icon
from uv_cache_inspector.gui.tasks import TaskRunner
from uv_cache_inspector.gui.views.banner import Banner
from uv_cache_inspector.gui.views.details import Details
from uv_cache_inspector.gui.views.treemap import Treemap
from uv_cache_inspector.gui.watcher import GuiWatcher
from uv_cache_inspector.gui.wording import fix_kind, window_fix

MAX_RECENT = 8
WATCH_START_DELAY_MS = 300  # after the filled table's first paint (see _start_watch)


def _shortcut_label() -> str:
    import sys

    if sys.platform.startswith("win"):
        return "Add to the Start &menu"
    if sys.platform == "darwin":
        return "Add to &Applications"
    return "Add to the application &menu"


class MainWindow(QMainWindow):
    inspected = Signal()  # after each full inspection (used by --screenshot and tests)

    def __init__(self, cache_dir: str | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("uv-cache-inspector", "uv Cache Inspector")
        self.cache_dir = cache_dir
        self.ctx: CacheContext | None = None
        self.diagnosis: Diagnosis | None = None
        self.inventory: Inventory | None = None
        self.streamed: list[Finding] = []
        self._looking_again = False
        self._watch_pending: str | None = None
        self.runner = TaskRunner(self)
        self.watcher = GuiWatcher(self)
        self.setWindowTitle("uv Cache Inspector")
        self.setWindowIcon(app_icon())
        self._build_widgets()
        self._build_actions()
        self._connect()
        self._restore()
        self._rescan_timer = QTimer(self)
        self._rescan_timer.setSingleShot(True)
        self._rescan_timer.setInterval(1500)
        self._rescan_timer.timeout.connect(self.rescan)
        QTimer.singleShot(0, self.rescan)

    # -- widgets ------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.stack = QStackedWidget(self)
        self.setCentralWidget(self.stack)
        main = QWidget(self)
        outer = QVBoxLayout(main)
        outer.setContentsMargins(8, 8, 8, 4)
        self.banner = Banner(main)
        outer.addWidget(self.banner)

        self.tree_model = BucketTreeModel(self)
        self.tree = QTreeView(main)
        self.tree.setModel(self.tree_model)
        self.tree.setAccessibleName("Buckets")
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.treemap = Treemap(main)

        self.entries = EntryTableModel(self)
        self.entry_filter = EntryFilter(self.entries, self)  # controls; the model filters
        self.table = QTableView(main)
        self.table.setModel(self.entries)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_SIZE, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        # Widths from the font and the longest usual values, set once: measuring 20,000 rows
        # would freeze the window, and columns that jump at every rescan are hard to read.
        header = self.table.horizontalHeader()
        fm = self.fontMetrics()
        for col, sample in (
            (COL_VERSION, "2024.10.1"),
            (COL_SOURCE, "built from sdist"),
            (COL_SIZE, "1,023.9 MiB"),
            (COL_FILES, "100,000"),
            (COL_OWNER, "nobody"),
            (COL_LAST_USED, "13 minutes ago"),
            (COL_STATE, "foreign owner"),
        ):
            header.resizeSection(col, fm.horizontalAdvance(sample) + 16)
        header.setSectionResizeMode(COL_PACKAGE, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Entries")
        self.filter = QLineEdit(main)
        self.filter.setPlaceholderText("Filter by package, version, state, owner or path (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        self.filter.setAccessibleName("Filter entries")
        self.details = Details(main)

        left = QSplitter(Qt.Orientation.Vertical, main)
        left.addWidget(self.tree)
        left.addWidget(self.treemap)
        left.setSizes([260, 300])
        right_top = QWidget(main)
        rt = QVBoxLayout(right_top)
        rt.setContentsMargins(0, 0, 0, 0)
        rt.addWidget(self.filter)
        rt.addWidget(self.table)
        right = QSplitter(Qt.Orientation.Vertical, main)
        right.addWidget(right_top)
        right.addWidget(self.details)
        right.setSizes([420, 160])
        self.split = QSplitter(Qt.Orientation.Horizontal, main)
        self.split.addWidget(left)
        self.split.addWidget(right)
        self.split.setSizes([420, 780])
        self.left_split, self.right_split = left, right
        outer.addWidget(self.split, 1)
        self.stack.addWidget(main)

        self.empty = QWidget(self)
        el = QVBoxLayout(self.empty)
        el.addStretch(1)
        self.empty_title = QLabel(self.empty)
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        f = self.empty_title.font()
        f.setPointSizeF(f.pointSizeF() * 1.4)
        f.setBold(True)
        self.empty_title.setFont(f)
        self.empty_text = QLabel(self.empty)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setWordWrap(True)
        el.addWidget(self.empty_title)
        el.addWidget(self.empty_text)
        row = QHBoxLayout()
        row.addStretch(1)
        self.empty_open = QPushButton("Open a cache…", self.empty)
        self.empty_retry = QPushButton("Look again", self.empty)
        row.addWidget(self.empty_open)
        row.addWidget(self.empty_retry)
        row.addStretch(1)
        el.addLayout(row)
        el.addStretch(2)
        self.stack.addWidget(self.empty)

        sb = self.statusBar()
        self.status_path = QLabel(self)
        self.status_uv = QLabel(self)
        self.status_lock = QLabel(self)
        self.status_watch = QLabel(self)
        self.status_size = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel the scan")
        self.cancel_button.hide()
        sb.addWidget(self.status_path, 1)
        for w in (self.status_uv, self.status_lock, self.status_watch, self.status_size):
            w.setContentsMargins(10, 0, 10, 0)
            w.setFrameShape(QLabel.Shape.StyledPanel)
            sb.addPermanentWidget(w)
            w.hide()  # shown by _status once there is something to say
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&Cache")
        self.act_open = QAction("&Open cache…", self)
        self.act_open.setShortcut(QKeySequence.StandardKey.Open)
        file.addAction(self.act_open)
        self.recent_menu = file.addMenu("Open &recent")
        self.act_rescan = QAction("&Rescan", self)
        self.act_rescan.setShortcut(QKeySequence(Qt.Key.Key_F5))
        file.addAction(self.act_rescan)
        file.addSeparator()
        self.act_quit = QAction("&Quit", self)
        self.act_quit.setShortcut(QKeySequence.StandardKey.Quit)
        file.addAction(self.act_quit)
        tools = menu.addMenu("&Tools")
        self.act_repair = QAction("&Repair…", self)
        self.act_prune = QAction("&Prune…", self)
        self.act_verify = QAction("&Verify contents…", self)
        self.act_test = QAction("&Test write…", self)
        self.act_explain = QAction("&Explain an error…", self)
        self.act_report = QAction("Re&port for a bug tracker…", self)
        self.act_findings = QAction("All &findings…", self)
        for a in (
            self.act_repair,
            self.act_prune,
            self.act_verify,
            self.act_test,
            self.act_explain,
            self.act_report,
            self.act_findings,
        ):
            tools.addAction(a)
        tools.addSeparator()
        # What needs a cache to act on; greyed out while there is none (Explain and the
        # shortcut work without one).
        self.cache_actions = (
            self.act_repair,
            self.act_prune,
            self.act_test,
            self.act_report,
            self.act_findings,
        )
        self.act_shortcut = QAction(_shortcut_label(), self)
        tools.addAction(self.act_shortcut)
        help_menu = menu.addMenu("&Help")
        self.act_about = QAction("&About", self)
        help_menu.addAction(self.act_about)
        self.act_filter = QAction("Filter", self)
        self.act_filter.setShortcut(QKeySequence.StandardKey.Find)
        self.addAction(self.act_filter)
        self.act_delete = QAction("Delete…", self)
        self.act_delete.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        self.table.addAction(self.act_delete)
        self.act_delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self._fill_recent()

    def _connect(self) -> None:
        r = self.runner
        r.progress.connect(self._on_progress)
        r.item.connect(self._on_item)
        r.result.connect(self._on_result)
        r.error.connect(self._on_error)
        r.finished.connect(self._on_finished)
        self.watcher.changed.connect(self._on_watch)
        self.watcher.failed.connect(
            lambda why: self._status(self.status_watch, f"not watching ({why})")
        )
        self.act_open.triggered.connect(self.choose_cache)
        self.act_rescan.triggered.connect(self.rescan)
        self.act_quit.triggered.connect(self.close)
        self.act_repair.triggered.connect(lambda: self.open_repair(None))
        self.act_prune.triggered.connect(self.open_prune)
        self.act_verify.triggered.connect(self.open_verify)
        self.act_test.triggered.connect(self.open_test_write)
        self.act_explain.triggered.connect(self.open_explain)
        self.act_report.triggered.connect(self.open_report)
        self.act_findings.triggered.connect(self.open_findings)
        self.act_about.triggered.connect(self.about)
        self.act_shortcut.triggered.connect(self.install_shortcut)
        self.act_filter.triggered.connect(self._focus_filter)
        self.act_delete.triggered.connect(self.delete_selected)
        self.filter.textChanged.connect(self.entry_filter.set_text)
        self.tree.selectionModel().currentChanged.connect(self._on_tree)
        self.table.selectionModel().currentChanged.connect(self._on_row)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.treemap.picked.connect(self._on_pick)
        self.banner.action.connect(self._on_banner)
        self.cancel_button.clicked.connect(lambda: self.runner.cancel("inspect"))
        self.empty_open.clicked.connect(self.choose_cache)
        self.empty_retry.clicked.connect(self.rescan)

    # -- inspection ---------------------------------------------------------------------------

    def rescan(self) -> None:
        cache_dir = self.cache_dir
        self.streamed = []
        # A second look at the same cache keeps what the banner says until the new verdict is
        # complete (no flicker, no half-empty banner); a first look says what it is doing.
        self._looking_again = self.diagnosis is not None
        if self._looking_again:
            self.statusBar().showMessage("Looking again…", 3000)
        else:
            self.banner.set_message("info", "Looking at the cache…")
        self.progress.show()
        self.progress.setRange(0, 0)
        self.cancel_button.show()
        # No cyclic garbage collection while the inspection builds its objects: a full one, set
        # off by the scan's allocations, held the interpreter (and so the window) for 40-45 ms
        # (bench_gui_stall.py --trace). The diagnosis makes no reference cycles (measured: none
        # found after dropping one), so nothing piles up; _not_busy() turns collection back on.
        gc.disable()

        order = self.entries.order

        def inspect(token: CancelToken) -> Generator[Any, None, Any]:
            yield Progress("locating")
            ctx = make_context(cache_dir).start()
            yield ctx
            root = ctx.location.path
            if not os.path.isdir(root):
                return ("file" if os.path.lexists(root) else "missing", ctx)
            diag = yield from diagnose(
                root,
                location=ctx.location,
                binaries=lambda: ctx.binaries,
                bucket_set=ctx.bucket_set,
                cancel=token,
                venv=os.environ.get("VIRTUAL_ENV"),
            )
            inv = (
                build(diag.snapshot, diag.findings, bool(diag.lock.held)) if diag.snapshot else None
            )
            if inv is not None and order is not None:
                sort_rows(inv.rows, *order)  # here, not in the GUI thread
            return ("ok", ctx, diag, inv)

        self.runner.run("inspect", inspect)

    def _on_progress(self, name: str, p: Progress) -> None:
        if name != "inspect":
            return
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
        else:
            self.progress.setRange(0, 0)
        if p.bytes:
            self._status(self.status_size, f"{fmt.size(p.bytes)}…")

    def _on_item(self, name: str, item: object) -> None:
        if name != "inspect":
            return
        if isinstance(item, CacheContext):
            self.ctx = item
            self._show_location(item)
        elif isinstance(item, Finding):
            self.streamed = [f for f in self.streamed if (f.code, f.path) != (item.code, item.path)]
            self.streamed.append(item)
            self.streamed.sort(key=F.severity_rank)
            if not self._looking_again:
                self.banner.set_findings(self.streamed)

    def _on_result(self, name: str, value: Any) -> None:
        if name != "inspect":
            return
        self._not_busy()  # before `inspected`: the runner's `finished` comes after this
        if value[0] in {"missing", "file"}:
            self._show_empty(value[1], is_file=value[0] == "file")
            self.inspected.emit()
        else:
            _, ctx, diag, inv = value
            self._show(ctx, diag, inv)  # emits `inspected` once everything is on screen

    def _on_error(self, name: str, exc: object, tb: str) -> None:
        if name != "inspect":
            return
        self._not_busy()
        if isinstance(exc, CancelledError):
            self.banner.set_message("info", "Scan cancelled. Press F5 to look again.")
        elif isinstance(exc, CacheNotFoundError) and self.ctx is not None:
            self._show_empty(self.ctx, is_file=os.path.lexists(self.ctx.location.path))
        elif isinstance(exc, InspectorError):
            self.banner.set_message("error", str(exc))
        else:
            self.banner.set_message("error", f"The inspection failed unexpectedly: {exc}")
            QMessageBox.critical(self, "uv Cache Inspector", f"{exc}\n\n{tb}")
        self.inspected.emit()

    def _on_finished(self, name: str) -> None:
        if name == "inspect":
            self._not_busy()

    def _not_busy(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        if not gc.isenabled():
            # What exists now lives long (the snapshot, the rows): out of the collector's way,
            # so that later full collections do not walk it all again.
            gc.freeze()
            gc.enable()

    def _show_location(self, ctx: CacheContext) -> None:
        loc = ctx.location
        self.status_path.setText(f"{fmt.user_path(loc.path)} — {loc.detail}")
        self.status_path.setToolTip(loc.disagreement or loc.detail)
        self.setWindowTitle(f"{fmt.user_path(loc.path)} — uv Cache Inspector")

    def _status(self, label: QLabel, text: str) -> None:
        """A status-bar box: shown with its text, hidden when there is nothing to say."""
        label.setText(text)
        label.setVisible(bool(text))

    def _set_cache_actions(self, enabled: bool) -> None:
        for act in self.cache_actions:
            act.setEnabled(enabled)

    def _show_empty(self, ctx: CacheContext, *, is_file: bool = False) -> None:
        self._watch_pending = None
        self.watcher.stop()
        self.diagnosis, self.inventory = None, None
        self._set_cache_actions(False)
        self.stack.setCurrentWidget(self.empty)
        where = fmt.user_path(ctx.location.path)
        if is_file:
            self.empty_title.setText(f"{where} is a file, not a cache folder")
            self.empty_text.setText(
                f"{ctx.location.detail}. uv keeps its cache in a folder, and stops with an "
                "error while a file has that name: move the file away (uv then makes the "
                "folder on its next install), or open another folder."
            )
        else:
            self.empty_title.setText(f"uv has not created a cache at {where}")
            self.empty_text.setText(
                f"{ctx.location.detail}. uv makes it on its first install; then come back, or "
                "open another folder."
            )
        self.banner.set_message("info", "No cache to look at.")
        versions = sorted({b.version_str for b in ctx.binaries if b.version})
        self._status(self.status_uv, "uv " + ", ".join(versions) if versions else "uv not found")
        for label in (self.status_lock, self.status_watch, self.status_size):
            self._status(label, "")

    def _show(self, ctx: CacheContext, diag: Diagnosis, inv: Inventory | None) -> None:
        self.stack.setCurrentIndex(0)
        self.ctx, self.diagnosis, self.inventory = ctx, diag, inv
        self._set_cache_actions(True)
        self._remember(ctx.location.path)
        snap = diag.snapshot
        summary = ""
        if snap is not None:
            unref = sum(a.reclaimable_bytes for a in snap.archives if not a.referenced)
            summary = f"{fmt.size(snap.total_bytes)} in {fmt.plural(len(snap.archives), 'archive')}"
            summary += f"; {fmt.size(unref)} can be pruned." if unref else "."
            self._status(self.status_size, fmt.size(snap.total_bytes))
        self.banner.set_findings(diag.findings, summary)
        if inv is not None:
            # Filled in steps, each its own turn of the event loop, so that the window keeps
            # painting and answering between them on a cache of 20,000 entries.
            def tree() -> None:
                current = self.entry_filter.group
                self.tree_model.set_tree(inv.tree)
                self.tree.expandToDepth(0)
                idx = self.tree_model.find(current or "archive-v0")
                if idx.isValid():
                    self.tree.setCurrentIndex(idx)

            self._in_steps(
                tree,
                lambda: self.entries.set_rows(inv.rows, presorted=True),
                lambda: self._fit_version_column(inv.rows),
                self._refresh_details,
                lambda: self.treemap.set_groups(inv.groups),
                lambda: self._start_watch(diag.real_root),
                self.inspected.emit,
            )
        else:
            self._start_watch(diag.real_root)
            self.inspected.emit()
        versions = sorted({b.version_str for b in ctx.binaries if b.version})
        self._status(self.status_uv, "uv " + ", ".join(versions) if versions else "uv not found")
        self._show_lock(diag.lock.describe())

    def _fit_version_column(self, rows: list[Row]) -> None:
        """Wide enough for the longest versions there are ("2026.10.31.post1"), not a guess:
        measured on the few longest strings only, never on 20,000 rows."""
        longest = sorted({r.version for r in rows}, key=len)[-8:]
        fm = self.fontMetrics()
        need = max([fm.horizontalAdvance(v) for v in longest] + [fm.horizontalAdvance("Version")])
        header = self.table.horizontalHeader()
        header.resizeSection(COL_VERSION, min(need + 24, 260))

    def _refresh_details(self) -> None:
        """After a rescan, the details pane shows the selected entry as it is now (a link
        deleted meanwhile is gone from "Linked from"), or says that it is gone."""
        shown = self.details.key
        if not shown:
            return
        row = self.entries.find(shown)
        at = self.entries.position(shown)
        if row is None:
            self.details.show_gone(shown)
        elif at is not None:  # selected again; the table's current row shows in the details
            self.table.setCurrentIndex(self.entries.index(at, 0))
            self.details.show_row(row, self.inventory)
        else:
            self.details.show_row(row, self.inventory)

    def _in_steps(self, *steps: Callable[[], object]) -> None:
        """Run each step in its own turn of the event loop (paints and input come between)."""
        if steps:
            steps[0]()
            QTimer.singleShot(1, lambda: self._in_steps(*steps[1:]))

    def _start_watch(self, root: str) -> None:
        # Last, once the filled table has been painted: setting up the watch lists thousands of
        # folders in a thread, and while it runs every call the painting makes into Python waits
        # its turn for the interpreter (a 50-60 ms freeze when both ran at once).
        if not self.watcher.active or self.watcher.root != root:
            self._status(self.status_watch, "starting the live watch…")
            self._watch_pending = root
            QTimer.singleShot(WATCH_START_DELAY_MS, lambda: self._start_watch_now(root))

    def _start_watch_now(self, root: str) -> None:
        if self._watch_pending != root:
            return  # another cache was opened, or the folder went away, in the meantime
        self._watch_pending = None
        if not self.watcher.active or self.watcher.root != root:
            self.watcher.start(root)

    def _show_lock(self, text: str) -> None:
        self._status(self.status_lock, f"lock: {text}")

    # -- live watch ----------------------------------------------------------------------------

    def _on_watch(self, batch: list[WatchEvent]) -> None:
        self._apply_watch(batch)
        if any(ev.event in {"tmp-created", "tmp-left-behind", "archive-added"} for ev in batch):
            self.entries.resort()

    def _apply_watch(self, batch: list[WatchEvent]) -> None:
        for ev in batch:
            if ev.event == "ready":
                n = int(ev.detail.get("watches", 0))
                self._status(self.status_watch, f"watching {fmt.plural(n, 'folder')}")
            elif ev.event == "overflow":
                self._status(
                    self.status_watch, "watching (partly: too many folders; F5 to refresh)"
                )
            elif ev.event == "lock-taken":
                holders = ", ".join(ev.detail.get("holders") or []) or "a uv process"
                self._show_lock(f"in use by {holders}")
            elif ev.event == "lock-released":
                self._show_lock("free")
                self._rescan_timer.start()  # uv finished: look again
            elif ev.event in {"tmp-created", "tmp-left-behind"}:
                state = "in progress" if ev.event == "tmp-created" else "left behind"
                self.entries.upsert(
                    Row(
                        key=ev.path,
                        kind="tmp",
                        package=os.path.basename(ev.path),
                        version="",
                        bytes=0,
                        files=0,
                        owner="",
                        last_used=None,
                        state=state,
                        bucket=str(ev.detail.get("location", "root")),
                        group="tmp",
                    )
                )
            elif ev.event in {"tmp-removed", "archive-removed", "entry-removed"}:
                self.entries.remove(ev.path)
            elif ev.event == "archive-added":
                self.entries.upsert(
                    Row(
                        key=ev.path,
                        kind="archive",
                        package=str(ev.detail.get("package") or "(new)"),
                        version=str(ev.detail.get("version") or ""),
                        bytes=0,
                        files=0,
                        owner="",
                        last_used=time.time(),
                        state="new",
                        bucket="archive-v0",
                        group="archive-v0",
                        archive_id=str(ev.detail.get("id")),
                    )
                )
            elif ev.event == "foreign-owner":
                self.banner.set_message(
                    "warning",
                    f"{os.path.basename(ev.path)} just appeared owned by uid "
                    f"{ev.detail.get('uid')}: was uv run with sudo? Rescanning…",
                )
                self._rescan_timer.start()

    # -- selection -------------------------------------------------------------------------------

    def _on_tree(self, current: QModelIndex, _previous: QModelIndex) -> None:
        key = self.tree_model.node(current).key if current.isValid() else ""
        self.entry_filter.set_group(key)
        self.treemap.select(None)

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.data(Role.OBJECT) if current.isValid() else None
        if isinstance(row, Row):
            self.details.show_row(row, self.inventory)
        else:
            self.details.show_hint()

    def _on_pick(self, group: str, label: str) -> None:
        idx = self.tree_model.find(group)
        if idx.isValid():
            self.tree.setCurrentIndex(idx)
        if group == "archive-v0" and label:
            self.entry_filter.set_package(label)
        self.treemap.select(f"{group}/{label}" if label else group)

    def selected_rows(self) -> list[Row]:
        rows = []
        for idx in self.table.selectionModel().selectedRows():
            r = idx.data(Role.OBJECT)
            if isinstance(r, Row):
                rows.append(r)
        return rows

    def _context_menu(self, pos: Any) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        menu = QMenu(self)
        reveal = menu.addAction("Show in file manager")
        copy = menu.addAction("Copy path")
        menu.addSeparator()
        delete = menu.addAction("Delete…")
        chosen = menu.exec(self.table.viewport().mapToGlobal(pos))
        if chosen is reveal:
            QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(rows[0].key)))
        elif chosen is copy:
            QGuiApplication.clipboard().setText("\n".join(r.key for r in rows))
        elif chosen is delete:
            self.delete_selected()

    def _focus_filter(self) -> None:
        self.filter.setFocus()
        self.filter.selectAll()

    # -- dialogs ---------------------------------------------------------------------------------

    def _need_diagnosis(self) -> bool:
        if self.diagnosis is None or self.diagnosis.snapshot is None:
            text = (
                "The cache has not been read yet; wait for the scan."
                if self.runner.busy("inspect")
                else "There is no cache read to act on. Press F5 to look again, or open a cache."
            )
            QMessageBox.information(self, "uv Cache Inspector", text)
            return False
        return True

    def _after_apply(self, _results: object) -> None:
        self._rescan_timer.start()

    def open_repair(self, findings: list[Finding] | None) -> None:
        if not self._need_diagnosis():
            return
        from uv_cache_inspector.gui.views.repair_dialog import RepairDialog

        assert self.diagnosis is not None
        dlg = RepairDialog(self.diagnosis, findings, self)
        dlg.panel.applied.connect(self._after_apply)
        dlg.exec()

    def open_prune(self) -> None:
        if not self._need_diagnosis():
            return
        from uv_cache_inspector.gui.views.prune_dialog import PruneDialog

        assert self.diagnosis is not None
        assert self.diagnosis.snapshot is not None
        dlg = PruneDialog(self.diagnosis.snapshot, self.diagnosis.bucket_set, self)
        dlg.panel.applied.connect(self._after_apply)
        dlg.exec()

    def open_verify(self) -> None:
        """Tools → Verify contents: core.verify in a dialog; afterwards the window looks again,
        so the banner and the table say which archives were modified."""
        if not self._need_diagnosis():
            return
        from uv_cache_inspector.gui.views.verify_dialog import VerifyDialog

        assert self.diagnosis is not None
        assert self.diagnosis.snapshot is not None
        venvs = [v for v in [os.environ.get("VIRTUAL_ENV")] if v]
        dlg = VerifyDialog(self.diagnosis.snapshot, venvs, self)
        dlg.verified.connect(lambda _report: self._rescan_timer.start())
        dlg.panel.applied.connect(self._after_apply)
        dlg.exec()

    def delete_selected(self) -> None:
        rows = self.selected_rows()
        if not rows or not self._need_diagnosis():
            return
        from PySide6.QtWidgets import QDialog, QDialogButtonBox

        from uv_cache_inspector.core import operations as ops
        from uv_cache_inspector.gui.views.plan_view import PlanPanel

        assert self.diagnosis is not None
        assert self.diagnosis.snapshot is not None
        # The same plan `uvci` would make (core.operations); while uv runs it is made only when
        # asked for, from the panel's "Go on while uv runs".
        plan, _ = ops.delete(self.diagnosis.snapshot, [r.key for r in rows])
        dlg = QDialog(self)
        dlg.setWindowTitle("Delete from the cache")
        dlg.resize(760, 380)
        lay = QVBoxLayout(dlg)
        runner = TaskRunner(dlg)
        panel = PlanPanel(runner, dlg)
        panel.set_plan(plan)
        panel.applied.connect(self._after_apply)
        snap, keys = self.diagnosis.snapshot, [r.key for r in rows]

        def plan_guarded(_token: object) -> Generator[Progress, None, Any]:
            yield Progress("planning")  # the process sweep runs here, off the GUI thread
            situation = ops.lock_situation(snap.real_root)
            guarded, guard = ops.delete(snap, keys, situation, while_in_use=True)
            return guarded, guard, situation.notice()

        def planned(name: str, result: Any) -> None:
            if name == "plan":
                guarded, guard, notice = result
                panel.set_plan(guarded, guard=guard, notice=notice)

        runner.result.connect(planned)
        panel.want_while_in_use.connect(lambda: runner.run("plan", plan_guarded))
        lay.addWidget(panel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
        buttons.rejected.connect(dlg.reject)
        lay.addWidget(buttons)
        dlg.exec()

    def open_test_write(self) -> None:
        if self.ctx is None:
            return
        from uv_cache_inspector.gui.views.testwrite_dialog import TestWriteDialog

        newest = self.ctx.newest_uv
        fixes = [
            f
            for f in (self.diagnosis.findings if self.diagnosis else [])
            if fix_kind(f) == "repair" and f.code != F.ORPHANED_TMP
        ]
        dlg = TestWriteDialog(
            self.ctx.location.path, newest.path if newest else None, self, fixes=fixes
        )
        wanted: list[tuple[str, list[Finding]]] = []
        dlg.fix.connect(lambda kind, found: wanted.append((kind, found)))
        dlg.exec()
        if wanted:
            self._fix_found(*wanted[0])

    def open_explain(self) -> None:
        if self.ctx is None:
            return
        from uv_cache_inspector.gui.views.explain_dialog import ExplainDialog

        # Users come here right after uv failed, with its message often still on the clipboard.
        copied = QGuiApplication.clipboard().text()
        looks_like_uv = "os error" in copied or "Failed to" in copied or "failed to" in copied
        dlg = ExplainDialog(self.ctx.location.path, None, copied if looks_like_uv else "", self)
        wanted: list[tuple[str, list[Finding]]] = []
        dlg.fix.connect(lambda kind, found: wanted.append((kind, found)))
        dlg.exec()
        if wanted:  # after the dialog is gone: one modal dialog at a time
            self._fix_found(*wanted[0])

    def _fix_found(self, kind: str, found: list[Finding]) -> None:
        """ "Fix it" in Explain or Test write: the window's Repair (or Prune) for the current
        findings about the same places; all repairable ones when none matches."""
        if kind == "prune":
            self.open_prune()
            return
        if self.diagnosis is None:
            self._need_diagnosis()
            return
        sep = os.sep

        def related(a: str | None, b: str | None) -> bool:
            return bool(a and b) and (
                a == b or str(a).startswith(f"{b}{sep}") or str(b).startswith(f"{a}{sep}")
            )

        mine = [
            f
            for f in self.diagnosis.findings
            if fix_kind(f) == "repair" and any(related(f.path, g.path) for g in found)
        ]
        self.open_repair(mine or None)

    def open_report(self) -> None:
        if not self._need_diagnosis():
            return
        from uv_cache_inspector.gui.views.report_dialog import ReportDialog

        assert self.diagnosis is not None
        ReportDialog(self.diagnosis, self).exec()

    def open_findings(self) -> None:
        if self.diagnosis is None:
            return
        from uv_cache_inspector.gui.views.findings_dialog import FindingsDialog

        FindingsDialog(self.diagnosis.findings, self.diagnosis.real_root, self).exec()

    def _on_banner(self, kind: str, findings: list[Finding]) -> None:
        if kind == "repair":
            self.open_repair(findings)
        elif kind == "prune":
            self.open_prune()
        elif kind == "verify":
            self.open_verify()
        elif kind == "copy" and findings and window_fix(findings[0]):
            fix = window_fix(findings[0]) or ""
            cmd = fix.split("`")[1] if fix.count("`") >= 2 else fix
            QGuiApplication.clipboard().setText(cmd)
            self.statusBar().showMessage(f"Copied: {cmd}", 5000)
        else:
            self.open_findings()

    def install_shortcut(self) -> None:
        """Tools → Add to the application menu: what `uvci install-shortcut` does."""

        def run(_token: CancelToken) -> Generator[Progress, None, Any]:
            from uv_cache_inspector.core.platform import shortcut

            yield Progress("writing the shortcut")
            return shortcut.install()

        runner = TaskRunner(self)
        runner.result.connect(
            lambda _n, done: QMessageBox.information(self, "uv Cache Inspector", done.summary())
        )
        runner.error.connect(
            lambda _n, exc, _tb: QMessageBox.warning(
                self, "uv Cache Inspector", f"The shortcut was not added: {exc}"
            )
        )
        runner.run("shortcut", run)

    def about(self) -> None:
        QMessageBox.about(
            self,
            "uv Cache Inspector",
            f"<b>uv Cache Inspector {__version__}</b><p>See what is inside uv's "
            "package cache, find out why it broke, and fix it safely.</p>",
        )

    # -- cache choice and settings ------------------------------------------------------------

    def choose_cache(self) -> None:
        start = self.ctx.location.path if self.ctx else os.path.expanduser("~")
        path = QFileDialog.getExistingDirectory(self, "Open a uv cache", start)
        if path:
            self.open_cache(path)

    def open_cache(self, path: str) -> None:
        self.cache_dir = path
        self.diagnosis = None  # another cache: nothing of the old verdict stays on screen
        self.details.show_hint()
        self._watch_pending = None
        self.watcher.stop()
        self.rescan()

    def _remember(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        self.settings.setValue("recent", [path, *recent][:MAX_RECENT])
        self._fill_recent()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value] if isinstance(value, list) else []

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            act = self.recent_menu.addAction(fmt.user_path(p))
            act.triggered.connect(lambda _=False, path=p: self.open_cache(path))
        self.recent_menu.setEnabled(bool(self._recent()))

    def _restore(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(QSize(1280, 820))
        for key, split in (
            ("split", self.split),
            ("left", self.left_split),
            ("right", self.right_split),
        ):
            state = self.settings.value(key)
            if state is not None:
                split.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("split", self.split.saveState())
        self.settings.setValue("left", self.left_split.saveState())
        self.settings.setValue("right", self.right_split.saveState())
        self.runner.cancel("inspect")
        self._watch_pending = None
        self.watcher.stop()
        self.runner.wait(5000)
        super().closeEvent(event)

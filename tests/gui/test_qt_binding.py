"""The Qt binding the app runs on does not corrupt Python's reference counts.

PySide6 6.12.0 returned True from Signal.emit() without taking a reference: each emit dropped one
reference to True, and on Python < 3.12 (True not immortal) a session of a few hundred rescans
ended in "Fatal Python error: bool_dealloc". pyproject.toml excludes that release; this test
fails if a resolver ever picks a release with the same defect.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(str, object)


def test_emit_keeps_reference_counts(qapp):
    e = _Emitter()
    got: list[object] = []
    e.fired.connect(lambda name, value: got.append(value))
    before = (sys.getrefcount(True), sys.getrefcount(False))
    for i in range(1000):
        e.fired.emit("x", i)
    after = (sys.getrefcount(True), sys.getrefcount(False))
    assert len(got) == 1000
    # A few references may come and go elsewhere; a thousand lost ones may not.
    assert abs(after[0] - before[0]) < 50, (before, after)
    assert abs(after[1] - before[1]) < 50, (before, after)

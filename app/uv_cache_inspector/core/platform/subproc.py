"""How the core starts helper programs (uv, walkers, strace): never with a console window."""

from __future__ import annotations

import subprocess
import sys

# On Windows a GUI app that starts a console program would flash a console window.
NO_WINDOW: int = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0

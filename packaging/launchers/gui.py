"""Entry point of the frozen app's window executable (PyInstaller runs this file)."""

import sys

from uv_cache_inspector.gui.app import main

sys.exit(main())

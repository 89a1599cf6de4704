"""Entry point of the frozen app's `uvci` executable (PyInstaller runs this file)."""

import sys

from uv_cache_inspector.cli import main

sys.exit(main())

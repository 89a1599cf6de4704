"""The Qt-free core: everything the app and the command line know about uv's cache.

Nothing in this package may import PySide6 or the gui package (checked by import-linter).
Modules are imported lazily by their users: a spawned scan worker imports only `walk`.
"""

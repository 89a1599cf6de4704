"""The Qt-free core: everything the app and the command line know about uv's cache.

Nothing in this package may import PySide6 or the gui package, and its packages form layers
(import-linter checks both, see pyproject.toml):

    operations          the operations the CLI and the app share
    testwrite | watch   the test-write; the live watch
    actions             plans and applying them
    diagnosis           findings, explain, verify, report
    cache               uv's cache on disk: location, layout, links, walk, scan, lock
    platform            the operating system: owners and access, mounts, processes, shortcuts

model, errors, findings and fmt sit below all of them. Modules are imported lazily by their
users: a spawned scan worker imports only `cache.walk`.
"""

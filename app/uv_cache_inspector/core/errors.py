"""The core's one exception hierarchy. The CLI maps these to exit codes; the GUI shows them."""

from __future__ import annotations


class InspectorError(Exception):
    """Base class: a problem the user can understand and act on (never a bug)."""

    exit_code = 2


class CacheNotFoundError(InspectorError):
    """The cache directory does not exist (uv has not created it yet)."""


class NotACacheError(InspectorError):
    """The directory exists but is not a uv cache; we refuse to act on it."""


class UnsafeTargetError(NotACacheError):
    """The path is one we never act on: the filesystem root, a home directory, ..."""


class CacheUnreadableError(InspectorError):
    """The cache root itself cannot be read."""


class CacheInUseError(InspectorError):
    """uv holds the cache lock; acting now could break a running uv."""

    exit_code = 3

    def __init__(
        self, message: str, holders: tuple[str, ...] = (), pids: tuple[int, ...] = ()
    ) -> None:
        super().__init__(message)
        self.holders = holders
        self.pids = pids  # the holders' process ids (empty: unknown)


class LockFileError(InspectorError):
    """The cache's lock file is unusable (a directory, not a regular file)."""


class ReadOnlyCacheError(InspectorError):
    """The cache is on a read-only filesystem: nothing can be changed there."""


class CancelledError(InspectorError):
    """The user cancelled a long operation."""

    exit_code = 130


class UsageError(InspectorError):
    """Bad arguments or input."""

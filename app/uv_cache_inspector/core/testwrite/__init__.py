"""The test-write: uv's own write (a temporary directory, then a rename into a bucket) replayed
step by step with a trace (`replay`), the real uv binary run against the cache under strace
(`with_uv`), either as the user who runs uv (`runas`, through the child process `child`); what
they share is in `common`.
"""

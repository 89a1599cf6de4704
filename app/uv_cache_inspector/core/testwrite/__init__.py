"""The test-write: uv's own write (a temporary directory, then a rename into a bucket) replayed
step by step with a trace, as the user or with the real uv binary.
"""

"""What is wrong with a cache and why: the diagnosis engine, its inputs and rules, the
explanation of uv's error text, verify (archives against their RECORD) and the bug report.

Reads the cache (cache/) and the machine (platform/); never changes either.
"""

"""What changes a cache: plans (`model`; made by `prune`, `repair` and `delete`, which also holds
verify's fix, from the deletions `removal` builds), applying them under uv's lock with a journal
(`apply`), the check that no uv uses what would go (`inuse`), and running a plan elevated
(`elevate`).
"""

"""What changes a cache: plans (prune, repair, delete, verify's fix), applying them under uv's
lock with a journal, the check that no uv uses what would go, and running a plan elevated.
"""

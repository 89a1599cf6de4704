"""uv's cache as it is on disk: where it is, what its buckets and links mean, and the walk.

Nothing here judges or changes the cache: diagnosis/ judges, actions/ changes. Lower layers
(platform/ and the top-level model, errors, fmt) are all these modules import.
"""

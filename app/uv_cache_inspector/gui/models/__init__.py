"""Item models over the core's dataclasses (checked with pytest-qt's qtmodeltester)."""

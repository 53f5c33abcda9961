"""make bench: the measurements behind docs/PERFORMANCE.md."""

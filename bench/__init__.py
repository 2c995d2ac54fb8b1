"""The benchmark: ``make bench`` (or ``python -m bench``). Not a test: timings live here only."""

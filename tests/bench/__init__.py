"""Benchmarks: figures and ratios against a baseline measured in the same run, never pass/fail.

Run them with ``make bench`` or ``python -m tests.bench [--only NAME] [--quick]``.
"""

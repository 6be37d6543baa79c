"""Byline's evaluation harness: eval sets, metric functions, the runner and the benchmarks.

``python -m evals`` is ``byline eval``; ``python -m evals.bench`` is ``byline bench``.
"""

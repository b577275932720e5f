"""Benchmarks: each `bench_*.py` module prints figures and asserts nothing; `python -m bench` runs all."""

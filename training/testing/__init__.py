"""Fixtures shared by the tests and the benchmarks: real videos, tiny model configs, the page as a real process.

They live in the package, not in `tests/`, so the benchmarks (scripts run from a checkout) import only the project's
own installed code. Nothing here is used by the tools themselves.
"""

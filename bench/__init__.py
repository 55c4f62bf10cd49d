"""Rerunnable ingest benchmark: ``python -m bench [--rows N] [--repeats N] [--days N] [--quick]``.

Each measurement runs in a fresh process (see :mod:`bench.worker`); the report goes to
``bench/RESULTS.md``. The exit code is non-zero when a goal of the issue fails.
"""

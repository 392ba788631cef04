"""The benchmark suite: ``python -m bench`` (see docs/benchmarks.md).

Scenarios run feedbridge against generated fixture sites on loopback (no internet):
:mod:`bench.fetching` (1 cold backfill, 2 steady state, 3 growth), :mod:`bench.extraction`
(4 extraction cost and quality against trafilatura and readability-lxml),
:mod:`bench.publishing` (5 publishing, 6 store growth). :mod:`bench.scaleserver` serves
thousands of sites from one process; :mod:`bench.refresher` is the measured process.
Nothing under ``tests/`` imports this package except the one smoke test.
"""

"""Shared pieces of the media benchmarks (``media_latency.py``, ``media_cpu.py``).

Kept out of ``src/`` on purpose: these are measuring instruments (timed beeps, onset detectors,
an hls.js probe page), not product code, and they must not change what they measure.
"""

"""Shared pieces of the media benchmarks (``media_latency.py``, ``media_cpu.py``).

Kept out of ``src/`` on purpose: these are measuring instruments (timed beeps, onset detectors,
an hls.js probe page), not product code, and they must not change what they measure.
"""

import sys
from pathlib import Path

# The benchmarks share the test suite's instruments (tests/support: the lean LL-HLS listener, the
# nginx runner, Chromium's flags), which are not product code and so not in the installed package.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

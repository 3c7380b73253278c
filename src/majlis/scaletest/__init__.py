"""``majlis scaletest``: rehearse an audience surge against a running deployment.

Process layout, and why:

- the ``majlis scaletest`` process (``run.py``) sets the Space up over the public API, samples the
  origin's ``/metrics``, and writes the report. It never imports Locust.
- the load engine (``engine.py``, started as ``python -m majlis.scaletest.engine``) is Locust:
  importing it monkeypatches the whole process with gevent, so it always runs in a process of
  its own — never in the server's, nor in pytest's.
- the media process (``media_process.py``, multiprocessing with the *spawn* context) runs the
  asyncio side: WHIP speaker bots that emit timing marks, and probe listeners that decode the
  LL-HLS parts and find those marks to measure speaker → listener latency.
"""

"""The part store, in the seams' layout: ``protocol.py``, ``memory.py``, ``redis.py``, ``build.py``.
It sits with the media plane, not in majlis.seams, because what it stores is the plane's own."""

"""See ``protocol.py`` for the seam, ``memory.py`` and ``redis.py`` for its two implementations."""

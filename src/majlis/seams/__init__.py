"""The state nodes share, one seam per folder, each in the same layout.

``<seam>/protocol.py`` says what the rest of majlis may ask of it; ``memory.py`` is the complete
in-process implementation (the single-node product); ``redis.py`` is the one for many nodes,
built on the memory one where a local part exists and overriding only what crosses nodes (as
livekit's ``RedisRouter`` embeds its ``LocalRouter``). One contract suite drives both
(tests/contract/). ``build.py`` makes them all for a node from its settings, with one Redis
client; nothing else opens a connection.
"""

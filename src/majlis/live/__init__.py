"""Ephemeral shared state: presence, counters, rate limits and the event bus.

Each seam is a small ``typing.Protocol`` in its own module with an in-process implementation.
Nothing here is durable: losing it costs at most one heartbeat interval of accuracy.
"""

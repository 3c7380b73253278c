"""Low-latency DASH of a live Space: its MPD and its segments, streamed as they grow."""

"""Unit tests: one module or one rule at a time, in process, no server and no network."""

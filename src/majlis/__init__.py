"""majlis: self-hosted live audio rooms that take a million listeners calmly."""

__version__ = "0.1.0"

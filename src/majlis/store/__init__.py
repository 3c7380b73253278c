"""Durable state: accounts, follows, Spaces, the stage, reminders, notifications.

One SQL implementation serves both engines (SQLite embedded, PostgreSQL distributed); the
``Store`` protocol in ``protocol.py`` is the seam the rest of majlis depends on.
"""

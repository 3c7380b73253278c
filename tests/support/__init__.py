"""Harness code the tests (and bench/) share: instruments, not product code."""

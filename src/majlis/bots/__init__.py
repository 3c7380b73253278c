"""Synthetic participants: WHIP speaker bots (for the demo, tests and scaletest)."""

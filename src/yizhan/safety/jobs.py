"""Scheduler jobs of the fire-safety app (offline sweep, dispatch escalation, pruning)."""

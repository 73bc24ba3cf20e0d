"""Benchmarks: one command per figure we track (see bench/harness.py for the shared parts)."""

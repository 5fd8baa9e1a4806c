"""Benchmarks: ferryman against the same work written with the raw Temporal SDK."""

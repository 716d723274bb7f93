"""Spark jobs that land vendor logs into bronze and normalize them into silver."""

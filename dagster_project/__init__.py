"""Dagster wiring only: resources, partitions, assets by layer, checks, jobs and schedules."""

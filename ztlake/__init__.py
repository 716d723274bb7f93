"""ztlake: Zero Trust risk analytics on a Delta Lake."""

__version__ = "0.1.0"

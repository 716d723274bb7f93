"""The product's public surface: layers, table names and Dagster group names, declared once.

Renaming anything here is a breaking change for every reader of the lake (tests snapshot it).
"""

from __future__ import annotations

from dataclasses import dataclass

BRONZE = "bronze"
SILVER = "silver"
GOLD = "gold"
QUALITY = "quality"
LAYERS = (BRONZE, SILVER, GOLD, QUALITY)


@dataclass(frozen=True)
class Table:
    """A Delta table at `<lake>/<layer>/<name>`."""

    layer: str
    name: str

    def path(self, lake_root: str) -> str:
        return f"{lake_root.rstrip('/')}/{self.layer}/{self.name}"

    @property
    def key(self) -> list[str]:
        """The Dagster asset key path for the asset that owns this table."""
        return [self.layer, self.name]


# Bronze: one table per landed source, plus the shared quarantine and per-file reconciliation.
QUARANTINE = Table(BRONZE, "quarantine")
INGEST_AUDIT = Table(BRONZE, "ingest_audit")


def bronze(source: str) -> Table:
    return Table(BRONZE, source)


# Dagster asset groups.
GROUP_BRONZE = "bronze"
GROUP_SILVER = "silver"
GROUP_GOLD = "gold"
GROUP_ML = "ml"
GROUP_PUBLISH = "publish"

NIGHTLY_JOB = "nightly"
NIGHTLY_SCHEDULE = "nightly_schedule"

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


# Silver: the OCSF-aligned model. Event tables are partitioned by `event_date`, snapshot tables
# (the state as of each night) by `date`.
SILVER_EVENT_TABLES = (
    "authentication", "api_activity", "account_change", "entitlement_change", "dns_activity", "network_activity",
    "datastore_activity",
)
SILVER_SNAPSHOT_TABLES = ("identities", "devices", "device_ip_map", "entitlements", "resources", "threat_indicators")


def silver(name: str) -> Table:
    if name not in SILVER_EVENT_TABLES + SILVER_SNAPSHOT_TABLES:
        raise KeyError(f"unknown silver table {name!r}")
    return Table(SILVER, name)


# Quality: every night's validation results (the joinability gate), kept run by run.
VALIDATION_RESULTS = Table(QUALITY, "validation_results")
# Gold: one row per published night, naming the silver table versions the gate validated.
NIGHTLY_PUBLICATION = Table(GOLD, "nightly_publication")

# Gold features (docs/features.md), partitioned by `date`. The baseline table is the rolling state
# the features compare against: one row per identity per night, never a rescan of history.
IDENTITY_FEATURES_DAILY = Table(GOLD, "identity_features_daily")
DEVICE_FEATURES_DAILY = Table(GOLD, "device_features_daily")
IDENTITY_BASELINES = Table(GOLD, "identity_baselines")
# Gold model outputs (docs/models.md), partitioned by `date`.
PEER_GROUPS = Table(GOLD, "peer_groups")
PEER_OUTLIERS = Table(GOLD, "peer_outliers")
BEHAVIOUR_SCORES = Table(GOLD, "behaviour_scores")
# Gold risk (docs/policy.md): decisions with their factors and policy version, partitioned by `date`;
# the canary of a candidate policy beside the current one.
RISK_SCORES = Table(GOLD, "risk_scores")
POLICY_CANARY = Table(GOLD, "policy_canary")
INCIDENTS = Table(GOLD, "incidents")
# Each night's events that can be a step of a policy sequence, so a chain can cross midnight.
SEQUENCE_STEPS = Table(GOLD, "sequence_steps")
# Gold, for people (docs/metrics.md), partitioned by `date`: what IAM teams review first, how far
# one identity or device reaches, and leadership's outcome metrics (one row per metric per night).
ACCESS_REVIEW_PRIORITIES = Table(GOLD, "access_review_priorities")
BLAST_RADIUS = Table(GOLD, "blast_radius")
OUTCOME_METRICS = Table(GOLD, "outcome_metrics")
# The nightly leadership report: a static page at `<lake>/reports/<date>/index.html`.
REPORTS_DIR = "reports"


def report_path(lake_root: str, night: object) -> str:
    return f"{lake_root.rstrip('/')}/{REPORTS_DIR}/{night}/index.html"


# Quality: every policy accepted into force or promoted, with its text (the audit trail of decisions' rules).
POLICY_LOG = Table(QUALITY, "policy_log")
# Quality: each training's backtest on held-out days against the generator's (or analysts') labels.
BACKTEST = Table(QUALITY, "backtest")


def gx_project_root(lake_root: str) -> str:
    """The Great Expectations project of a lake lives in `<lake>/quality/gx`; its Data Docs site
    (one page per validation run, and an index) in `<lake>/quality/gx/uncommitted/data_docs/local_site`."""
    return f"{lake_root.rstrip('/')}/{QUALITY}"


# Dagster asset groups.
GROUP_BRONZE = "bronze"
GROUP_SILVER = "silver"
GROUP_GOLD = "gold"
GROUP_ML = "ml"
GROUP_PUBLISH = "publish"

NIGHTLY_JOB = "nightly"
NIGHTLY_SCHEDULE = "nightly_schedule"

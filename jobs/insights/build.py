"""IO for what people read: `gold/access_review_priorities`, `gold/blast_radius`,
`gold/outcome_metrics`, the access-review CSV export, and the nightly leadership report."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from features.device import DEVICE_FEATURES_DDL
from features.identity import BASELINE_DDL, IDENTITY_FEATURES_DDL
from jobs.insights import access_review as AR
from jobs.insights import blast_radius as BR
from jobs.insights import outcomes as OM
from jobs.insights import pseudonym as PS
from jobs.risk.build import policy_in_force
from jobs.risk.incidents import INCIDENTS_DDL
from jobs.risk.score import RISK_DDL
from jobs.silver.build import Night, conform, materialize, with_schema, write_snapshot
from jobs.silver.entitlements import ENTITLEMENTS_DDL
from jobs.silver.identities import IDENTITIES_SCHEMA
from jobs.silver.resources import RESOURCES_DDL
from jobs.sources.soc import SOC_CASES_SPEC
from models.peer_groups import PEER_GROUPS_DDL
from ztlake import delta_io
from ztlake.tables import (
    ACCESS_REVIEW_PRIORITIES,
    BLAST_RADIUS,
    DEVICE_FEATURES_DAILY,
    IDENTITY_BASELINES,
    IDENTITY_FEATURES_DAILY,
    INCIDENTS,
    OUTCOME_METRICS,
    PEER_GROUPS,
    RISK_SCORES,
    Table,
    bronze,
    silver,
)

EXPORT_COLUMNS = ("date", "rank", "email", "user_uid", "department", "entitlement", "granted_by", "resource_uid", "resource_name", "resource_owner",
                  "sensitivity", "privileged", "last_used", "peer_coverage", "score", "recommendation", "reasons", "policy_version")


def tonight(n: Night, table: Table, ddl: str | StructType) -> DataFrame:
    """Tonight's partition of a table, or an empty frame with its schema when the table is absent."""
    path = table.path(n.lake)
    if not delta_io.exists(n.spark, path):
        return n.spark.createDataFrame([], ddl)
    return with_schema(n.silver(table), ddl)


def window(n: Night, table: Table, ddl: str | StructType, days: int) -> DataFrame:
    """The `days` nights ending tonight (partition-pruned), or empty."""
    path = table.path(n.lake)
    if not delta_io.exists(n.spark, path):
        return n.spark.createDataFrame([], ddl)
    start = n.night - dt.timedelta(days=days - 1)
    return delta_io.read(n.spark, path).where((F.col("date") >= F.lit(start)) & (F.col("date") <= F.lit(n.night)))


def build_access_review(n: Night) -> DataFrame:
    policy = policy_in_force(n).policy
    prev = n.previous(ACCESS_REVIEW_PRIORITIES, AR.REVIEW_DDL).select("user_uid", "department", "moved_from", "moved_on")
    ids = tonight(n, silver("identities"), IDENTITIES_SCHEMA)
    state = AR.identity_state(n.night, ids, prev)
    base = tonight(n, IDENTITY_BASELINES, BASELINE_DDL).select("user_uid", "last_activity_date")
    df = AR.review(n.night, tonight(n, silver("entitlements"), ENTITLEMENTS_DDL), ids, tonight(n, silver("resources"), RESOURCES_DDL),
                   tonight(n, PEER_GROUPS, PEER_GROUPS_DDL), base, state, policy)
    out = materialize(conform(df, AR.REVIEW_DDL))
    write_snapshot(n, ACCESS_REVIEW_PRIORITIES, out)
    return n.keep(ACCESS_REVIEW_PRIORITIES, out)


def build_blast_radius(n: Night) -> DataFrame:
    df = BR.blast_radius(n.night, tonight(n, silver("entitlements"), ENTITLEMENTS_DDL), tonight(n, silver("resources"), RESOURCES_DDL),
                         tonight(n, silver("identities"), IDENTITIES_SCHEMA),
                         tonight(n, DEVICE_FEATURES_DAILY, DEVICE_FEATURES_DDL), n.previous(BLAST_RADIUS, BR.BLAST_DDL))
    out = materialize(conform(df, BR.BLAST_DDL))
    write_snapshot(n, BLAST_RADIUS, out)
    return n.keep(BLAST_RADIUS, out)


def soc_cases(n: Night) -> DataFrame:
    """SOC case updates landed in the trailing window (bronze `soc_cases`), or empty."""
    path = bronze(SOC_CASES_SPEC.name).path(n.lake)
    if not delta_io.exists(n.spark, path):
        return n.spark.createDataFrame([], "_event_time timestamp, _event_date date").select(
            "*", *[F.lit(None).cast(f.dataType).alias(f.name) for f in SOC_CASES_SPEC.schema.fields])
    since = n.night - dt.timedelta(days=OM.CASE_WINDOW_DAYS + 3)
    return delta_io.read(n.spark, path).where((F.col("_event_date") >= F.lit(since)) & (F.col("_event_date") <= F.lit(n.night)))


def build_outcomes(n: Night) -> DataFrame:
    prev_ids = n.previous(silver("identities"), IDENTITIES_SCHEMA)
    inputs = OM.OutcomeInputs(
        identities=tonight(n, silver("identities"), IDENTITIES_SCHEMA), previous_identities=prev_ids,
        entitlements=tonight(n, silver("entitlements"), ENTITLEMENTS_DDL),
        features=tonight(n, IDENTITY_FEATURES_DAILY, IDENTITY_FEATURES_DDL),
        risk_week=window(n, RISK_SCORES, RISK_DDL, OM.FRICTION_WEEK_DAYS),
        risk_window=window(n, RISK_SCORES, RISK_DDL, OM.REGAIN_WINDOW_DAYS).where(F.col("grain") == "identity_day"),
        incidents=tonight(n, INCIDENTS, INCIDENTS_DDL), cases=soc_cases(n),
        blast_org=tonight(n, BLAST_RADIUS, BR.BLAST_DDL).where(F.col("grain") == "organization"),
        alert_min_score=policy_in_force(n).policy.incident_min_score)
    df = materialize(n.spark.createDataFrame(OM.outcome_rows(n.night, inputs), OM.OUTCOME_DDL))
    write_snapshot(n, OUTCOME_METRICS, df)
    return n.keep(OUTCOME_METRICS, df)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "unknown"


def export_access_reviews(n_spark, lake: str, night: dt.date, out: Path, pseudonymize: bool = False,  # type: ignore[no-untyped-def]
                          per_owner: bool = False) -> list[tuple[Path, int]]:
    """Write the night's ranking as CSV: one combined file, or one per resource owner
    (`<stem>.<owner>.csv`). With `pseudonymize`, emails and user ids become keyed pseudonyms."""
    path = ACCESS_REVIEW_PRIORITIES.path(lake)
    if not delta_io.exists(n_spark, path):
        raise FileNotFoundError(f"no access-review table at {path}: run the nightly pipeline first")
    df = delta_io.read(n_spark, path).where(F.col("date") == F.lit(night))
    if df.limit(1).count() == 0:
        raise ValueError(f"no access-review priorities for {night} in {path}")
    if pseudonymize:
        k = PS.key()
        df = df.withColumn("email", PS.pseudonym_col(F.col("email"), k)).withColumn("user_uid", PS.pseudonym_col(F.col("user_uid"), k))
    rows = df.select(*[F.concat_ws(" | ", c).alias(c) if c == "reasons" else F.col(c).cast("string").alias(c) for c in EXPORT_COLUMNS]
                     + [F.coalesce("resource_owner", F.lit("no owner")).alias("_owner"), F.col("rank").alias("_rank"),
                        F.coalesce("granted_by", "entitlement").alias("_grant"), F.col("granted_by").alias("_by")]).orderBy(
        "_rank", "_grant", F.col("_by").asc_nulls_first(), "entitlement", "resource_uid").collect()
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r["_owner"] if per_owner else "", []).append(r)
    written = []
    out.parent.mkdir(parents=True, exist_ok=True)
    for owner, rs in sorted(groups.items()):
        target = out if not per_owner else out.with_name(f"{out.stem}.{_safe_name(owner)}{out.suffix or '.csv'}")
        with target.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(EXPORT_COLUMNS)
            for r in rs:
                w.writerow([r[c] if r[c] is not None else "" for c in EXPORT_COLUMNS])
        written.append((target, len(rs)))
    return written

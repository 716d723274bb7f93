"""Load: land one source's files for one landing date into bronze, quarantine and the audit.

Idempotent: rows are anti-joined against bronze on `_event_id` (pruned to the batch's event dates)
and only new ones are appended;
quarantine and audit rows for (source, landing date) are replaced, never appended.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.landing import transform as T
from jobs.landing.files import list_files, read_records
from jobs.landing.spec import SourceSpec
from ztlake import delta_io
from ztlake.tables import INGEST_AUDIT, QUARANTINE, bronze


@dataclass
class LandingSummary:
    source: str
    landing_date: dt.date
    files: int = 0
    records_read: int = 0
    landed: int = 0
    duplicates: int = 0
    quarantined: int = 0
    unreconciled_files: list[str] = field(default_factory=list)
    top_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def reconciled(self) -> bool:
        return not self.unreconciled_files and self.records_read == self.landed + self.duplicates + self.quarantined


def land_source(
    spark: SparkSession,
    spec: SourceSpec,
    landing_root: str,
    lake_root: str,
    landing_date: dt.date,
    run_id: str,
    max_future_days: int = 2,
) -> LandingSummary:
    """Land `<landing_root>/<source>/<date>/` into `<lake>/bronze/<source>`."""
    files = list_files(spark, f"{landing_root.rstrip('/')}/{spec.name}/{landing_date.isoformat()}")
    records = read_records(spark, [f.path for f in files])
    # Materialize the batch once (a checkpoint, so later writes plan against rows, not against the
    # whole parsing expression tree).
    classified = T.classify(records, spec, landing_date, run_id, max_future_days).localCheckpoint(eager=True)
    bronze_path = bronze(spec.name).path(lake_root)
    dates = delta_io.distinct_values(classified.where(F.col("_outcome") == T.OUTCOME_LAND), "_event_date")
    if dates and delta_io.exists(spark, bronze_path):
        existing = delta_io.read(spark, bronze_path).where(F.col("_event_date").isin(dates))
        # Checkpoint, not cache: a cached plan that reads bronze would be recomputed after the
        # write below, turning every new row into a "duplicate" of itself.
        classified = T.against_bronze(classified, existing).localCheckpoint(eager=True)

    # Rows classified as new are anti-joined against bronze (pruned to the batch's event dates), so
    # appending them is idempotent: a rerun classifies them all as duplicates. Dagster runs one
    # materialization of a partition at a time.
    new_rows = T.bronze_rows(classified, spec)
    if dates:
        delta_io.append(new_rows, bronze_path, ["_event_date"])
    else:
        delta_io.ensure_table(spark, new_rows, bronze_path, ["_event_date"])

    scope = f"source = '{spec.name}' AND _landing_date = {delta_io.lit_date(landing_date)}"
    quarantine = T.quarantine_rows(classified, spec)
    delta_io.replace_where(spark, quarantine, QUARANTINE.path(lake_root), scope, ["_landing_date"])
    file_list = spark.createDataFrame([(f.path, f.size) for f in files], "_source_file string, bytes long")
    per_file = T.audit_rows(classified, spec, file_list)
    audit_rows = per_file.collect()  # one row per file: small
    audit = spark.createDataFrame(audit_rows, per_file.schema)
    audit = (
        audit.withColumn("_landing_date", F.lit(landing_date))
        .withColumn("_run_id", F.lit(run_id))
        .withColumn("_ingested_at", F.current_timestamp())
    )
    delta_io.replace_where(spark, audit, INGEST_AUDIT.path(lake_root), scope, ["_landing_date"])
    reasons = (
        quarantine.withColumn("why", F.regexp_replace("reason", r"'[^']*'", "'…'"))
        .groupBy("why")
        .count()
        .orderBy(F.desc("count"))
        .limit(5)
        .collect()
    )
    return LandingSummary(
        source=spec.name,
        landing_date=landing_date,
        files=len(files),
        records_read=sum(r.records_read for r in audit_rows),
        landed=sum(r.landed for r in audit_rows),
        duplicates=sum(r.duplicates for r in audit_rows),
        quarantined=sum(r.quarantined for r in audit_rows),
        unreconciled_files=[r._source_file for r in audit_rows if not r.reconciled],
        top_reasons={r.why: r["count"] for r in reasons},
    )

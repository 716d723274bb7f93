"""Load: land one night's files of every source into bronze, quarantine and the audit, as one plan.

One listing and one read of the night's files, one classification of every record (all sources
in one plan, materialized once), one anti-join against what bronze already holds, then one
append per bronze table (independent tables written concurrently on the one session), one
quarantine commit and one audit commit for the night.

Idempotent: rows are anti-joined against bronze on (`source`, `_event_id`), pruned to the batch's
event dates, and only new ones are appended; quarantine and audit rows for (sources, landing
date) are replaced, never appended.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.landing import transform as T
from jobs.landing.files import LandedFile, list_files, read_records
from jobs.landing.spec import SourceSpec
from ztlake import delta_io
from ztlake.tables import INGEST_AUDIT, QUARANTINE, bronze

# Bronze appends to different tables run side by side on the one session.
WRITERS = 4


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


def _source_of(files: dict[str, list[LandedFile]]) -> F.Column:
    mapping = [x for name, fs in files.items() for f in fs for x in (F.lit(f.path), F.lit(name))]
    return F.element_at(F.create_map(*mapping), F.col("_source_file"))


def _existing(spark: SparkSession, lake_root: str, dates: dict[str, list[object]]) -> DataFrame | None:
    """What bronze already holds on the batch's event dates: (`source`, `_event_id`, `_raw_sha256`)."""
    parts = []
    for source, days in sorted(dates.items()):
        path = bronze(source).path(lake_root)
        if days and delta_io.exists(spark, path):
            parts.append(delta_io.read(spark, path).where(F.col("_event_date").isin(days))
                         .select(F.lit(source).alias("source"), "_event_id", "_raw_sha256"))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def _summaries(specs: Sequence[SourceSpec], files: dict[str, list[LandedFile]], tally: list, landing_date: dt.date,
               run_id: str, now: dt.datetime) -> tuple[dict[str, LandingSummary], list[tuple]]:
    """Per-source summaries and per-file audit rows from the night's outcome tally."""
    per_file: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for r in tally:
        per_file[(r["source"], r["_source_file"])][r["_outcome"]] += r["n"]
        if r["why"] is not None:
            reasons[r["source"]][r["why"]] += r["n"]
    summaries: dict[str, LandingSummary] = {}
    audit: list[tuple] = []
    for spec in specs:
        s = LandingSummary(spec.name, landing_date, files=len(files.get(spec.name, [])))
        for f in files.get(spec.name, []):
            c = per_file.get((spec.name, f.path), Counter())
            read = sum(c.values())
            landed, dups, quar = c[T.OUTCOME_LAND], c[T.OUTCOME_DUPLICATE], c[T.OUTCOME_QUARANTINE]
            ok = read == landed + dups + quar
            audit.append((spec.name, f.path, f.size, read, landed, dups, quar, ok, landing_date, run_id, now))
            s.records_read += read
            s.landed += landed
            s.duplicates += dups
            s.quarantined += quar
            if not ok:
                s.unreconciled_files.append(f.path)
        s.top_reasons = dict(sorted(reasons[spec.name].items(), key=lambda kv: (-kv[1], kv[0]))[:5])
        summaries[spec.name] = s
    return summaries, audit


def land_night(
    spark: SparkSession,
    specs: Sequence[SourceSpec],
    landing_root: str,
    lake_root: str,
    landing_date: dt.date,
    run_id: str,
    max_future_days: int = 2,
) -> dict[str, LandingSummary]:
    """Land `<landing_root>/<source>/<date>/` of every source in `specs` into `<lake>/bronze/<source>`."""
    files = {spec.name: list_files(spark, f"{landing_root.rstrip('/')}/{spec.name}/{landing_date.isoformat()}") for spec in specs}
    with_files = [spec for spec in specs if files[spec.name]]
    classified: DataFrame | None = None
    dates: dict[str, list[object]] = {}
    if with_files:
        paths = [f.path for spec in with_files for f in files[spec.name]]
        # One read of the night's files, materialized once; every source's parse reads from it.
        records = read_records(spark, paths).withColumn("_src", _source_of(files)).localCheckpoint(eager=True)
        batches = [(spec, records.where(F.col("_src") == spec.name).drop("_src")) for spec in with_files]
        # Checkpoint, not cache: a cached plan that reads bronze would be recomputed after the
        # writes below, turning every new row into a "duplicate" of itself.
        classified = T.classify_sources(batches, landing_date, run_id, max_future_days).localCheckpoint(eager=True)
        for r in classified.where(F.col("_outcome") == T.OUTCOME_LAND).select("source", "_event_date").distinct().collect():
            if r["_event_date"] is not None:
                dates.setdefault(r["source"], []).append(r["_event_date"])
        dates = {s: sorted(d) for s, d in dates.items()}  # type: ignore[type-var]
        existing = _existing(spark, lake_root, dates)
        if existing is not None:
            classified = T.against_bronze(classified, existing).localCheckpoint(eager=True)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    tally = T.outcome_tally(classified).collect() if classified is not None else []
    summaries, audit = _summaries(specs, files, tally, landing_date, run_id, now)

    def write_bronze(spec: SourceSpec) -> None:
        path = bronze(spec.name).path(lake_root)
        if spec.name in dates and classified is not None:
            delta_io.append(T.bronze_rows(classified, spec), path, ["_event_date"])
        elif not delta_io.exists(spark, path):
            empty = T.bronze_rows(T.empty_classified(read_records(spark, []), spec, landing_date), spec)
            delta_io.ensure_table(spark, empty, path, ["_event_date"])

    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="bronze-write") as pool:
        for f in [pool.submit(write_bronze, spec) for spec in specs]:
            f.result()

    names = ", ".join(f"'{s.name}'" for s in specs)
    scope = f"source IN ({names}) AND _landing_date = {delta_io.lit_date(landing_date)}"
    if classified is None:  # no files tonight: replace the night's quarantine rows with none
        classified = T.empty_classified(read_records(spark, []), specs[0], landing_date)
    quarantine = T.quarantine_rows(classified)
    delta_io.replace_where(spark, quarantine, QUARANTINE.path(lake_root), scope, ["_landing_date"])
    delta_io.replace_where(spark, spark.createDataFrame(audit, T.AUDIT_SCHEMA), INGEST_AUDIT.path(lake_root), scope,
                           ["_landing_date"])
    return summaries


def land_source(
    spark: SparkSession,
    spec: SourceSpec,
    landing_root: str,
    lake_root: str,
    landing_date: dt.date,
    run_id: str,
    max_future_days: int = 2,
) -> LandingSummary:
    """Land one source's night (the nightly job lands every source at once with `land_night`)."""
    return land_night(spark, [spec], landing_root, lake_root, landing_date, run_id, max_future_days)[spec.name]

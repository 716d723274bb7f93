"""Bronze: one operation lands every vendor source of the night (one read, one classification, one
write per table); Dagster still shows each source as its own asset with its own reconcile check."""


import datetime as dt
from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from dagster_project.partitions import DAILY
from dagster_project.resources import LakeResource, SparkResource
from jobs.landing.load import LandingSummary, land_night
from jobs.sources import SOURCES
from ztlake.tables import GROUP_BRONZE, INGEST_AUDIT, QUARANTINE, bronze

RECONCILES = "reconciles"
KEYS = {name: AssetKey(bronze(name).key) for name in SOURCES}


def _result(summary: LandingSummary, lake_root: str) -> tuple[MaterializeResult, AssetCheckResult]:
    key = KEYS[summary.source]
    materialized: MaterializeResult = MaterializeResult(
        asset_key=key,
        metadata={
            "path": MetadataValue.path(bronze(summary.source).path(lake_root)),
            "files": summary.files,
            "records_read": summary.records_read,
            "landed": summary.landed,
            "duplicates": summary.duplicates,
            "quarantined": summary.quarantined,
            "quarantine_table": MetadataValue.path(QUARANTINE.path(lake_root)),
            "top_quarantine_reasons": MetadataValue.json(summary.top_reasons),
        },
    )
    check = AssetCheckResult(
        asset_key=key,
        check_name=RECONCILES,
        passed=summary.reconciled,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "unreconciled_files": MetadataValue.json(summary.unreconciled_files),
            "audit_table": MetadataValue.path(INGEST_AUDIT.path(lake_root)),
        },
    )
    return materialized, check


@multi_asset(
    specs=[
        AssetSpec(key, group_name=GROUP_BRONZE, kinds={"spark", "delta"}, skippable=True,
                  description=f"Raw {name} events landed as typed Delta rows; bad records go to bronze/quarantine.")
        for name, key in KEYS.items()
    ],
    check_specs=[
        AssetCheckSpec(RECONCILES, asset=key, blocking=True,
                       description="Every file reconciles: records read = landed + duplicates + quarantined.")
        for key in KEYS.values()
    ],
    partitions_def=DAILY,
    can_subset=True,
    name="bronze_landing",
)
def bronze_landing(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> Iterator[
        MaterializeResult | AssetCheckResult]:
    """Land the night's files of every selected source into bronze, quarantine and the audit."""
    selected = [SOURCES[name] for name, key in KEYS.items() if key in context.selected_asset_keys]
    summaries = land_night(spark.session(), selected, lake.landing_root(), lake.lake_root(),
                           dt.date.fromisoformat(context.partition_key), context.run_id, lake.max_future_days)
    for spec in selected:
        materialized, check = _result(summaries[spec.name], lake.lake_root())
        yield materialized
        yield check


BRONZE_ASSETS = [bronze_landing]

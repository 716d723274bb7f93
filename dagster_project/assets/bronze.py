"""Bronze assets: one per vendor source, landing that night's files into Delta."""


import datetime as dt

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from dagster_project.partitions import DAILY
from dagster_project.resources import LakeResource, SparkResource
from jobs.landing.load import land_source
from jobs.landing.spec import SourceSpec
from jobs.sources import SOURCES
from ztlake.tables import GROUP_BRONZE, INGEST_AUDIT, QUARANTINE, bronze

RECONCILES = "reconciles"


def bronze_asset(spec: SourceSpec) -> AssetsDefinition:
    table = bronze(spec.name)
    key = AssetKey(table.key)

    @asset(
        key=key,
        group_name=GROUP_BRONZE,
        partitions_def=DAILY,
        kinds={"spark", "delta"},
        description=f"Raw {spec.name} events landed as typed Delta rows; bad records go to bronze/quarantine.",
        check_specs=[
            AssetCheckSpec(
                RECONCILES,
                asset=key,
                blocking=True,
                description="Every file reconciles: records read = landed + duplicates + quarantined.",
            )
        ],
    )
    def _bronze(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
        summary = land_source(
            spark.session(),
            spec,
            lake.landing_root(),
            lake.lake_root(),
            dt.date.fromisoformat(context.partition_key),
            context.run_id,
            lake.max_future_days,
        )
        return MaterializeResult(
            metadata={
                "path": MetadataValue.path(table.path(lake.lake_root())),
                "files": summary.files,
                "records_read": summary.records_read,
                "landed": summary.landed,
                "duplicates": summary.duplicates,
                "quarantined": summary.quarantined,
                "quarantine_table": MetadataValue.path(QUARANTINE.path(lake.lake_root())),
                "top_quarantine_reasons": MetadataValue.json(summary.top_reasons),
            },
            check_results=[
                AssetCheckResult(
                    check_name=RECONCILES,
                    passed=summary.reconciled,
                    severity=AssetCheckSeverity.ERROR,
                    metadata={
                        "unreconciled_files": MetadataValue.json(summary.unreconciled_files),
                        "audit_table": MetadataValue.path(INGEST_AUDIT.path(lake.lake_root())),
                    },
                )
            ],
        )

    return _bronze


BRONZE_ASSETS = [bronze_asset(spec) for spec in SOURCES.values()]

"""Publish assets: run only when every blocking silver gate of the night passed."""


import datetime as dt

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from dagster_project.partitions import DAILY
from dagster_project.resources import LakeResource, SparkResource
from expectations.suites import load_thresholds
from jobs.publish import publish_night
from jobs.silver.config import load as load_config
from ztlake.tables import GROUP_PUBLISH, NIGHTLY_PUBLICATION, SILVER_EVENT_TABLES, silver

SILVER_KEYS = [AssetKey(silver(t).key) for t in (*SILVER_EVENT_TABLES, "identities", "devices", "entitlements", "resources",
                                                  "threat_indicators")]


@asset(
    key=AssetKey(NIGHTLY_PUBLICATION.key),
    deps=SILVER_KEYS,
    group_name=GROUP_PUBLISH,
    partitions_def=DAILY,
    kinds={"spark", "delta"},
    description="One row per published night: the silver table versions that passed the joinability gate.",
)
def nightly_publication(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    night = dt.date.fromisoformat(context.partition_key)
    row = publish_night(spark.session(), lake.lake_root(), night, context.run_id, load_config().version,
                        load_thresholds().version).first()
    assert row is not None
    return MaterializeResult(metadata={
        "path": MetadataValue.path(NIGHTLY_PUBLICATION.path(lake.lake_root())),
        "silver_versions": MetadataValue.json(dict(row["silver_versions"])),
    })


PUBLISH_ASSETS = [nightly_publication]

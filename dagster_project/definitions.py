"""The Dagster code location. `dagster dev` (from the repo root) and `ztlake run` load the same
definitions; environments differ only in the resources they bind."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    Definitions,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
)

from dagster_project.assets.bronze import BRONZE_ASSETS
from dagster_project.assets.gold import GOLD_ASSETS
from dagster_project.assets.insights import INSIGHT_ASSETS
from dagster_project.assets.ml import ML_ASSETS
from dagster_project.assets.publish import PUBLISH_ASSETS
from dagster_project.assets.risk import RISK_ASSETS
from dagster_project.assets.silver import SILVER_ASSETS
from dagster_project.partitions import DAILY
from dagster_project.resources import LakeResource, ModelsResource, SparkResource
from ztlake.tables import NIGHTLY_JOB, NIGHTLY_SCHEDULE

ALL_ASSETS = [*BRONZE_ASSETS, *SILVER_ASSETS, *GOLD_ASSETS, *ML_ASSETS, *RISK_ASSETS, *INSIGHT_ASSETS, *PUBLISH_ASSETS]

nightly_job = define_asset_job(
    NIGHTLY_JOB,
    selection=AssetSelection.all(),
    partitions_def=DAILY,
    description="Land, normalize, score and publish one night.",
)

# Yesterday's partition (UTC), every night at 02:00.
nightly_schedule = build_schedule_from_partitioned_job(nightly_job, hour_of_day=2, name=NIGHTLY_SCHEDULE)


def build_definitions(spark: SparkResource | None = None, lake: LakeResource | None = None,
                      models: ModelsResource | None = None) -> Definitions:
    """Definitions with the given resources. The in-process executor runs every asset of a run in
    one process, so a nightly run starts exactly one JVM."""
    return Definitions(
        assets=ALL_ASSETS,
        jobs=[nightly_job],
        schedules=[nightly_schedule],
        resources={"spark": spark or SparkResource(), "lake": lake or LakeResource(), "models": models or ModelsResource()},
        executor=in_process_executor,
    )


defs = build_definitions()

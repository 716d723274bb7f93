"""The night's publication record: which silver table versions passed the gate and were published.

Consumers read silver and gold as of these versions (Delta time travel) to see only validated data.
"""

from __future__ import annotations

import datetime as dt

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from ztlake import delta_io
from ztlake.tables import NIGHTLY_PUBLICATION, SILVER_EVENT_TABLES, SILVER_SNAPSHOT_TABLES, silver

PUBLICATION_DDL = (
    "date date, run_id string, published_at timestamp, silver_versions map<string,bigint>, config_version string, "
    "thresholds_version string"
)


def table_versions(spark: SparkSession, lake: str) -> dict[str, int]:
    out = {}
    for name in (*SILVER_EVENT_TABLES, *SILVER_SNAPSHOT_TABLES):
        path = silver(name).path(lake)
        if delta_io.exists(spark, path):
            out[name] = int(DeltaTable.forPath(spark, path).history(1).select("version").first()[0])  # type: ignore[index]
    return out


def publish_night(spark: SparkSession, lake: str, night: dt.date, run_id: str, config_version: str,
                  thresholds_version: str) -> DataFrame:
    versions = table_versions(spark, lake)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    row = spark.createDataFrame([(night, run_id, now, versions, config_version, thresholds_version)], PUBLICATION_DDL)
    delta_io.replace_where(spark, row, NIGHTLY_PUBLICATION.path(lake), f"date = {delta_io.lit_date(night)}", ["date"])
    return row

"""Idempotent Delta Lake writes shared by every layer. The only place tables are written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def read(spark: SparkSession, path: str) -> DataFrame:
    return spark.read.format("delta").load(path)


def _sql_literal(value: object) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def ensure_table(spark: SparkSession, df: DataFrame, path: str, partition_by: Sequence[str] = ()) -> None:
    """Create an empty table with `df`'s schema if none exists, so readers never hit a missing table."""
    if not exists(spark, path):
        df.limit(0).write.format("delta").partitionBy(*partition_by).mode("append").save(path)


def append(df: DataFrame, path: str, partition_by: Sequence[str] = ()) -> None:
    df.write.format("delta").partitionBy(*partition_by).mode("append").save(path)


def replace_where(
    spark: SparkSession, df: DataFrame, path: str, predicate: str, partition_by: Sequence[str] = ()
) -> None:
    """Atomically replace the rows matching `predicate` with `df` (a rerun replaces, never appends).

    Columns a release adds to a table's declared schema are merged into an existing table (older
    rows read them as null); a column is never dropped or retyped, which Delta refuses."""
    if not exists(spark, path):
        df.write.format("delta").partitionBy(*partition_by).mode("append").save(path)
        return
    df.write.format("delta").mode("overwrite").option("replaceWhere", predicate).option("mergeSchema", "true").save(path)


def lit_date(value: dt.date) -> str:
    return _sql_literal(value)


def distinct_values(df: DataFrame, column: str) -> list[object]:
    """Distinct values of a low-cardinality column (e.g. the event dates in one night's batch)."""
    return sorted(r[0] for r in df.select(F.col(column)).distinct().collect() if r[0] is not None)

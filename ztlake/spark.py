"""Builds the one SparkSession a process uses, with Delta Lake on explicit, pre-fetched jars.

Only `dagster_project.resources.SparkResource` (and the test fixture, through it) calls this.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JAR_DIR = REPO_ROOT / ".cache" / "jars"
SETUP_HINT = "run `make setup` (or ./scripts/fetch_jars.sh) to fetch them from Maven Central"


class DeltaJarsMissing(RuntimeError):
    """The Delta Lake jars have not been fetched; every table must be Delta, so we stop."""


def delta_jars(jar_dir: str | Path | None = None) -> list[str]:
    """Return the Delta Lake runtime jars, or raise with the command that fetches them."""
    directory = Path(jar_dir) if jar_dir else DEFAULT_JAR_DIR
    jars = sorted(str(p) for p in directory.glob("*.jar"))
    if not any(Path(j).name.startswith("delta-spark_") for j in jars):
        raise DeltaJarsMissing(f"Delta Lake jars not found in {directory}: {SETUP_HINT}.")
    return jars


# Settings that suit a 2-core laptop or CI box; a cluster overrides them through `conf`.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.sql.shuffle.partitions": "8",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "4g",
    "spark.sql.adaptive.enabled": "true",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}


def build_session(
    master: str = "local[*]",
    app_name: str = "ztlake",
    jar_dir: str | Path | None = None,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Create (or return the running) SparkSession with Delta Lake configured.

    `master` is `local[*]` by default; a `spark://host:port` URL runs the same code on a cluster.
    All timestamps are handled in UTC.
    """
    jars = delta_jars(jar_dir)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        # Vendors ship fields that differ only by case (NXLog `Task`, Winlogbeat `task`).
        .config("spark.sql.caseSensitive", "true")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        # PySpark 4 records the Python call site of every DataFrame function for error messages:
        # several JVM round trips per call, which was a fifth of a night's driver time. Errors
        # still name the failing operation; only the Python file:line is left out.
        .config("spark.python.sql.dataFrameDebugging.enabled", "false")
    )
    settings = dict(LOCAL_DEFAULTS) if master.startswith("local") else {}
    # Python workers (model scoring runs in `mapInPandas`) use this interpreter, which has the
    # project installed (PySpark reads $PYSPARK_PYTHON when the context starts, else `python3`
    # from PATH); on a cluster whose workers keep it elsewhere, set PYSPARK_PYTHON.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session

"""Resources: the one Spark session, and where the lake and the landing zone live."""


import datetime as dt
import os
from pathlib import Path

from dagster import AssetExecutionContext, ConfigurableResource
from pydantic import Field
from pyspark.sql import SparkSession

from jobs.silver.build import Night
from jobs.silver.config import load as load_silver
from ztlake.spark import REPO_ROOT, build_session


class SparkResource(ConfigurableResource):
    """The single SparkSession of a run (Delta configured). Every asset shares it: one JVM per run."""

    master: str = Field(default="local[*]", description="`local[*]`, or a cluster URL such as spark://host:7077")
    app_name: str = "ztlake"
    jars_dir: str  | None = Field(default=None, description="Delta Lake jars; default: the repo's .cache/jars")
    conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings")

    def session(self) -> SparkSession:
        return build_session(self.master, self.app_name, self.jars_dir, self.conf)


class LakeResource(ConfigurableResource):
    """Where the Delta lake and the raw landing zone are: local paths or any Hadoop-compatible URI.

    Unset fields fall back to $ZTLAKE_LAKE / $ZTLAKE_LANDING, then to the demo under the repo.
    """

    root: str  | None = Field(default=None, description="Lake root: <root>/<layer>/<table>")
    landing: str  | None = Field(default=None, description="Landing root: <landing>/<source>/<YYYY-MM-DD>/")
    max_future_days: int = Field(default=2, description="Event times this far past the landing date are impossible")

    def lake_root(self) -> str:
        return _resolve(self.root, "ZTLAKE_LAKE", REPO_ROOT / "demo" / "lake")

    def landing_root(self) -> str:
        return _resolve(self.landing, "ZTLAKE_LANDING", REPO_ROOT / "demo" / "landing")


def _resolve(value: str | None, env: str, default: Path) -> str:
    chosen = value or os.environ.get(env) or str(default)
    return chosen if "://" in chosen else str(Path(chosen).resolve())


class ModelsResource(ConfigurableResource):
    """Model training and scoring settings for a deployment (config/models.yaml holds the rest).

    MLflow tracking goes to `<lake>/mlflow/mlflow.db` unless $MLFLOW_TRACKING_URI is set."""

    labels: str | None = Field(default=None, description="Labelled episodes (JSON lines) for backtests; default $ZTLAKE_LABELS")
    retrain_every_days: int | None = Field(default=None, description="Override config/models.yaml retrain_every_days")

    def labels_path(self) -> str | None:
        return self.labels or os.environ.get("ZTLAKE_LABELS")


# The night of the run in progress: every asset of one run shares it, so frames a layer materialized
# (and config and policy read once) serve the layers after it. One run at a time per process.
_RUN_NIGHT: dict[tuple[str, str, str], Night] = {}


def night_of(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> Night:
    """The run's `Night` for the partition being materialized (created by the first asset that asks)."""
    key = (context.run_id, lake.lake_root(), context.partition_key)
    if key not in _RUN_NIGHT:
        _RUN_NIGHT.clear()  # a new run: let the last run's frames go
        _RUN_NIGHT[key] = Night(spark.session(), lake.lake_root(), dt.date.fromisoformat(context.partition_key), load_silver())
    return _RUN_NIGHT[key]

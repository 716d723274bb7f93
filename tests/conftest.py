"""Shared fixtures: one Spark + Delta session for the whole test run, built by the product's own
SparkResource (the only session builder)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from dagster_project.resources import SparkResource
from ztlake.spark import REPO_ROOT

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
SAMPLES = Path(os.environ.get("ZTLAKE_SAMPLES", REPO_ROOT.parent / "shared" / "samples"))


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = SparkResource(
        master="local[2]",
        app_name="ztlake-tests",
        # One JVM serves the whole suite (about 90 tests, some landing 10 MB vendor files): give its
        # driver room, on a machine with 24 GiB.
        conf={"spark.sql.shuffle.partitions": "4", "spark.databricks.delta.snapshotPartitions": "1", "spark.driver.memory": "8g"},
    ).session()
    yield session
    session.stop()


@pytest.fixture(scope="module", autouse=True)
def _release_cached_frames() -> Iterator[None]:
    """Each test module's cached frames are released when it ends, so later modules get the heap."""
    yield
    active = SparkSession.getActiveSession()
    if active is not None:
        active.catalog.clearCache()


@pytest.fixture
def lake(tmp_path: Path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def samples() -> Path:
    if not (SAMPLES / "okta").is_dir():
        pytest.skip(f"shared vendor samples not found at {SAMPLES} (set ZTLAKE_SAMPLES)")
    return SAMPLES


NIGHT = dt.date(2026, 11, 25)


def write_landing(root: Path, source: str, night: dt.date, name: str, text: str | bytes) -> Path:
    path = root / source / night.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@dataclass
class TinyLake:
    root: str
    scanned: dict[dt.date, dict[str, int]]  # rows each feature input held, per night


@pytest.fixture(scope="session")
def tiny_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TinyLake]:
    """The tiny hand-built org (tests/gold/tiny_org.py): five nights of silver, then identity features for each
    night (device features for night 3)."""
    from features import build as FB
    from features.config import load as load_features
    from jobs.silver.build import Night
    from jobs.silver.config import load as load_silver
    from tests.gold import tiny_org

    root = str(tmp_path_factory.mktemp("tiny") / "lake")
    scanned = {}
    for night in tiny_org.NIGHTS:
        tiny_org.write_night(spark, root, night)
        n = Night(spark, root, night, load_silver())
        _, scanned[night] = FB.build_identity_features(n, load_features())
        if night == tiny_org.N3:
            FB.build_device_features(n, load_features())
    yield TinyLake(root, scanned)

"""The tiny hand-built org's lake, built once: five nights of silver, then features for each night."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from features import build as FB
from features.config import load as load_features
from jobs.silver.build import Night
from jobs.silver.config import load as load_silver
from tests.gold import tiny_org


@dataclass
class TinyLake:
    root: str
    scanned: dict  # night -> rows each input held


@pytest.fixture(scope="session")
def tiny_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TinyLake]:
    root = str(Path(tmp_path_factory.mktemp("tiny")) / "lake")
    scanned = {}
    for night in tiny_org.NIGHTS:
        tiny_org.write_night(spark, root, night)
        n = Night(spark, root, night, load_silver())
        _, scanned[night] = FB.build_identity_features(n, load_features())
        FB.build_device_features(n, load_features())
    yield TinyLake(root, scanned)

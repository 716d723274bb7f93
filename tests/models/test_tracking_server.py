"""`MLFLOW_TRACKING_URI` points training at a real MLflow tracking server (started here, on
127.0.0.1): runs, artifacts and the registry all go to the server, and nothing to the lake's sqlite."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow import MlflowClient

from jobs.silver.build import Night
from jobs.silver.config import load as load_silver
from models import jobs as MJ
from models import tracking as TR
from models.backtest import label_days
from models.config import load
from tests.gold import tiny_org as O


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen(
        [str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{root}/server.db", "--artifacts-destination", str(root / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"), env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(1)
    else:
        proc.terminate()
        pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
    yield url, root
    proc.terminate()
    proc.wait(timeout=30)


def test_training_tracks_to_the_server_named_by_the_environment(spark, tiny_lake, server, tmp_path, monkeypatch):
    url, root = server
    lake = str(tmp_path / "lake")
    shutil.copytree(tiny_lake.root, lake)  # its own copy: the other model tests use the shared lake
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    n = Night(spark, lake, O.N3, load_silver())
    out = MJ.train_behaviour(n, load(), label_days(None), "test")
    assert out.trained and out.decision == "no champion: the first model is promoted"
    c = MlflowClient(url, url)
    assert str(c.get_model_version_by_alias(TR.BEHAVIOUR_MODEL, TR.CHAMPION).version) == out.candidate_version
    assert {a.path for a in c.list_artifacts(out.run_id)} >= {"feature_importances.json", "backtest.json"}
    assert any((root / "artifacts").rglob("feature_importances.json")), "artifacts must land in the server's store"
    assert not Path(TR.mlflow_dir(lake)).exists(), "nothing may be tracked under the lake when a server is named"

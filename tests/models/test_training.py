"""Training, registry and backtest with a real MLflow sqlite store under the lake: a bootstrap
champion, a weekly-style retrain backtested on held-out days against labels, the promotion decision
logged, and nightly scoring with whatever model holds the `champion` alias."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient
from pyspark.sql import functions as F

from jobs.silver.build import Night
from jobs.silver.config import load as load_silver
from models import jobs as MJ
from models import tracking as TR
from models.backtest import label_days
from models.config import load
from tests.gold import tiny_org as O
from ztlake import delta_io
from ztlake.tables import BACKTEST, BEHAVIOUR_SCORES, PEER_OUTLIERS


@pytest.fixture(scope="module")
def trained(spark, tiny_lake, tmp_path_factory, monkeypatch_module):
    labels = tmp_path_factory.mktemp("labels") / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(x) for x in (
        {"scenario": "unmanaged_device_export", "kind": "attack", "identity": "alice@example.com", "device": "DESKTOP-X",
         "start": f"{O.N3}T09:50:00Z", "end": f"{O.N3}T10:05:00Z", "event_ids": []},
        {"scenario": "impossible_travel_privileged_role", "kind": "benign_lookalike", "identity": "carol@example.com", "device": None,
         "start": f"{O.NIGHTS[1]}T08:00:00Z", "end": f"{O.NIGHTS[1]}T08:10:00Z", "event_ids": []},
    )) + "\n")
    monkeypatch_module.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load(retrain_every_days=2)
    lab = label_days(labels)
    out = {}
    for night in O.NIGHTS[:3]:
        n = Night(spark, tiny_lake.root, night, load_silver())
        out[night] = (MJ.behaviour_night(n, cfg, lab)[1], MJ.peers_night(n, cfg, lab)[2])
    return out, cfg


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_first_night_bootstraps_a_champion_then_waits_for_the_retrain_interval(trained):
    out, _ = trained
    first, second = out[O.NIGHTS[0]][0], out[O.NIGHTS[1]][0]
    assert first.trained and first.decision == "no champion: the first model is promoted" and first.champion_version == "1"
    assert not second.trained and "next training on" in second.reason


def test_retrain_is_backtested_on_held_out_days_and_logged(spark, tiny_lake, trained):
    out, cfg = trained
    third = out[O.N3][0]
    assert third.trained and third.candidate_version == "2"
    assert set(third.metrics) >= {"pr_auc", "recall_at_1pct", "precision_at_1pct", "recall_at_5pct"}
    rows = delta_io.read(spark, BACKTEST.path(tiny_lake.root)).where(
        (F.col("date") == O.N3) & (F.col("model") == TR.BEHAVIOUR_MODEL)).collect()
    roles = sorted({r["role"] for r in rows})
    assert roles == ["candidate", "champion"] and len(rows) == 2 * len(cfg.budgets)
    for r in rows:
        assert (r["heldout_start"], r["heldout_end"]) == (O.NIGHTS[1], O.N3)  # never trained on: the candidate saw night 1 only
        assert r["identity_days"] == 2 * len(O.PEOPLE) and r["positives"] == 1
        assert 0 <= r["recall"] <= 1 and r["alerts"] >= 1
    c = MlflowClient(TR.tracking_uri(tiny_lake.root))
    runs = c.search_runs([c.get_experiment_by_name(TR.BEHAVIOUR_MODEL).experiment_id], order_by=["attributes.start_time ASC"])
    assert len(runs) == 2
    last = runs[-1]
    assert last.data.params["heldout_start"] == str(O.NIGHTS[1]) and "export_bytes_ratio" in last.data.params["features"]
    assert "pr_auc" in last.data.metrics and "champion_pr_auc" in last.data.metrics
    assert 1 <= last.data.metrics["distinct_training_rows"] <= last.data.metrics["training_rows"]
    assert last.data.tags["promotion_decision"] == third.decision
    assert {a.path for a in c.list_artifacts(last.info.run_id)} >= {"feature_importances.json", "backtest.json"}
    v2 = c.get_model_version(TR.BEHAVIOUR_MODEL, "2")
    assert v2.tags["promotion_decision"] == third.decision and v2.tags["trained_through"] == str(O.N3)
    alias = TR.CHAMPION if third.decision.startswith("promoted") else TR.CHALLENGER
    assert str(c.get_model_version_by_alias(TR.BEHAVIOUR_MODEL, alias).version) == "2"


def test_nightly_scores_use_the_champion_and_cover_every_identity(spark, tiny_lake, trained):
    out, _ = trained
    champion = out[O.N3][0].champion_version
    rows = delta_io.read(spark, BEHAVIOUR_SCORES.path(tiny_lake.root)).where(F.col("date") == O.N3).collect()
    assert len(rows) == len(O.PEOPLE) and {r["model_version"] for r in rows} == {champion}
    assert all(0 <= r["percentile"] <= 100 for r in rows)
    # Five people trained on one routine night give a forest with nothing to isolate (every score
    # equal; the run logs distinct_training_rows); explanations are tested in test_behaviour.py.
    assert all(f["contribution"] > 0 and f["direction"] == "above" for r in rows for f in r["top_factors"])


def test_peer_outputs_are_written_with_the_peer_champion(spark, tiny_lake, trained):
    out, _ = trained
    rows = delta_io.read(spark, PEER_OUTLIERS.path(tiny_lake.root)).where(F.col("date") == O.N3).collect()
    assert sorted(r["rank"] for r in rows) == list(range(1, len(O.PEOPLE) + 1))
    assert {r["model_version"] for r in rows} == {out[O.N3][1].champion_version}


@pytest.mark.parametrize(("cand", "champ", "has", "promote"), [
    ({"pr_auc": 0.5, "recall_at_1pct": 0.5}, {"pr_auc": 0.4, "recall_at_1pct": 0.5}, True, True),
    ({"pr_auc": 0.5, "recall_at_1pct": 0.4}, {"pr_auc": 0.4, "recall_at_1pct": 0.5}, True, False),
    (None, {"pr_auc": 0.4}, True, False),
    (None, None, False, True),
])
def test_promotion_rule(cand, champ, has, promote):
    d = TR.decide(cand, champ, has)
    assert d.promote is promote and d.reason

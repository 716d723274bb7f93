"""Model IO: nightly scoring with the registered `champion`, and training when it is due.

A training run (weekly by default): read the window's identity-days, hold out the newest
`holdout_days`, fit on the rest, backtest the candidate and the current champion on the same
held-out days, register the candidate and give it the `champion` alias only if no backtest metric
falls below the champion's (else `challenger`). Everything is logged to the model's MLflow
experiment; backtest rows go to `quality/backtest`.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.build import read_window
from jobs.silver.build import Night, conform, materialize, write_snapshot
from models import backtest as BT
from models import behaviour as BH
from models import peer_groups as PG
from models import tracking as TR
from models.config import ModelConfig
from ztlake import delta_io
from ztlake.tables import (
    BACKTEST,
    BEHAVIOUR_SCORES,
    IDENTITY_FEATURES_DAILY,
    PEER_GROUPS,
    PEER_OUTLIERS,
    silver,
)

PIP = ["scikit-learn==1.9.1", "pandas", "numpy", "scipy"]


@dataclass
class Outcome:
    """What a night did with a model, for Dagster metadata and the CLI."""

    trained: bool
    reason: str
    champion_version: str
    decision: str = ""
    candidate_version: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    run_id: str = ""


def _window_days(n: Night, days: int) -> list[dt.date]:
    df = read_window(n, days).select("date").distinct()
    return sorted(r[0] for r in df.collect())


def _split(days: list[dt.date], holdout: int) -> tuple[list[dt.date], list[dt.date]]:
    if len(days) > holdout:
        return days[:-holdout], days[-holdout:]
    return days, []


def _write_backtest(n: Night, model: str, rows: list[tuple[object, ...]]) -> None:
    df = n.spark.createDataFrame(rows, BT.BACKTEST_DDL)
    delta_io.replace_where(n.spark, df, BACKTEST.path(n.lake), f"date = {delta_io.lit_date(n.night)} AND model = '{model}'", ["date"])


def _log_common(cfg: ModelConfig, train_days: list[dt.date], holdout: list[dt.date], night: dt.date) -> None:
    mlflow.log_params({
        "seed": cfg.seed, "window_days": cfg.window_days, "holdout_days": cfg.holdout_days,
        "train_start": str(train_days[0]) if train_days else "", "train_end": str(train_days[-1]) if train_days else "",
        "heldout_start": str(holdout[0]) if holdout else "", "heldout_end": str(holdout[-1]) if holdout else "",
        "trained_on_night": str(night), "models_config_version": cfg.version, "budgets": json.dumps(list(cfg.budgets)),
    })


def _log_json(name: str, obj: Any) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_text(json.dumps(obj, indent=2, default=str))
        mlflow.log_artifact(str(p))


def _register(c: mlflow.MlflowClient, name: str, model: object, night: dt.date, decision: TR.Decision, run_id: str) -> str:
    info = mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle", registered_model_name=name,
                                    pip_requirements=PIP)
    version = str(info.registered_model_version)
    c.set_model_version_tag(name, version, "trained_through", night.isoformat())
    c.set_model_version_tag(name, version, "run_id", run_id)
    TR.set_alias(c, name, version, decision)
    mlflow.set_tag("promotion_decision", decision.reason)
    mlflow.set_tag("registered_version", version)
    return version


def _register_and_record(n: Night, c: mlflow.MlflowClient, name: str, model: object, decision: TR.Decision, run_id: str, reason: str,
                         cand: BT.Result, champ: BT.Result | None, champ_v: ModelVersion | None, holdout: list[dt.date],
                         cfg: ModelConfig) -> Outcome:
    """The end of every training run: register the candidate (alias per the decision), write both
    backtests to quality/backtest, and report which version is champion now."""
    version = _register(c, name, model, n.night, decision, run_id)
    rows = _backtest_rows(n, run_id, name, version, "candidate", cand, holdout, cfg)
    if champ is not None and champ_v is not None:
        rows += _backtest_rows(n, run_id, name, str(champ_v.version), "champion", champ, holdout, cfg)
    _write_backtest(n, name, rows)
    now = TR.version_by_alias(c, name, TR.CHAMPION)
    return Outcome(True, reason, str(now.version) if now else "", decision.reason, version, cand.metrics, run_id)


def _evaluate(scored: pd.DataFrame, labels: pd.DataFrame, cfg: ModelConfig) -> BT.Result:
    return BT.evaluate(scored, labels, cfg.budgets)


def _backtest_rows(n: Night, run_id: str, model: str, version: str, role: str, r: BT.Result, holdout: list[dt.date],
                   cfg: ModelConfig) -> list[tuple[object, ...]]:
    span = (holdout[0], holdout[-1]) if holdout else (n.night, n.night)
    return BT.rows(r, n.night, run_id, model, version, role, span, cfg.budgets, cfg.version)


def _decide(cand: BT.Result, champ: BT.Result | None, has_champion: bool) -> TR.Decision:
    return TR.decide(cand.metrics if cand.measured else None, champ.metrics if champ is not None and champ.measured else None,
                     has_champion)


# --- behaviour (isolation forest) --------------------------------------------------------------------

def _behaviour_scores_pdf(features: DataFrame, model: BH.BehaviourModel) -> pd.DataFrame:
    """Held-out identity-days scored (distributed), only (date, email, score) brought back."""
    s = BH.score_frame(features, model, "", "", top=0)
    return s.select("date", "email", F.col("anomaly_score").alias("score")).toPandas()


def train_behaviour(n: Night, cfg: ModelConfig, labels: pd.DataFrame, reason: str) -> Outcome:
    c = TR.client(n.lake)
    name = TR.BEHAVIOUR_MODEL
    days = _window_days(n, cfg.window_days)
    if not days:
        raise RuntimeError(f"no identity features for the {cfg.window_days} nights ending {n.night}: materialize "
                           f"{IDENTITY_FEATURES_DAILY.name} first")
    train_days, holdout = _split(days, cfg.holdout_days)
    window = read_window(n, cfg.window_days)
    sample = BH.training_sample(window.where(F.col("date").isin(*train_days)), cfg.max_training_rows, cfg.seed)
    model = BH.fit(sample, cfg.n_estimators, cfg.max_samples, cfg.seed)
    held = window.where(F.col("date").isin(*holdout)) if holdout else None
    cand = _evaluate(_behaviour_scores_pdf(held, model), labels, cfg) if held is not None else BT.Result(0, 0, note="not measured: "
                                                                                                          "no held-out days yet")
    champ_v = TR.version_by_alias(c, name, TR.CHAMPION)
    champ = None
    if champ_v is not None and held is not None:
        champ = _evaluate(_behaviour_scores_pdf(held, mlflow.sklearn.load_model(f"models:/{name}@{TR.CHAMPION}")), labels, cfg)
    decision = _decide(cand, champ, champ_v is not None)
    mlflow.set_experiment(experiment_id=TR.experiment_id(c, n.lake, name))
    with mlflow.start_run(run_name=f"iforest {n.night}") as run:
        _log_common(cfg, train_days, holdout, n.night)
        mlflow.log_params({"features": json.dumps(BH.feature_names()), "training_rows": len(sample), "n_estimators": cfg.n_estimators,
                           "max_samples": cfg.max_samples, "max_training_rows": cfg.max_training_rows,
                           "training_reason": reason})
        distinct = float(len(np.unique(model.pipeline[:-1].transform(BH.matrix(sample)), axis=0))) if len(sample) else 0.0
        mlflow.log_metrics({"training_rows": float(len(sample)), "distinct_training_rows": distinct, **cand.metrics,
                            **({f"champion_{k}": v for k, v in champ.metrics.items()} if champ else {})})
        probe = sample.head(2000)
        contrib = model.contributions(BH.matrix(probe)) if len(probe) else np.zeros((0, len(BH.FEATURES)))
        importance = dict(sorted(zip(BH.feature_names(), np.abs(contrib).mean(axis=0).round(5).tolist() if len(probe) else
                                     [0.0] * len(BH.FEATURES), strict=False), key=lambda kv: -kv[1]))
        _log_json("feature_importances.json", importance)
        _log_json("backtest.json", {"candidate": cand.__dict__, "champion": champ.__dict__ if champ else None,
                                    "decision": decision.reason})
        return _register_and_record(n, c, name, model, decision, run.info.run_id, reason, cand, champ, champ_v, holdout, cfg)


def behaviour_night(n: Night, cfg: ModelConfig, labels: pd.DataFrame) -> tuple[DataFrame, Outcome]:
    """Train if due, then score every identity-day of the night with the champion."""
    c = TR.client(n.lake)
    due, reason = TR.training_due(c, TR.BEHAVIOUR_MODEL, n.night, cfg.retrain_every_days)
    outcome = train_behaviour(n, cfg, labels, reason) if due else None
    champ = TR.version_by_alias(c, TR.BEHAVIOUR_MODEL, TR.CHAMPION)
    assert champ is not None
    model = mlflow.sklearn.load_model(f"models:/{TR.BEHAVIOUR_MODEL}@{TR.CHAMPION}")
    scores = materialize(conform(BH.score_frame(n.silver(IDENTITY_FEATURES_DAILY), model, TR.BEHAVIOUR_MODEL, str(champ.version),
                                                cfg.top_factors), BH.SCORES_DDL))
    write_snapshot(n, BEHAVIOUR_SCORES, scores)
    return n.keep(BEHAVIOUR_SCORES, scores), outcome or Outcome(False, reason, str(champ.version))


# --- peer groups --------------------------------------------------------------------------------------

def _snapshot(n: Night, table: str, day: dt.date) -> DataFrame:
    return delta_io.read(n.spark, silver(table).path(n.lake)).where(F.col("date") == F.lit(day))


def _peer_scores_pdf(n: Night, model: PG.PeerModel, day: dt.date, cfg: ModelConfig) -> pd.DataFrame:
    ents, ids = _snapshot(n, "entitlements", day), _snapshot(n, "identities", day)
    people = PG.people_frame(ents, ids)
    _, outliers = PG.score(n.spark, day, model, people, ents, ids, cfg, "", "")
    feats = n.spark.read.format("delta").load(IDENTITY_FEATURES_DAILY.path(n.lake)).where(F.col("date") == F.lit(day))
    joined = feats.select("date", "user_uid", "email").join(outliers.select("user_uid", "outlier_score"), "user_uid", "left")
    return joined.select("date", "email", F.coalesce("outlier_score", F.lit(0.0)).alias("score")).toPandas()


def train_peers(n: Night, cfg: ModelConfig, labels: pd.DataFrame, reason: str) -> Outcome:
    c = TR.client(n.lake)
    name = TR.PEER_MODEL
    days = _window_days(n, cfg.window_days) or [n.night]
    train_days, holdout = _split(days, cfg.holdout_days)
    fit_day = train_days[-1]
    people = PG.people_frame(_snapshot(n, "entitlements", fit_day), _snapshot(n, "identities", fit_day))
    model = PG.fit(people, cfg)
    def run_backtest(m: PG.PeerModel) -> BT.Result:
        if not holdout:
            return BT.Result(0, 0, note="not measured: no held-out days yet")
        return _evaluate(pd.concat([_peer_scores_pdf(n, m, d, cfg) for d in holdout], ignore_index=True), labels, cfg)
    cand = run_backtest(model)
    champ_v = TR.version_by_alias(c, name, TR.CHAMPION)
    champ = run_backtest(mlflow.sklearn.load_model(f"models:/{name}@{TR.CHAMPION}")) if champ_v is not None and holdout else None
    decision = _decide(cand, champ, champ_v is not None)
    mlflow.set_experiment(experiment_id=TR.experiment_id(c, n.lake, name))
    with mlflow.start_run(run_name=f"peer groups {n.night}") as run:
        _log_common(cfg, train_days, holdout, n.night)
        mlflow.log_params({"k": model.k, "k_criterion": "max mean cosine silhouette", "k_candidates": json.dumps(model.silhouettes),
                           "identities": len(people), "entitlement_vocabulary": len(model.idf()), "fit_snapshot": str(fit_day),
                           "department_weight": cfg.department_weight, "title_weight": cfg.title_weight,
                           "outlier_coverage": cfg.outlier_coverage, "privileged_multiplier": cfg.privileged_multiplier,
                           "training_reason": reason})
        mlflow.log_metrics({"k": float(model.k), **{f"silhouette_k{k}": v for k, v in model.silhouettes.items()}, **cand.metrics,
                            **({f"champion_{k}": v for k, v in champ.metrics.items()} if champ else {})})
        assigned = people.assign(peer_group=model.assign(people))
        summary = [{"peer_group": int(g), "size": int(len(m)), "departments": m["department"].value_counts().to_dict(),
                    "titles": m["title"].value_counts().head(5).to_dict(),
                    "top_entitlements": pd.Series([e for es in m["entitlements"] for e in es]).value_counts().head(8).to_dict()}
                   for g, m in assigned.groupby("peer_group")]
        _log_json("peer_group_summary.json", summary)
        _log_json("entitlement_idf.json", dict(sorted(model.idf().items(), key=lambda kv: -kv[1])))
        return _register_and_record(n, c, name, model, decision, run.info.run_id, reason, cand, champ, champ_v, holdout, cfg)


def peers_night(n: Night, cfg: ModelConfig, labels: pd.DataFrame) -> tuple[DataFrame, DataFrame, Outcome]:
    c = TR.client(n.lake)
    due, reason = TR.training_due(c, TR.PEER_MODEL, n.night, cfg.retrain_every_days)
    outcome = train_peers(n, cfg, labels, reason) if due else None
    champ = TR.version_by_alias(c, TR.PEER_MODEL, TR.CHAMPION)
    assert champ is not None
    model = mlflow.sklearn.load_model(f"models:/{TR.PEER_MODEL}@{TR.CHAMPION}")
    ents, ids = n.silver(silver("entitlements")), n.silver(silver("identities"))
    groups, outliers = PG.score(n.spark, n.night, model, PG.people_frame(ents, ids), ents, ids, cfg, TR.PEER_MODEL, str(champ.version))
    groups = materialize(conform(groups, PG.PEER_GROUPS_DDL))
    outliers = materialize(conform(outliers, PG.PEER_OUTLIERS_DDL))
    write_snapshot(n, PEER_GROUPS, groups)
    write_snapshot(n, PEER_OUTLIERS, outliers)
    return n.keep(PEER_GROUPS, groups), n.keep(PEER_OUTLIERS, outliers), outcome or Outcome(False, reason, str(champ.version))

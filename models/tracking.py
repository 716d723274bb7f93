"""MLflow: where runs and models are tracked, and the champion/challenger rule.

By default the tracking store is a sqlite database under the lake (`<lake>/mlflow/mlflow.db`, with
artifacts beside it), so nothing leaves the machine; `MLFLOW_TRACKING_URI` points it at a server.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

CHAMPION = "champion"
CHALLENGER = "challenger"
# Registered model names (one MLflow experiment per model, of the same name).
BEHAVIOUR_MODEL = "ztlake-behaviour-iforest"
PEER_MODEL = "ztlake-peer-groups"


def mlflow_dir(lake: str) -> str:
    return f"{lake.rstrip('/')}/mlflow"


def tracking_uri(lake: str) -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    Path(mlflow_dir(lake)).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(mlflow_dir(lake)).resolve()}/mlflow.db"


def client(lake: str) -> MlflowClient:
    uri = tracking_uri(lake)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(uri, uri)


def experiment_id(c: MlflowClient, lake: str, name: str) -> str:
    found = c.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    local = c.tracking_uri.startswith("sqlite:")
    artifacts = Path(mlflow_dir(lake)).resolve() / "artifacts" / name if local else None
    return str(c.create_experiment(name, artifact_location=artifacts.as_uri() if artifacts else None))


def version_by_alias(c: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return c.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def trained_through(version: ModelVersion) -> dt.date | None:
    value = (version.tags or {}).get("trained_through")
    return dt.date.fromisoformat(value) if value else None


def training_due(c: MlflowClient, name: str, night: dt.date, every_days: int) -> tuple[bool, str]:
    """Retrain when there is no champion, or the champion was trained `every_days` nights ago or more."""
    champ = version_by_alias(c, name, CHAMPION)
    if champ is None:
        return True, "no champion yet"
    through = trained_through(champ)
    if through is None or (night - through).days >= every_days:
        return True, f"champion v{champ.version} trained through {through}, {every_days}-day retraining is due"
    if through >= night:
        return False, f"champion v{champ.version} already trained through {through}"
    return False, f"champion v{champ.version} trained through {through}; next training on {through + dt.timedelta(days=every_days)}"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


COMPARED = ("recall_at_0.5pct", "recall_at_1pct", "recall_at_5pct", "pr_auc")


def decide(candidate: dict[str, float] | None, champion: dict[str, float] | None, has_champion: bool) -> Decision:
    """A candidate becomes champion only if none of its backtest metrics falls below the champion's
    on the same held-out days. Without labels there is nothing to compare: the first model is
    promoted (someone must score), later ones stay challengers until promoted by hand."""
    if not has_champion:
        return Decision(True, "no champion: the first model is promoted")
    if candidate is None or champion is None:
        return Decision(False, "backtest not measured (no labelled held-out days): kept as challenger")
    worse = [f"{m} {candidate[m]:.3f} < {champion[m]:.3f}" for m in COMPARED if m in candidate and m in champion
             and candidate[m] < champion[m] - 1e-9]
    if worse:
        return Decision(False, "kept as challenger: " + "; ".join(worse))
    return Decision(True, "promoted: no backtest metric below the champion's (" + ", ".join(
        f"{m} {candidate[m]:.3f} vs {champion[m]:.3f}" for m in COMPARED if m in candidate and m in champion) + ")")


def set_alias(c: MlflowClient, name: str, version: str, decision: Decision) -> None:
    c.set_registered_model_alias(name, CHAMPION if decision.promote else CHALLENGER, version)
    c.set_model_version_tag(name, version, "promotion_decision", decision.reason)

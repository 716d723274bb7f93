"""Model assets: peer groups and behaviour scores, scored nightly with the MLflow `champion`;
training runs inside them when it is due (weekly by default, see config/models.yaml)."""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from pyspark.sql import functions as F

from dagster_project.partitions import DAILY
from dagster_project.resources import LakeResource, ModelsResource, SparkResource, night_of
from models import jobs as MJ
from models.backtest import label_days
from models.config import load as load_models
from models.tracking import tracking_uri
from ztlake.tables import (
    BACKTEST,
    BEHAVIOUR_SCORES,
    GROUP_ML,
    IDENTITY_FEATURES_DAILY,
    PEER_GROUPS,
    PEER_OUTLIERS,
    silver,
)


def _meta(outcome: MJ.Outcome, lake: str) -> dict[str, Any]:
    return {"trained_tonight": outcome.trained, "training": outcome.reason, "champion_version": outcome.champion_version,
            **({"promotion_decision": outcome.decision, "candidate_version": outcome.candidate_version,
                "backtest": MetadataValue.json(outcome.metrics), "mlflow_run_id": outcome.run_id,
                "backtest_table": MetadataValue.path(BACKTEST.path(lake))} if outcome.trained else {}),
            "mlflow_tracking_uri": tracking_uri(lake)}


@multi_asset(
    specs=[
        AssetSpec(AssetKey(PEER_GROUPS.key), deps=[AssetKey(silver("entitlements").key), AssetKey(silver("identities").key),
                                                   AssetKey(IDENTITY_FEATURES_DAILY.key)],
                  group_name=GROUP_ML, kinds={"python", "mlflow", "delta"},
                  description="Every identity x entitlement with the identity's peer group and the peer coverage of the entitlement."),
        AssetSpec(AssetKey(PEER_OUTLIERS.key), deps=[AssetKey(silver("entitlements").key), AssetKey(silver("identities").key),
                                                     AssetKey(IDENTITY_FEATURES_DAILY.key)],
                  group_name=GROUP_ML, kinds={"python", "mlflow", "delta"},
                  description="Per identity: peer-outlier score and rank, with the entitlements its peers do not hold."),
    ],
    partitions_def=DAILY,
)
def peer_groups(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource,
                models: ModelsResource) -> Iterator[MaterializeResult]:
    n = night_of(context, spark, lake)
    cfg = load_models(retrain_every_days=models.retrain_every_days)
    groups, outliers, outcome = MJ.peers_night(n, cfg, label_days(models.labels_path()))
    top = [f"{r['rank']}. {r['email']}: {r['explanation']}" for r in outliers.where(F.col("rank") <= 5).orderBy("rank").collect()]
    yield MaterializeResult(asset_key=AssetKey(PEER_GROUPS.key), metadata={
        "path": MetadataValue.path(PEER_GROUPS.path(n.lake)), **_meta(outcome, n.lake)})
    yield MaterializeResult(asset_key=AssetKey(PEER_OUTLIERS.key), metadata={
        "path": MetadataValue.path(PEER_OUTLIERS.path(n.lake)), "top_outliers": MetadataValue.json(top)})


@asset(
    key=AssetKey(BEHAVIOUR_SCORES.key),
    deps=[AssetKey(IDENTITY_FEATURES_DAILY.key)],
    group_name=GROUP_ML,
    partitions_def=DAILY,
    kinds={"python", "mlflow", "delta"},
    description="Isolation-forest anomaly score and percentile per identity-day, with its top contributing features in words.",
)
def behaviour_scores(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource, models: ModelsResource) -> MaterializeResult:
    n = night_of(context, spark, lake)
    cfg = load_models(retrain_every_days=models.retrain_every_days)
    scores, outcome = MJ.behaviour_night(n, cfg, label_days(models.labels_path()))
    top = [f"{r['email']} p{r['percentile']:.1f}: " + "; ".join(f["explanation"] for f in r["top_factors"])
           for r in scores.orderBy(F.desc("anomaly_score")).limit(5).collect()]
    return MaterializeResult(metadata={"path": MetadataValue.path(BEHAVIOUR_SCORES.path(n.lake)), "top_scores": MetadataValue.json(top),
                                       **_meta(outcome, n.lake)})


ML_ASSETS = [peer_groups, behaviour_scores]

"""Risk asset: tonight's decisions from the versioned policy (policies/current.yaml), at the
identity-day and sensitive-request grains, each with its factors and the policy version."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from pyspark.sql import functions as F

from dagster_project.partitions import DAILY
from dagster_project.resources import LakeResource, ModelsResource, SparkResource, night_of
from jobs.risk.build import backtest_night, build_incidents, build_risk
from models.backtest import label_days
from models.config import load as load_models
from ztlake.tables import (
    BEHAVIOUR_SCORES,
    DEVICE_FEATURES_DAILY,
    GROUP_GOLD,
    IDENTITY_FEATURES_DAILY,
    INCIDENTS,
    PEER_OUTLIERS,
    POLICY_LOG,
    RISK_SCORES,
    silver,
)

RISK_INPUTS = [AssetKey(t.key) for t in (IDENTITY_FEATURES_DAILY, DEVICE_FEATURES_DAILY, PEER_OUTLIERS, BEHAVIOUR_SCORES)] + [
    AssetKey(silver(t).key) for t in ("authentication", "api_activity", "datastore_activity", "resources")]


@asset(
    key=AssetKey(RISK_SCORES.key),
    deps=RISK_INPUTS,
    group_name=GROUP_GOLD,
    partitions_def=DAILY,
    kinds={"spark", "delta"},
    description="Risk score (0-100), decision and its factors per identity-day and per sensitive request, from the versioned "
                "policy in policies/current.yaml (docs/policy.md).",
)
def risk_scores(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource, models: ModelsResource) -> MaterializeResult:
    n = night_of(context, spark, lake)
    df, inforce = build_risk(n)
    cfg = load_models()
    bt = backtest_night(n, df, label_days(models.labels_path()), cfg.budgets, context.run_id, cfg.version, inforce.policy)
    if inforce.refused:
        context.log.warning(f"policies/current.yaml refused; policy {inforce.policy.version} stays in force:\n{inforce.refused}")
    counts = {f"{r['grain']}:{r['decision']}": r["count"] for r in df.groupBy("grain", "decision").count().collect()}
    top = [f"{r['email']} {r['score']:.0f} {r['decision']}: " + "; ".join(f["name"] for f in r["factors"][:3])
           for r in df.where(F.col("grain") == "identity_day").orderBy(F.desc("score")).limit(5).collect()]
    return MaterializeResult(metadata={
        "path": MetadataValue.path(RISK_SCORES.path(n.lake)), "policy_version": inforce.policy.version,
        "policy_mode": inforce.policy.mode, "decisions": MetadataValue.json(dict(sorted(counts.items()))),
        "riskiest_identities": MetadataValue.json(top), "policy_refused": inforce.refused or "no",
        "policy_log": MetadataValue.path(POLICY_LOG.path(n.lake)),
        "backtest": MetadataValue.json({**bt.metrics, "false_deny_rate": bt.false_deny_rate,
                                        "lookalike_above_step_up_rate": bt.above_step_up_rate, "caught_at_1pct": bt.caught.get(0.01),
                                        "missed_at_1pct": bt.missed.get(0.01), "note": bt.note})})


@asset(
    key=AssetKey(INCIDENTS.key),
    deps=[AssetKey(RISK_SCORES.key)],
    group_name=GROUP_GOLD,
    partitions_def=DAILY,
    kinds={"spark", "delta"},
    description="One case per identity for related high-risk rows within a window, updated on later nights: severity, factors, "
                "evidence pointers (silver table and _event_id), a summary citing them, and next steps.",
)
def incidents(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    n = night_of(context, spark, lake)
    df = build_incidents(n)
    open_now = df.where(F.col("status") == "open")
    top = [f"{r['severity']} {r['email']}: {r['summary'][:300]}" for r in open_now.orderBy(F.desc("max_score")).limit(5).collect()]
    return MaterializeResult(metadata={
        "path": MetadataValue.path(INCIDENTS.path(n.lake)), "open": open_now.count(),
        "updated_tonight": open_now.where(F.col("last_seen") == F.lit(n.night)).count(), "top": MetadataValue.json(top)})


RISK_ASSETS = [risk_scores, incidents]

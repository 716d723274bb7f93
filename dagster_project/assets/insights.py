"""What people read (docs/metrics.md): access-review priorities for IAM teams, blast radius for
security architects, outcome metrics and the static leadership report for leadership.

Each night's tables are built only after the night's silver gates passed (they sit downstream of
the gated silver assets), and the report only after the night's publication record."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from pyspark.sql import functions as F

from dagster_project.partitions import DAILY
from dagster_project.resources import LakeResource, SparkResource, night_of
from jobs.insights import build as IB
from jobs.insights.report import write_report
from jobs.silver import build as B
from ztlake.tables import (
    ACCESS_REVIEW_PRIORITIES,
    BLAST_RADIUS,
    DEVICE_FEATURES_DAILY,
    GROUP_GOLD,
    GROUP_PUBLISH,
    IDENTITY_BASELINES,
    IDENTITY_FEATURES_DAILY,
    INCIDENTS,
    NIGHTLY_PUBLICATION,
    OUTCOME_METRICS,
    PEER_GROUPS,
    REPORTS_DIR,
    RISK_SCORES,
    bronze,
    silver,
)

REPORT_KEY = AssetKey([REPORTS_DIR, "leadership_report"])


def _night(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> B.Night:
    return night_of(context, spark, lake)


@asset(
    key=AssetKey(ACCESS_REVIEW_PRIORITIES.key),
    deps=[AssetKey(t.key) for t in (silver("entitlements"), silver("identities"), silver("resources"), PEER_GROUPS, IDENTITY_BASELINES)],
    group_name=GROUP_GOLD,
    partitions_def=DAILY,
    kinds={"spark", "delta"},
    description="Every identity x entitlement ranked by how risky it is to keep (rank 1 = review first), with a recommendation "
                "(revoke, convert_to_jit, review, keep) and its reasons in words. Weights: policies/current.yaml access_review.",
)
def access_review_priorities(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    n = _night(context, spark, lake)
    df = IB.build_access_review(n)
    counts = {r["recommendation"]: r["count"] for r in df.groupBy("recommendation").count().collect()}
    top = [f"{r['rank']}. {r['email']} {r['entitlement']} ({r['recommendation']}): {r['reasons'][0]}"
           for r in df.orderBy("rank").limit(10).collect()]
    return MaterializeResult(metadata={"path": MetadataValue.path(ACCESS_REVIEW_PRIORITIES.path(n.lake)),
                                       "recommendations": MetadataValue.json(counts), "top_10": MetadataValue.json(top)})


@asset(
    key=AssetKey(BLAST_RADIUS.key),
    deps=[AssetKey(t.key) for t in (silver("entitlements"), silver("identities"), silver("resources"), DEVICE_FEATURES_DAILY)],
    group_name=GROUP_GOLD,
    partitions_def=DAILY,
    kinds={"spark", "delta"},
    description="How far one identity or device reaches (resources, sensitive ones, behind controls or network-only, standing "
                "and just-in-time admin roles), and the organization's figures, per night.",
)
def blast_radius(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    n = _night(context, spark, lake)
    df = IB.build_blast_radius(n)
    org = df.where(F.col("grain") == "organization").first()
    return MaterializeResult(metadata={
        "path": MetadataValue.path(BLAST_RADIUS.path(n.lake)),
        "organization": MetadataValue.json({k: org[k] for k in ("apps_behind_controls_share", "standing_admin_roles", "jit_admin_roles",
                                                                "mean_reachable", "p95_reachable")} if org else {})})


@asset(
    key=AssetKey(OUTCOME_METRICS.key),
    deps=[AssetKey(t.key) for t in (silver("identities"), silver("entitlements"), IDENTITY_FEATURES_DAILY, RISK_SCORES, INCIDENTS,
                                    BLAST_RADIUS, bronze("soc_cases"))],
    group_name=GROUP_GOLD,
    partitions_def=DAILY,
    kinds={"spark", "delta"},
    description="One row per outcome metric per night (hygiene, detection quality, blast radius, user friction), with its "
                "definition version; a metric that cannot be measured says why.",
)
def outcome_metrics(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    n = _night(context, spark, lake)
    rows = IB.build_outcomes(n).collect()
    return MaterializeResult(metadata={
        "path": MetadataValue.path(OUTCOME_METRICS.path(n.lake)),
        "metrics": MetadataValue.json({r["metric"]: (r["value"] if r["status"] == "measured" else r["status"]) for r in rows})})


@asset(
    key=REPORT_KEY,
    deps=[AssetKey(t.key) for t in (OUTCOME_METRICS, INCIDENTS, BLAST_RADIUS, ACCESS_REVIEW_PRIORITIES, NIGHTLY_PUBLICATION)],
    group_name=GROUP_PUBLISH,
    partitions_def=DAILY,
    kinds={"html"},
    description="The static leadership report at <lake>/reports/<date>/index.html: outcome metrics with 30-night trends, top "
                "incidents (pseudonymized), blast-radius movement and the joinability gate's status. No script, no external asset.",
)
def leadership_report(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    n = _night(context, spark, lake)
    path = write_report(n)
    return MaterializeResult(metadata={"path": MetadataValue.path(path)})


INSIGHT_ASSETS = [access_review_priorities, blast_radius, outcome_metrics, leadership_report]

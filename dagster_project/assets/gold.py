"""Gold feature assets: identity and device features for the night (docs/features.md).

They run after every blocking silver gate of the night passed (they depend on the silver assets),
so features are never computed from data that failed the joinability gate.
"""

from collections.abc import Iterator

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
from dagster_project.resources import LakeResource, SparkResource, night_of
from features import build as FB
from features.config import load as load_features
from ztlake.tables import (
    DEVICE_FEATURES_DAILY,
    GROUP_GOLD,
    IDENTITY_BASELINES,
    IDENTITY_FEATURES_DAILY,
    silver,
)

FEATURE_INPUTS = [AssetKey(silver(t).key) for t in ("authentication", "api_activity", "datastore_activity", "identities", "devices",
                                                     "resources", "threat_indicators")]


@multi_asset(
    specs=[
        AssetSpec(AssetKey(IDENTITY_FEATURES_DAILY.key), deps=FEATURE_INPUTS, group_name=GROUP_GOLD, kinds={"spark", "delta"},
                  description="One row per identity per night: volume, MFA, devices, location, time, resources, privilege, tokens, "
                              "data, threat intel and account-state features (docs/features.md)."),
        AssetSpec(AssetKey(IDENTITY_BASELINES.key), deps=FEATURE_INPUTS, group_name=GROUP_GOLD, kinds={"spark", "delta"},
                  description="Each identity's rolling baseline after the night (weighted means, hour profile, known devices, "
                              "resources, countries and networks): what tomorrow's features compare against."),
    ],
    partitions_def=DAILY,
)
def identity_features(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> Iterator[MaterializeResult]:
    n = night_of(context, spark, lake)
    cfg = load_features()
    feats, scanned = FB.build_identity_features(n, cfg)
    r = feats.agg(F.count("*").alias("n"), F.sum((F.col("events_total") > 0).cast("int")).alias("active"),
                  F.sum("impossible_travel_pairs").alias("travel"), F.sum(F.col("active_after_termination").cast("int")).alias("leavers"),
                  F.sum("threat_intel_hits").alias("ti")).first()
    assert r is not None
    meta = {"path": MetadataValue.path(IDENTITY_FEATURES_DAILY.path(n.lake)), "rows": r["n"], "active_identities": r["active"] or 0,
            "impossible_travel_pairs": r["travel"] or 0, "active_after_termination": r["leavers"] or 0,
            "threat_intel_hits": r["ti"] or 0, "rows_scanned": MetadataValue.json(scanned), "features_version": cfg.version}
    yield MaterializeResult(asset_key=AssetKey(IDENTITY_FEATURES_DAILY.key), metadata=meta)
    yield MaterializeResult(asset_key=AssetKey(IDENTITY_BASELINES.key),
                            metadata={"path": MetadataValue.path(IDENTITY_BASELINES.path(n.lake)), "rows_scanned": MetadataValue.json(
                                {"baseline_prev": scanned["baseline_prev"]})})


@asset(
    key=AssetKey(DEVICE_FEATURES_DAILY.key),
    deps=FEATURE_INPUTS,
    group_name=GROUP_GOLD,
    partitions_def=DAILY,
    kinds={"spark", "delta"},
    description="One row per device per night: posture (managed, compliant, encrypted, EDR, patch age, jailbroken), ghost status, "
                "and the identities that used it.",
)
def device_features(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    n = night_of(context, spark, lake)
    df = FB.build_device_features(n, load_features())
    r = df.agg(F.count("*").alias("n"), F.sum(F.col("ghost").cast("int")).alias("ghosts"),
               F.sum((~F.coalesce("managed", F.lit(False))).cast("int")).alias("unmanaged")).first()
    assert r is not None
    return MaterializeResult(metadata={"path": MetadataValue.path(DEVICE_FEATURES_DAILY.path(n.lake)), "rows": r["n"],
                                       "ghost_devices": r["ghosts"] or 0, "unmanaged": r["unmanaged"] or 0})


GOLD_ASSETS = [identity_features, device_features]

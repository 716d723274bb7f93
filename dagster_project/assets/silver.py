"""Silver assets: the OCSF-aligned model, each gated by its Great Expectations suite.

Every silver asset runs its suite as a blocking asset check (blocking where
`expectations/thresholds.yaml` says so): a failed blocking check stops every downstream silver,
gold and publish asset of the night, and the check's metadata names the failed expectations with
their observed shares.
"""


import datetime as dt
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dagster_project.partitions import DAILY
from dagster_project.resources import LakeResource, SparkResource, night_of
from expectations.gate import NightGate, SuiteOutcome
from expectations.suites import load_thresholds
from jobs.silver import build as B
from ztlake.tables import GROUP_SILVER, SILVER_EVENT_TABLES, VALIDATION_RESULTS, bronze, silver

GATE = "joinability_gate"

DESCRIPTIONS = {
    "identities": "One row per person or workload per night: aliases with the rule that linked each, HR state, vouching sources.",
    "devices": "One row per real device per night (Intune, EDR, Entra, Okta, Windows reconciled), ghost devices with evidence. "
               "Also writes silver/device_ip_map.",
    "entitlements": "Identity x entitlement x resource per night: groups, AWS permission sets, policies, trust-policy chains.",
    "resources": "The resource catalog plus resources seen in activity but missing from it (in_catalog = false).",
    "threat_indicators": "STIX indicators known by each night, with whether each is active on that date.",
    "authentication": "OCSF 3002 Authentication from Okta, Entra sign-ins and Windows logons.",
    "api_activity": "OCSF 6003 API Activity from CloudTrail, with assumed roles and session issuers.",
    "account_change": "OCSF 3001 Account Change from Okta, Entra audit, Windows 4720-4767 and CloudTrail IAM writes.",
    "entitlement_change": "OCSF 3005 User Access Management: group, role, policy and consent grants and revocations.",
    "dns_activity": "OCSF 4003 DNS Activity from Zeek dns.log.",
    "network_activity": "OCSF 4001 Network Activity from Zeek conn.log.",
    "datastore_activity": "OCSF 6005 Datastore Activity: reads, queries and exports.",
}


def _deps(table: str) -> list[AssetKey]:
    k = lambda t: AssetKey(silver(t).key)  # noqa: E731
    b = lambda s: AssetKey(bronze(s).key)  # noqa: E731
    catalog = b("resource_catalog")
    if table == "identities":
        return [b(s) for s in B.IDENTITY_SOURCES]
    if table == "devices":
        return [k("identities"), catalog, *[b(s) for s in ("intune_devices", "edr_hosts", "okta", "entra_signin", "windows_security",
                                                          "zeek_dns", "zeek_conn", "data_access")]]
    if table in SILVER_EVENT_TABLES:
        return [k("identities"), k("devices"), catalog, *[b(s) for s in dict.fromkeys(B.event_sources(table))]]
    if table == "entitlements":
        return [k("identities"), k("authentication"), k("api_activity"), k("datastore_activity"), catalog,
                *[b(s) for s in ("scim_groups", "scim_users", "aws_iam")]]
    if table == "resources":
        return [catalog, *[k(t) for t in B.RESOURCE_EVENT_TABLES]]
    if table == "threat_indicators":
        return [b("threat_intel")]
    raise KeyError(table)


def _stats(table: str, df: DataFrame) -> dict[str, Any]:
    if table in SILVER_EVENT_TABLES:
        rows = df.groupBy("user_resolution", "device_resolution", "resource_resolution").count().collect()
        def tally(col: str) -> dict[str, int]:
            out: dict[str, int] = {}
            for r in rows:
                key = (r[col] or "null").split(":")[0] if not (r[col] or "").startswith("ambiguous") else r[col]
                out[key] = out.get(key, 0) + r["count"]
            return dict(sorted(out.items(), key=lambda kv: -kv[1]))
        return {"rows": sum(r["count"] for r in rows), "user_resolution": MetadataValue.json(tally("user_resolution")),
                "device_resolution": MetadataValue.json(tally("device_resolution")),
                "resource_resolution": MetadataValue.json(tally("resource_resolution"))}
    if table == "devices":
        r = df.agg(F.count("*").alias("n"), F.sum(F.col("ghost").cast("int")).alias("ghosts"),
                   F.sum(F.col("managed").cast("int")).alias("managed"), F.sum(F.col("seen_tonight").cast("int")).alias("seen")).first()
        assert r is not None
        return {"rows": r["n"], "ghost_devices": r["ghosts"] or 0, "managed": r["managed"] or 0, "seen_tonight": r["seen"] or 0}
    if table == "identities":
        r = df.agg(F.count("*").alias("n"), F.sum(F.col("in_directory").cast("int")).alias("dir"),
                   F.sum(F.col("active").cast("int")).alias("active")).first()
        assert r is not None
        return {"rows": r["n"], "in_directory": r["dir"] or 0, "active": r["active"] or 0}
    return {"rows": df.count()}


KEYS = {table: AssetKey(silver(table).key) for table in B.SILVER_ORDER}


def _check(table: str, outcome: SuiteOutcome, lake: str) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=KEYS[table],
        check_name=GATE,
        passed=outcome.passed,
        severity=AssetCheckSeverity.ERROR if outcome.blocking else AssetCheckSeverity.WARN,
        description=("passed" if outcome.passed else "FAILED: " + "; ".join(o.describe() for o in outcome.failed)),
        metadata={
            "failed_expectations": MetadataValue.json([o.describe() for o in outcome.failed]),
            "observed": MetadataValue.json({o.expectation: o.observed if o.observed is not None else
                                            (None if o.unexpected_percent is None else f"{o.unexpected_percent:.2f}% unexpected")
                                            for o in outcome.outcomes}),
            "thresholds_version": outcome.thresholds_version,
            "validation_results": MetadataValue.path(VALIDATION_RESULTS.path(lake)),
            **({"data_docs": MetadataValue.url(outcome.data_docs)} if outcome.data_docs else {}),
        },
    )


@multi_asset(
    specs=[
        AssetSpec(KEYS[t], deps=_deps(t), group_name=GROUP_SILVER, kinds={"spark", "delta"}, skippable=True,
                  description=DESCRIPTIONS[t], metadata={"partitioned_by": "event_date" if t in SILVER_EVENT_TABLES else "date"})
        for t in B.SILVER_ORDER
    ],
    check_specs=[
        AssetCheckSpec(GATE, asset=KEYS[t], blocking=load_thresholds().blocking(t),
                       description=f"Great Expectations suite silver.{t}: keys, values, times, uniqueness, joinability.")
        for t in B.SILVER_ORDER
    ],
    partitions_def=DAILY,
    can_subset=True,
    name="silver_model",
)
def silver_model(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> Iterator[
        MaterializeResult | AssetCheckResult]:
    """Normalize the night into the OCSF-aligned model, gating each table as it is built."""
    night = dt.date.fromisoformat(context.partition_key)
    n = night_of(context, spark, lake)
    gate = NightGate(n.spark, n.lake, night, context.run_id)
    outcomes: dict[str, SuiteOutcome] = {}

    def check(table: str, df: DataFrame) -> bool:
        outcomes[table] = o = gate.check(table, df)
        if o.failed:
            context.log.error(f"silver.{table} failed its gate: " + "; ".join(x.describe() for x in o.failed))
        return o.passed or not o.blocking

    selected = {t for t, k in KEYS.items() if k in context.selected_asset_keys}
    built = B.build_silver(n, selected, check)
    gate.finish()
    for table in B.SILVER_ORDER:
        if table in built:
            yield MaterializeResult(asset_key=KEYS[table], metadata={"path": MetadataValue.path(silver(table).path(n.lake)),
                                                                     **_stats(table, built[table])})
            yield _check(table, outcomes[table], n.lake)
    skipped = sorted(selected - set(built))
    if skipped:
        context.log.error(f"not built tonight, because a table they depend on failed its gate: {', '.join(skipped)}")


SILVER_ASSETS = [silver_model]

"""Incidents: related high-risk rows of one identity become one case, updated on later nights.

A night's high-risk rows (score at least `min_score`) of an identity join that identity's open
incident when its last sighting is within `window_days`; otherwise they open a new one. The table is
a nightly snapshot (like silver's): each night writes every incident still open or updated, so the
latest partition is the current state and a rerun replaces the night.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

INCIDENTS_DDL = (
    "date date, incident_id string, user_uid string, email string, status string, severity string, max_score double, "
    "first_seen date, last_seen date, nights array<date>, alert_count bigint, decisions array<string>, "
    "factors array<struct<name:string,contribution:double,detail:string>>, "
    "evidence array<struct<table:string,_event_id:string>>, summary string, next_steps array<string>, policy_version string"
)
EVIDENCE = "array<struct<table:string,_event_id:string>>"
# Recommended next step per factor (sequence factors match on their prefix).
NEXT_STEPS = {
    "known_bad_ip": "block the source IP and revoke the identity's active sessions",
    "impossible_travel": "revoke the session and re-verify the user out of band",
    "unmanaged_device": "require a managed device for this identity's sessions",
    "new_device": "confirm the new device with the user",
    "edr_unhealthy": "isolate the host and restore its EDR sensor",
    "large_export": "review the export with the data owner and limit further exports",
    "long_lived_key_new_network": "rotate the access key",
    "activity_after_termination": "disable the account and revoke all sessions and keys now",
    "dormant_account": "confirm the account owner; disable it if unclaimed",
    "peer_outlier_entitlement": "review the outlier entitlement with its owner; revoke if unneeded",
    "mfa_denial_burst": "reset the user's MFA factors and contact them out of band",
    "iam_burst": "review the IAM activity and restrict the role",
    "token_age": "revoke long-lived sessions",
    "off_hours_sensitive": "confirm the off-hours access with the user's manager",
    "rare_resource": "confirm the need for the newly used resource",
    "behaviour_anomaly": "review the identity's activity for the night",
    "unknown_device": "require device-bound credentials (SSO from a managed device) for this identity's API sessions",
    "ghost_device": "find and isolate the unknown host; enrol it in MDM and EDR or remove it from the network",
    "outlier_entitlement_used": "review what the outlier entitlement was used for; revoke it or move it to just-in-time",
    "iam_denied": "revoke the session that probed IAM and review which permissions it tried",
    "large_read": "review the read with the data owner and limit bulk reads",
    "off_hours_bulk_read": "confirm the off-hours read with the user's manager and the data owner; limit bulk reads",
    "sequence:impossible_travel_then_privileged_role": "revoke the session and the role's credentials; review what the role did",
    "sequence:new_or_unmanaged_device_then_sensitive_export": "block exports from unmanaged devices; review the exported data",
    "sequence:consent_or_mfa_enrollment_then_token_then_escalation": "revoke the OAuth grant and new MFA factor; remove the escalated policy",
}


def _severity(score: Column) -> Column:
    return F.when(score >= 80, "critical").when(score >= 65, "high").when(score >= 45, "medium").otherwise("low")


def tonight_cases(night: dt.date, risk: DataFrame, min_score: float) -> DataFrame:
    """One candidate case per identity from tonight's rows at or above `min_score`."""
    hot = risk.where(F.col("score") >= min_score)
    factors = hot.select("user_uid", F.explode("factors").alias("f")).groupBy("user_uid", F.col("f.name").alias("name")).agg(
        F.max("f.contribution").alias("contribution"), F.max_by("f.detail", "f.contribution").alias("detail"))
    factors = factors.groupBy("user_uid").agg(F.collect_list(F.struct("name", "contribution", "detail")).alias("factors"))
    devices = hot.where(F.col("device_uid").isNotNull()).select("user_uid", F.struct(
        F.lit("devices").alias("table"), F.concat("device_uid", F.lit("@"), F.lit(night.isoformat())).alias("_event_id")).alias("e"))
    events = hot.select("user_uid", F.explode("evidence").alias("e")).unionByName(devices)
    evidence = events.groupBy("user_uid").agg(F.array_sort(F.collect_set("e")).alias("evidence"))
    return hot.groupBy("user_uid").agg(
        F.first("email", ignorenulls=True).alias("email"), F.max("score").alias("max_score"), F.count("*").alias("alert_count"),
        F.array_sort(F.collect_set("decision")).alias("decisions"), F.max("policy_version").alias("policy_version"),
    ).join(factors, "user_uid", "left").join(evidence, "user_uid", "left")


def _summary(df: DataFrame) -> Column:
    top = F.slice(F.col("factors"), 1, 4)
    ids = F.array_join(F.transform(F.slice("evidence", 1, 12), lambda e: F.concat(e["table"], F.lit(":"), e["_event_id"])), ", ")
    return F.concat(
        F.col("email"), F.lit(": "), F.col("alert_count").cast("string"), F.lit(" high-risk decision(s) from "),
        F.col("first_seen").cast("string"), F.lit(" to "), F.col("last_seen").cast("string"), F.lit("; highest score "),
        F.format_number("max_score", 0), F.lit(" ("), F.array_join("decisions", ", "), F.lit("). Because: "),
        F.array_join(F.transform(top, lambda f: f["detail"]), "; "), F.lit(". Evidence: "), ids,
        F.when(F.size("evidence") > 12, F.concat(F.lit(" and "), (F.size("evidence") - 12).cast("string"), F.lit(" more")))
        .otherwise(F.lit("")), F.lit("."))


def open_at(previous: DataFrame, night: dt.date, window_days: int) -> DataFrame:
    """Incidents open when the night starts: open in the previous snapshot, last seen inside the window."""
    return previous.where((F.col("status") == "open") & (F.col("last_seen") >= F.lit(night - dt.timedelta(days=window_days))))


def roll(night: dt.date, cases: DataFrame, previous: DataFrame, window_days: int) -> DataFrame:
    """Tonight's incidents: open ones updated with tonight's cases, new ones opened, quiet ones kept
    until their window passes (then written once more as `closed`, and dropped after)."""
    prev = previous.where(F.col("status") == "open").drop("date")
    live = open_at(previous, night, window_days).drop("date")
    p = live.select(*[F.col(c).alias(f"p_{c}") for c in live.columns])
    j = cases.join(p, cases["user_uid"] == p["p_user_uid"], "full_outer")
    has_new = F.col("user_uid").isNotNull()
    merged_factors = F.array_sort(
        F.concat(F.coalesce("factors", F.array().cast("array<struct<name:string,contribution:double,detail:string>>")),
                 F.coalesce("p_factors", F.array().cast("array<struct<name:string,contribution:double,detail:string>>"))),
        lambda a, b: F.when(a["contribution"] > b["contribution"], -1).when(a["contribution"] < b["contribution"], 1).otherwise(0))
    dedup = F.aggregate(merged_factors, F.array().cast("array<struct<name:string,contribution:double,detail:string>>"),
                        lambda acc, f: F.when(F.exists(acc, lambda x: x["name"] == f["name"]), acc).otherwise(
                            F.concat(acc, F.array(f))))
    out = j.select(
        F.lit(night).alias("date"),
        F.coalesce("p_incident_id", F.concat(F.lit("inc_"), F.substring(F.sha2(F.concat_ws("|", "user_uid", F.lit(night.isoformat())), 256),
                                                                        1, 16))).alias("incident_id"),
        F.coalesce("user_uid", "p_user_uid").alias("user_uid"), F.coalesce("email", "p_email").alias("email"),
        F.lit("open").alias("status"),
        F.greatest(F.coalesce("max_score", F.lit(0.0)), F.coalesce("p_max_score", F.lit(0.0))).alias("max_score"),
        F.coalesce("p_first_seen", F.lit(night)).alias("first_seen"),
        F.when(has_new, F.lit(night)).otherwise(F.col("p_last_seen")).alias("last_seen"),
        F.array_sort(F.array_distinct(F.concat(F.coalesce("p_nights", F.array().cast("array<date>")),
                                               F.when(has_new, F.array(F.lit(night))).otherwise(F.array().cast("array<date>"))))).alias("nights"),
        (F.coalesce("alert_count", F.lit(0)) + F.coalesce("p_alert_count", F.lit(0))).alias("alert_count"),
        F.array_sort(F.array_distinct(F.concat(F.coalesce("decisions", F.array().cast("array<string>")),
                                               F.coalesce("p_decisions", F.array().cast("array<string>"))))).alias("decisions"),
        dedup.alias("factors"),
        F.array_sort(F.array_distinct(F.concat(F.coalesce("evidence", F.array().cast(EVIDENCE)),
                                               F.coalesce("p_evidence", F.array().cast(EVIDENCE))))).alias("evidence"),
        F.coalesce("policy_version", "p_policy_version").alias("policy_version"),
    )
    steps_map = F.create_map(*[x for kv in NEXT_STEPS.items() for x in (F.lit(kv[0]), F.lit(kv[1]))])
    out = out.withColumn("severity", _severity(F.col("max_score"))).withColumn("summary", _summary(out)).withColumn(
        "next_steps", F.array_distinct(F.filter(F.transform("factors", lambda f: F.try_element_at(steps_map, f["name"])),
                                                lambda x: x.isNotNull())))
    closed = prev.where(F.col("last_seen") < F.lit(night - dt.timedelta(days=window_days))).withColumn("date", F.lit(night)).withColumn(
        "status", F.lit("closed"))
    return out.unionByName(closed.select(*out.columns))

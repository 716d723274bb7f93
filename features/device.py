"""Device features: pure transforms. One row per device in tonight's devices snapshot: its posture,
whether it is a ghost, and the identities that used it tonight (and how many)."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DEVICE_FEATURES_DDL = (
    "date date, device_uid string, hostname string, os string, managed boolean, compliant boolean, encrypted boolean, "
    "jailbroken boolean, edr_present boolean, edr_healthy boolean, edr_days_since_seen int, patch_age_days int, "
    "os_version_behind boolean, ghost boolean, ghost_evidence_count bigint, new_device boolean, days_since_first_seen int, "
    "owner_user_uid string, owner_email string, users array<string>, user_emails array<string>, user_count int, "
    "events bigint, sensitive_accesses bigint, seen_tonight boolean, _features_version string"
)


def device_features(night: dt.date, devices: DataFrame, events: DataFrame, identities: DataFrame, version: str) -> DataFrame:
    """`events` is `identity.activity_events` (tonight, every identity); devices nobody used tonight keep
    an empty user list."""
    who = events.where(F.col("device_uid").isNotNull()).groupBy("device_uid").agg(
        F.array_sort(F.collect_set("user_uid")).alias("users"), F.count("*").alias("events"),
        F.sum(F.col("sensitive").cast("long")).alias("sensitive_accesses"))
    emails = (events.where(F.col("device_uid").isNotNull()).select("device_uid", "user_uid").distinct()
              .join(identities.select("user_uid", "email"), "user_uid")
              .groupBy("device_uid").agg(F.array_sort(F.collect_set("email")).alias("user_emails")))
    empty = F.array().cast("array<string>")
    return devices.join(who, "device_uid", "left").join(emails, "device_uid", "left").select(
        F.lit(night).alias("date"), "device_uid", F.try_element_at("hostnames", F.lit(1)).alias("hostname"), "os", "managed",
        "compliant", "encrypted", "jailbroken", "edr_present", "edr_healthy",
        F.date_diff(F.lit(night), F.to_date("edr_last_seen")).alias("edr_days_since_seen"), "patch_age_days", "os_version_behind",
        "ghost", "ghost_evidence_count", (F.col("first_seen_date") == F.lit(night)).alias("new_device"),
        F.date_diff(F.lit(night), F.col("first_seen_date")).alias("days_since_first_seen"), "owner_user_uid", "owner_email",
        F.coalesce("users", empty).alias("users"), F.coalesce("user_emails", empty).alias("user_emails"),
        F.size(F.coalesce("users", empty)).alias("user_count"), F.coalesce("events", F.lit(0)).alias("events"),
        F.coalesce("sensitive_accesses", F.lit(0)).alias("sensitive_accesses"), "seen_tonight", F.lit(version).alias("_features_version"),
    )

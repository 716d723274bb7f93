"""Blast radius: how far an attacker gets from one identity, one device, and across the organization.

Pure transformations over tonight's silver entitlements (which already follow nested directory
groups and AWS role-assumption chains through trust policies), resources and device features.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.insights.access_review import CONTROLLED_PATHS
from jobs.insights.grants import with_grant

BLAST_DDL = (
    "date date, grain string, user_uid string, email string, device_uid string, hostname string, identities array<string>, "
    "reachable_resources int, reachable_sensitive int, behind_controls int, network_only int, standing_admin_roles int, "
    "jit_admin_roles int, resource_uids array<string>, apps_behind_controls_share double, mean_reachable double, "
    "p95_reachable double, reachable_change int"
)
SENSITIVE = ("high", "critical")


def _reach(pairs: DataFrame, keys: list[str]) -> DataFrame:
    """Per key: distinct reachable resources, how many are sensitive, behind controls, network only."""
    r = pairs.dropDuplicates([*keys, "resource_uid"])
    path = F.lower(F.coalesce("access_path", F.lit("")))
    return r.groupBy(*keys).agg(
        F.count("resource_uid").cast("int").alias("reachable_resources"),
        F.sum(F.lower(F.coalesce("sensitivity", F.lit(""))).isin(*SENSITIVE).cast("int")).cast("int").alias("reachable_sensitive"),
        F.sum(path.isin(*CONTROLLED_PATHS).cast("int")).cast("int").alias("behind_controls"),
        F.sum((path == "network").cast("int")).cast("int").alias("network_only"),
        F.array_sort(F.collect_list("resource_uid")).alias("resource_uids"))


def blast_radius(night: dt.date, entitlements: DataFrame, resources: DataFrame, identities: DataFrame, devices: DataFrame,
                 prev: DataFrame) -> DataFrame:
    """Rows of three grains (BLAST_DDL): `identity`, `device` (the union of what its users reach)
    and one `organization` row. `prev` is the previous night's table, for the change in reach."""
    d = F.lit(night)
    res = resources.select("resource_uid", "sensitivity", "access_path", "in_catalog").dropDuplicates(["resource_uid"])
    ents = entitlements.where(F.col("resource_uid").isNotNull()).select("user_uid", "resource_uid").join(res, "resource_uid", "left")
    # Admin roles count grants: a group, the permission set it provisions and the roles that set
    # reaches through trust policies are one standing admin role, not three.
    # A grant is just-in-time when its root is (a role reached from a JIT permission set is JIT too).
    grants = with_grant(entitlements).groupBy("user_uid", F.coalesce("granted_by", "entitlement").alias("_grant")).agg(
        F.max(F.coalesce("privileged", F.lit(False))).alias("_priv"),
        F.max(F.coalesce("just_in_time", F.lit(False))).alias("_jit"))
    admin = grants.where("_priv").groupBy("user_uid").agg(
        F.sum((~F.col("_jit")).cast("int")).cast("int").alias("standing_admin_roles"),
        F.sum(F.col("_jit").cast("int")).cast("int").alias("jit_admin_roles"))
    # Every active identity (reach 0 counts in the organization's mean), and every holder of an
    # entitlement (a leaver still holding access has a blast radius).
    active = identities.where(F.coalesce("active", F.lit(True))).select("user_uid")
    holders = entitlements.select("user_uid").distinct()
    ids = active.unionByName(holders).distinct().join(identities.select("user_uid", "email").dropDuplicates(["user_uid"]),
                                                       "user_uid", "left")
    zero = F.lit(0)
    ident = ids.join(_reach(ents, ["user_uid"]), "user_uid", "left").join(admin, "user_uid", "left").select(
        "user_uid", "email", *[F.coalesce(c, zero).cast("int").alias(c) for c in (
            "reachable_resources", "reachable_sensitive", "behind_controls", "network_only", "standing_admin_roles", "jit_admin_roles")],
        F.coalesce("resource_uids", F.array().cast("array<string>")).alias("resource_uids"))
    users = devices.select("device_uid", "hostname", F.explode(F.coalesce("users", F.array().cast("array<string>"))).alias("user_uid"))
    dev_ids = users.groupBy("device_uid", "hostname").agg(F.array_sort(F.collect_set("user_uid")).alias("identities"))
    dev_reach = _reach(users.join(ents, "user_uid"), ["device_uid"])
    dev_admin = users.join(admin, "user_uid").groupBy("device_uid").agg(
        F.sum("standing_admin_roles").cast("int").alias("standing_admin_roles"), F.sum("jit_admin_roles").cast("int").alias("jit_admin_roles"))
    dev = dev_ids.join(dev_reach, "device_uid", "left").join(dev_admin, "device_uid", "left").select(
        "device_uid", "hostname", "identities", *[F.coalesce(c, zero).cast("int").alias(c) for c in (
            "reachable_resources", "reachable_sensitive", "behind_controls", "network_only", "standing_admin_roles", "jit_admin_roles")],
        F.coalesce("resource_uids", F.array().cast("array<string>")).alias("resource_uids"))
    catalog = res.where(F.coalesce("in_catalog", F.lit(True)))
    share = catalog.agg((F.sum(F.lower(F.coalesce("access_path", F.lit(""))).isin(*CONTROLLED_PATHS).cast("double"))
                         / F.count("*")).alias("apps_behind_controls_share"))
    stats = ident.agg(F.sum("standing_admin_roles").cast("int").alias("standing_admin_roles"),
                      F.sum("jit_admin_roles").cast("int").alias("jit_admin_roles"),
                      F.avg("reachable_resources").alias("mean_reachable"),
                      F.percentile("reachable_resources", 0.95).alias("p95_reachable"),
                      F.count("*").cast("int").alias("_n"))
    org = stats.crossJoin(share)
    p = prev.select("grain", F.coalesce("user_uid", "device_uid", F.lit("org")).alias("_k"),
                    F.col("reachable_resources").alias("_prev"), F.col("mean_reachable").alias("_prev_mean"))
    out = (
        ident.select(F.lit("identity").alias("grain"), "*", F.coalesce("user_uid", F.lit("?")).alias("_k"))
        .unionByName(dev.select(F.lit("device").alias("grain"), "*", F.col("device_uid").alias("_k")), allowMissingColumns=True)
        .unionByName(org.select(F.lit("organization").alias("grain"), "*", F.lit("org").alias("_k")), allowMissingColumns=True)
    )
    out = out.join(p, ["grain", "_k"], "left")
    change = F.when(F.col("grain") == "organization", F.round(F.col("mean_reachable") - F.col("_prev_mean")).cast("int")) \
        .otherwise(F.col("reachable_resources") - F.col("_prev"))
    return out.select(
        d.alias("date"), "grain", "user_uid", "email", "device_uid", "hostname", "identities", "reachable_resources",
        "reachable_sensitive", "behind_controls", "network_only", "standing_admin_roles", "jit_admin_roles", "resource_uids",
        "apps_behind_controls_share", "mean_reachable", "p95_reachable", change.cast("int").alias("reachable_change"))

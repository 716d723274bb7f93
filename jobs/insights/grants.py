"""Reviewable grants: which entitlement an IAM team would actually revoke to remove a row.

Silver entitlements list everything an identity holds, including what one grant brings with it: a
directory group provisions an AWS permission set (`via` = `group:<name>`), the SSO role of that
permission set reaches other roles through trust policies (`via` = `trust_policy:<role>`), an AWS
IAM group attaches policies (`via` = `aws_group:<name>`), and an outer group is inherited through
an inner one (`via` = `group:<inner>`). Reviewers act on the grant, not on what follows from it,
so reviews and blast-radius counts fold each derived row into its grant.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# Pointer-jumping rounds: each halves the remaining depth, so 4 rounds resolve chains of up to 16
# hops. A longer chain (or a trust-policy cycle) stops at an intermediate row, which then counts
# as its own grant rather than being lost.
ROUNDS = 4


def with_grant(entitlements: DataFrame) -> DataFrame:
    """`entitlements` plus `granted_by`: null for a reviewable grant, otherwise the entitlement of
    the grant this row comes with (resolved through every hop). A row whose parent the identity
    does not hold tonight stays its own grant."""
    e = entitlements.withColumn("_res", F.coalesce("resource_uid", F.lit("")))
    via = F.coalesce(F.col("via"), F.lit("direct"))
    named = F.when(via.startswith("group:") | via.startswith("aws_group:"), via)
    held = e.select("user_uid", F.col("entitlement").alias("parent")).distinct()
    # Direct parents named in `via` (groups), if the identity holds them.
    direct = e.where(named.isNotNull()).select("user_uid", "entitlement", "_res", named.alias("parent")).join(
        held, ["user_uid", "parent"])
    # Trust-policy chains name the assuming role; its holder row is the entitlement whose SSO role
    # prefix starts that role's name, on the same account (resource). A root grant wins a tie.
    role = F.substring_index(via, ":", -1)
    chained = e.where(via.startswith("trust_policy:")).select("user_uid", "entitlement", "_res", role.alias("_role"))
    holders = e.where(F.col("role_arn_prefix").isNotNull()).select(
        "user_uid", F.col("_res").alias("_h_res"), F.col("entitlement").alias("parent"), "role_arn_prefix",
        (F.coalesce(F.col("via"), F.lit("direct")) != "direct").cast("int").alias("_derived"))
    trust = chained.join(holders, (chained["user_uid"] == holders["user_uid"]) & (chained["_res"] == holders["_h_res"])
                         & chained["_role"].startswith(holders["role_arn_prefix"])).groupBy(
        chained["user_uid"], "entitlement", "_res").agg(F.min_by("parent", F.struct("_derived", "parent")).alias("parent"))
    links = direct.unionByName(trust).where(F.col("parent") != F.col("entitlement")) \
        .dropDuplicates(["user_uid", "entitlement", "_res"])
    # Parents are keyed by (user, entitlement); a parent held on several resources resolves once.
    # Each round reads `links` twice: materialize it, or the plan doubles every round (16 copies of
    # the whole derivation after four rounds).
    for _ in range(ROUNDS):
        links = links.localCheckpoint()
        up = links.select("user_uid", F.col("entitlement").alias("parent"), F.col("parent").alias("_pp")) \
            .dropDuplicates(["user_uid", "parent"])
        links = links.join(up, ["user_uid", "parent"], "left").select(
            "user_uid", "entitlement", "_res", F.coalesce("_pp", "parent").alias("parent"))
    links = links.where(F.col("parent") != F.col("entitlement"))
    return e.join(links.withColumnRenamed("parent", "granted_by"), ["user_uid", "entitlement", "_res"], "left").drop("_res")

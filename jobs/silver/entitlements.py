"""Entitlements: identity x entitlement x resource, as of each night.

Sources: SCIM group memberships (with the resource and AWS permission set each group grants, from
`config/silver.yaml`), AWS IAM users, groups and roles with their attached policies, and who can
assume which role by following trust policies (a role trusting another role's ARN is reachable by
everyone who holds that role). `granted_at` rolls forward from the previous night; `last_used`
comes from the night's activity (a successful sign-in to, API call in, or query of the resource,
through the entitlement's role where it has one).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver.common import Candidate, resolve, stable_key
from jobs.silver.config import SilverConfig

ENTITLEMENTS_DDL = (
    "date date, user_uid string, email string, entitlement string, entitlement_type string, resource_uid string, "
    "privileged boolean, standing boolean, just_in_time boolean, via string, role_arn_prefix string, granted_at date, "
    "last_used date, source string, rule string, _config_version string"
)
ENTITLEMENT_COLUMNS = (
    "date", "user_uid", "email", "entitlement", "entitlement_type", "resource_uid", "privileged", "standing", "just_in_time",
    "via", "role_arn_prefix", "granted_at", "last_used", "source", "rule", "_config_version",
)


def _account(arn: Column) -> Column:
    return F.nullif(F.regexp_extract(arn, r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):", 1), F.lit(""))


def _resource_of_account(resource_aliases: DataFrame) -> DataFrame:
    return resource_aliases.where(F.col("alias_type") == "aws_account").select(
        F.col("alias_value").alias("_acct"), F.col("entity_uid").alias("_acct_res"))


def _group_config(cfg: SilverConfig, spark_df: DataFrame) -> DataFrame:
    rows = [(g, v.resource, v.aws_permission_set, v.privileged, g in cfg.just_in_time_groups) for g, v in cfg.groups.items()]
    return spark_df.sparkSession.createDataFrame(
        rows, "group string, g_resource string, permission_set string, g_privileged boolean, g_jit boolean")


def _ancestors(edges: DataFrame) -> DataFrame:
    """(descendant, ancestor) for every group nested, at any depth, inside another. The directory's
    group graph is small (one edge per nesting), so its closure is computed on the driver; a cycle
    ends because each pair is visited once."""
    parents: dict[str, set[str]] = {}
    for r in edges.collect():
        parents.setdefault(r["child"], set()).add(r["parent"])
    pairs = []
    for child in parents:
        seen: set[str] = set()
        todo = list(parents[child])
        while todo:
            g = todo.pop()
            if g in seen or g == child:
                continue
            seen.add(g)
            todo.extend(parents.get(g, ()))
        pairs += [(child, g) for g in sorted(seen)]
    return edges.sparkSession.createDataFrame(pairs, "descendant string, ancestor string")


def group_entitlements(scim_groups: DataFrame, scim_users: DataFrame, cfg: SilverConfig) -> DataFrame:
    """SCIM group memberships (group `members`, and user `groups` where the group list lacks them),
    plus the AWS permission sets those groups provision."""
    raw = scim_groups.select(F.col("displayName").alias("group"), F.explode("members").alias("m"))
    is_group = F.lower(F.coalesce(F.col("m.type"), F.lit(""))) == "group"
    by_group = raw.where(~is_group).select("group", F.col("m.value").alias("scim_id"))
    by_user = scim_users.select(F.col("id").alias("scim_id"), F.explode("groups").alias("g")).select(
        F.col("g.display").alias("group"), "scim_id").where(F.col("group").isNotNull())
    direct = by_group.unionByName(by_user).where(F.col("scim_id").isNotNull()).distinct().withColumn("via", F.lit("direct"))
    # Nested groups: a member of a group nested in another is a member of both (via the inner group).
    names = scim_groups.select(F.col("id").alias("child_id"), F.col("displayName").alias("child"))
    edges = raw.where(is_group).select(F.col("group").alias("parent"), F.col("m.value").alias("child_id")).join(names, "child_id").select(
        "child", "parent")
    nested = _ancestors(edges)
    inherited = direct.where(F.col("via") == "direct").join(nested, direct["group"] == nested["descendant"]).select(
        F.col("ancestor").alias("group"), "scim_id", F.concat(F.lit("group:"), F.col("descendant")).alias("via"))
    # One membership per (group, person): a direct one wins over an inherited one.
    members = direct.unionByName(inherited).groupBy("group", "scim_id").agg(
        F.min_by("via", (F.col("via") != "direct").cast("int") * 1000 + F.length("via")).alias("via")).withColumn(
        "user_uid", stable_key("usr", F.col("scim_id")))
    conf = _group_config(cfg, scim_groups)
    m = members.join(conf, "group", "left")
    groups = m.select(
        "user_uid", F.concat(F.lit("group:"), F.col("group")).alias("entitlement"), F.lit("group").alias("entitlement_type"),
        F.col("g_resource").alias("resource_uid"), F.coalesce("g_privileged", F.lit(False)).alias("privileged"),
        F.coalesce("g_jit", F.lit(False)).alias("just_in_time"), "via",
        F.when(F.col("permission_set").isNotNull(), F.concat(F.lit("AWSReservedSSO_"), F.col("permission_set"), F.lit("_")))
        .alias("role_arn_prefix"), F.lit("scim_groups").alias("source"),
        F.when(F.col("via") == "direct", F.lit("scim_group_member")).otherwise(F.lit("scim_nested_group")).alias("rule"),
    )
    sets = m.where(F.col("permission_set").isNotNull()).select(
        "user_uid", F.concat(F.lit("aws_permission_set:"), F.col("permission_set"), F.lit("@"), F.col("g_resource")).alias("entitlement"),
        F.lit("aws_permission_set").alias("entitlement_type"), F.col("g_resource").alias("resource_uid"),
        F.coalesce("g_privileged", F.lit(False)).alias("privileged"), F.coalesce("g_jit", F.lit(False)).alias("just_in_time"),
        F.concat(F.lit("group:"), F.col("group")).alias("via"),
        F.concat(F.lit("AWSReservedSSO_"), F.col("permission_set"), F.lit("_")).alias("role_arn_prefix"),
        F.lit("scim_groups").alias("source"), F.lit("group_provisions_permission_set").alias("rule"),
    )
    return groups.unionByName(sets)


def _policies(col: str) -> Column:
    return F.transform(F.coalesce(F.col(col), F.array().cast("array<struct<PolicyName:string,PolicyArn:string>>")),
                       lambda p: p.getField("PolicyName"))


def aws_entitlements(aws_iam: DataFrame, held: DataFrame, user_aliases: DataFrame, resource_aliases: DataFrame,
                     cfg: SilverConfig) -> DataFrame:
    """IAM users' and workload roles' policies and groups, and roles reachable through trust
    policies from roles someone already holds (`held`: user_uid, role_arn_prefix, resource_uid)."""
    priv = list(cfg.privileged_policies)
    accts = _resource_of_account(resource_aliases)
    kind = F.lower("EntryType")
    groups = aws_iam.where(kind == "group").select(F.col("GroupName").alias("gname"), _policies("AttachedManagedPolicies").alias("gpol"))
    users = aws_iam.where(kind == "user").select(
        F.col("Arn").alias("arn"), F.explode_outer(F.coalesce("GroupList", F.array().cast("array<string>"))).alias("gname"),
        _policies("AttachedManagedPolicies").alias("pol"))
    users = users.join(groups, "gname", "left")
    roles = aws_iam.where(kind == "role").select(
        F.col("Arn").alias("arn"), F.col("RoleName").alias("rname"), F.coalesce("AssumeRolePolicyDocument", F.lit("")).alias("trust"),
        _policies("AttachedManagedPolicies").alias("pol"))
    # Principals are the IAM users and roles themselves (workloads, service accounts).
    principals = users.select("arn", "gname", F.explode(F.array_distinct(F.concat(F.coalesce("pol", F.array().cast("array<string>")),
                                                                                  F.coalesce("gpol", F.array().cast("array<string>"))))).alias("policy"))
    direct = principals.select("arn", F.concat(F.lit("aws_policy:"), F.col("policy")).alias("entitlement"),
                               F.lit("aws_policy").alias("entitlement_type"), F.col("policy").isin(*priv).alias("privileged"),
                               F.when(F.col("gname").isNotNull(), F.concat(F.lit("aws_group:"), F.col("gname"))).otherwise(F.lit("direct")).alias("via"))
    user_groups = users.where(F.col("gname").isNotNull()).select(
        "arn", F.concat(F.lit("aws_group:"), F.col("gname")).alias("entitlement"), F.lit("aws_group").alias("entitlement_type"),
        F.exists(F.coalesce("gpol", F.array().cast("array<string>")), lambda p: p.isin(*priv)).alias("privileged"), F.lit("direct").alias("via"))
    role_pol = roles.select("arn", F.explode("pol").alias("policy")).select(
        "arn", F.concat(F.lit("aws_policy:"), F.col("policy")).alias("entitlement"), F.lit("aws_policy").alias("entitlement_type"),
        F.col("policy").isin(*priv).alias("privileged"), F.lit("direct").alias("via"))
    own = direct.unionByName(user_groups).unionByName(role_pol)
    own = resolve(own.withColumn("source", F.lit("aws_iam")).withColumn("_event_id", F.concat_ws("|", "arn", "entitlement", "via")),
                  [Candidate("aws_principal_arn", F.col("arn"))], user_aliases, "user", entity_col="user_uid")
    own = own.where(F.col("user_uid").isNotNull()).withColumn("_acct", _account(F.col("arn"))).join(accts, "_acct", "left").select(
        "user_uid", "entitlement", "entitlement_type", F.col("_acct_res").alias("resource_uid"), "privileged",
        F.lit(False).alias("just_in_time"), "via", F.lit(None).cast("string").alias("role_arn_prefix"),
        F.lit("aws_iam").alias("source"), F.lit("iam_attached_policy").alias("rule"))
    # Trust chains: role B trusts role A's ARN -> every holder of A can assume B.
    trusted = roles.select(F.col("arn").alias("b_arn"), F.col("rname").alias("b_name"), "pol",
                           F.explode(F.regexp_extract_all("trust", F.lit(r'"(arn:aws:iam::\d{12}:role/[^"]+)"'), 1)).alias("a_arn"))
    a_roles = roles.select(F.col("arn").alias("a_arn"), F.col("rname").alias("a_name"))
    chain = trusted.join(a_roles, "a_arn").withColumn("a_prefix", F.regexp_extract("a_name", r"^(AWSReservedSSO_[^_]+_)", 1))
    h = held.where(F.col("role_arn_prefix").isNotNull()).select("user_uid", F.col("role_arn_prefix").alias("a_prefix"),
                                                                F.col("resource_uid").alias("h_res"))
    chained = chain.join(h, "a_prefix").withColumn("_acct", _account(F.col("b_arn"))).join(accts, "_acct", "left").where(
        F.col("_acct_res") == F.col("h_res")).select(
        "user_uid", F.concat(F.lit("aws_role:"), F.col("b_name")).alias("entitlement"), F.lit("aws_role").alias("entitlement_type"),
        F.col("_acct_res").alias("resource_uid"), F.exists("pol", lambda p: p.isin(*priv)).alias("privileged"),
        F.lit(False).alias("just_in_time"), F.concat(F.lit("trust_policy:"), F.col("a_name")).alias("via"),
        F.concat(F.col("b_name"), F.lit("")).alias("role_arn_prefix"), F.lit("aws_iam").alias("source"),
        F.lit("trust_policy_chain").alias("rule"))
    return own.unionByName(chained)


def usage(auth: DataFrame, api: DataFrame, store: DataFrame) -> DataFrame:
    """(user_uid, resource_uid, role_name) for tonight's successful uses of resources."""
    role = F.coalesce(F.regexp_extract(F.coalesce("assumed_role_arn", F.lit("")), r"role/(?:.*/)?([^/]+)$", 1),
                      F.lit(""))
    issuer = F.regexp_extract(F.coalesce("session_issuer_arn", F.lit("")), r"role/(?:.*/)?([^/]+)$", 1)
    parts = [
        auth.where(F.col("status") == "Success").select("user_uid", "resource_uid", F.lit(None).cast("string").alias("role_name")),
        api.where(F.col("status") == "Success").select("user_uid", "resource_uid",
                                                       F.nullif(F.when(role != "", role).otherwise(issuer), F.lit("")).alias("role_name")),
        store.where(F.col("status") == "Success").select("user_uid", "resource_uid", F.lit(None).cast("string").alias("role_name")),
    ]
    out = parts[0].unionByName(parts[1]).unionByName(parts[2])
    return out.where(F.col("user_uid").isNotNull() & F.col("resource_uid").isNotNull()).distinct()


def entitlements_snapshot(night: dt.date, held: DataFrame, used: DataFrame, prev: DataFrame, user_aliases: DataFrame,
                          cfg: SilverConfig) -> DataFrame:
    d = F.lit(night)
    held = held.dropDuplicates(["user_uid", "entitlement", "resource_uid"])
    u = used.select(F.col("user_uid").alias("u_user"), F.col("resource_uid").alias("u_res"), F.col("role_name").alias("u_role"))
    match = (held["user_uid"] == u["u_user"]) & (held["resource_uid"] == u["u_res"]) & (
        held["role_arn_prefix"].isNull() | F.coalesce(u["u_role"], F.lit("")).startswith(F.coalesce(held["role_arn_prefix"], F.lit(""))))
    used_tonight = held.join(u, match, "left").groupBy("user_uid", "entitlement", "resource_uid").agg(
        F.max(F.col("u_user").isNotNull()).alias("used"))
    h = held.join(used_tonight, ["user_uid", "entitlement", "resource_uid"], "left")
    p = prev.select(F.col("user_uid").alias("p_user"), F.col("entitlement").alias("p_ent"),
                    F.coalesce(F.col("resource_uid"), F.lit("")).alias("p_res"), F.col("granted_at").alias("p_granted"),
                    F.col("last_used").alias("p_used"))
    j = h.join(p, (h["user_uid"] == p["p_user"]) & (h["entitlement"] == p["p_ent"])
               & (F.coalesce(h["resource_uid"], F.lit("")) == p["p_res"]), "left")
    email = user_aliases.where(F.col("alias_type") == "email").groupBy("user_uid").agg(F.min("alias_value").alias("email"))
    return j.join(email, "user_uid", "left").select(
        d.alias("date"), "user_uid", "email", "entitlement", "entitlement_type", "resource_uid", "privileged",
        (~F.col("just_in_time")).alias("standing"), "just_in_time", "via", "role_arn_prefix",
        F.coalesce("p_granted", d).alias("granted_at"),
        F.when(F.col("used"), d).otherwise(F.col("p_used")).alias("last_used"), "source", "rule",
        F.lit(cfg.version).alias("_config_version"),
    ).select(*ENTITLEMENT_COLUMNS)


"""Access-review priorities: every identity x entitlement, ranked by how risky it is to keep.

Pure transformations. The weights and the recommendation thresholds are the `access_review`
section of the risk policy (policies/current.yaml); docs/metrics.md defines each factor.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from jobs.insights.grants import with_grant
from jobs.risk.policy import AccessReview, Policy

REVIEW_DDL = (
    "date date, rank int, user_uid string, email string, department string, identity_type string, entitlement string, "
    "entitlement_type string, via string, granted_by string, brings array<string>, resource_uid string, resource_name string, resource_owner string, sensitivity string, "
    "access_path string, privileged boolean, standing boolean, just_in_time boolean, granted_at date, last_used date, "
    "days_unused int, peer_coverage double, identity_state array<string>, moved_from string, moved_on date, score double, "
    "recommendation string, reasons array<string>, "
    "factors array<struct<name:string,severity:double,weight:double,contribution:double,detail:string>>, policy_version string"
)
# Per identity, carried night to night: the department, and the last move (for the mover factor).
STATE_DDL = "user_uid string, department string, moved_from string, moved_on date"
CONTROLLED_PATHS = ("gateway", "ztna", "mesh", "service_mesh")
FACTOR = "struct<name:string,severity:double,weight:double,contribution:double,detail:string>"


def identity_state(night: dt.date, identities: DataFrame, prev: DataFrame) -> DataFrame:
    """(user_uid, department, moved_from, moved_on): a department that differs from the previous
    night's is a move tonight; earlier moves are carried forward."""
    now = identities.select("user_uid", "department")
    p = prev.select("user_uid", F.col("department").alias("p_dept"), F.col("moved_from").alias("p_from"),
                    F.col("moved_on").alias("p_on")).dropDuplicates(["user_uid"])
    moved = F.col("p_dept").isNotNull() & F.col("department").isNotNull() & (F.col("p_dept") != F.col("department"))
    return now.join(p, "user_uid", "left").select(
        "user_uid", "department", F.when(moved, F.col("p_dept")).otherwise(F.col("p_from")).alias("moved_from"),
        F.when(moved, F.lit(night)).otherwise(F.col("p_on")).alias("moved_on"))


def _factor(name: str, severity: Column, weight: float, mult: Column, detail: Column) -> Column:
    sev = F.coalesce(severity, F.lit(0.0)).cast("double")
    return F.when(sev > 0, F.struct(F.lit(name).alias("name"), sev.alias("severity"), F.lit(float(weight)).alias("weight"),
                                    (sev * F.lit(float(weight)) * mult).alias("contribution"), detail.alias("detail")))


def _days(c: Column) -> Column:
    return F.format_string("%d", c)


def review(night: dt.date, entitlements: DataFrame, identities: DataFrame, resources: DataFrame, peers: DataFrame,
           last_activity: DataFrame, state: DataFrame, policy: Policy) -> DataFrame:
    """Tonight's ranking (REVIEW_DDL).

    entitlements: silver entitlements tonight; identities: silver identities tonight; resources:
    silver resources tonight; peers: gold peer_groups tonight (may be empty: peer rarity unscored);
    last_activity: (user_uid, last_activity_date) from gold identity_baselines; state: identity_state().
    """
    ar = policy.access_review
    if ar is None:
        raise ValueError(f"policy {policy.name} {policy.version} has no access_review section (weights for the ranking)")
    d = F.lit(night)
    ids = identities.select("user_uid", F.col("email").alias("_id_email"), F.col("type").alias("identity_type"),
                            "termination_date", "first_seen_date", "prior_login_date")
    res = resources.select("resource_uid", F.col("name").alias("resource_name"), F.col("owner_email").alias("resource_owner"),
                           "sensitivity", "access_path").dropDuplicates(["resource_uid"])
    pc = peers.select("user_uid", "entitlement", F.coalesce("resource_uid", F.lit("")).alias("_res"), "peer_coverage", "peers") \
        .dropDuplicates(["user_uid", "entitlement", "_res"])
    e = (with_grant(entitlements).withColumn("_res", F.coalesce("resource_uid", F.lit("")))
         .join(pc, ["user_uid", "entitlement", "_res"], "left")
         .join(ids, "user_uid", "left").join(res, "resource_uid", "left")
         .join(last_activity.select("user_uid", "last_activity_date"), "user_uid", "left")
         .join(state, "user_uid", "left"))
    mult = F.coalesce(F.element_at(F.create_map(*[x for k, v in policy.sensitivity.items() for x in (F.lit(k), F.lit(v))]),
                                   F.lower("sensitivity")), F.lit(1.0))
    days_unused = F.date_diff(d, F.col("last_used"))
    days_held = F.date_diff(d, F.col("granted_at"))
    # idle since the later of the last active day and the identity provider's last sign-in (as the
    # identity features count it), so a young lake still sees an account idle for months
    idle = F.date_diff(d, F.coalesce(F.greatest("last_activity_date", "prior_login_date"), "first_seen_date"))
    leaver = F.col("termination_date").isNotNull() & (F.col("termination_date") <= d)
    moved = (F.col("moved_on").isNotNull() & (F.date_diff(d, F.col("moved_on")) <= ar.param("mover", "within_days"))
             & (F.col("granted_at") < F.col("moved_on")))
    dormant = idle >= ar.param("dormant", "from_days")
    below = ar.param("peer_rare", "below_coverage")
    rare = F.col("peer_coverage").isNotNull() & (F.col("peer_coverage") < below)
    priv_standing = F.col("privileged") & F.coalesce("standing", F.lit(True)) & ~F.coalesce("just_in_time", F.lit(False))
    network_only = F.lower(F.coalesce("access_path", F.lit(""))) == "network"
    w = ar.weights
    full = F.lit(ar.param("unused", "full_at_days"))
    factors = F.array_compact(F.array(
        _factor("leaver", leaver.cast("double"), w["leaver"], mult,
                F.format_string("identity terminated on %s and still holds it", F.col("termination_date").cast("string"))),
        # Never used weighs more than unused, and both grow with the days observed: an entitlement
        # first seen last night is not yet "never used" with any confidence.
        _factor("never_used", F.when(F.col("last_used").isNull(), F.least(days_held / full, F.lit(1.0))), w["never_used"], mult,
                F.format_string("never used in the %s days since granted (%s)", _days(days_held), F.col("granted_at").cast("string"))),
        _factor("unused", F.when(days_unused.isNotNull(), F.least(days_unused / full, F.lit(1.0))), w["unused"], mult,
                F.format_string("last used %s days ago (%s)", _days(days_unused), F.col("last_used").cast("string"))),
        _factor("peer_rare", F.when(rare, F.lit(1.0) - F.col("peer_coverage") / F.lit(below)), w["peer_rare"], mult,
                F.format_string("held by %.0f%% of %d peers", F.col("peer_coverage") * 100, F.coalesce("peers", F.lit(0)))),
        _factor("privileged", F.col("privileged").cast("double"), w["privileged"], mult, F.lit("privileged (admin-level)")),
        _factor("standing_privileged", priv_standing.cast("double"), w["standing_privileged"], mult,
                F.lit("standing, not just-in-time")),
        _factor("network_only", network_only.cast("double"), w["network_only"], mult,
                F.format_string("%s is reachable by network alone (no gateway, ZTNA or mesh)",
                                F.coalesce("resource_name", "resource_uid"))),
        _factor("mover", moved.cast("double"), w["mover"], mult,
                F.format_string("granted before the move from %s to %s on %s", F.col("moved_from"), F.col("department"),
                                F.col("moved_on").cast("string"))),
        _factor("dormant", dormant.cast("double"), w["dormant"], mult, F.format_string("identity idle for %s days", _days(idle))),
    ))
    total = F.aggregate(factors, F.lit(0.0), lambda acc, f: acc + f["contribution"])
    e = e.withColumn("_f", factors).withColumn("_total", total)
    scale = F.when(F.col("_total") > 100, F.lit(100.0) / F.col("_total")).otherwise(F.lit(1.0))
    e = e.withColumn("factors", F.array_sort(
        F.transform("_f", lambda f: f.withField("contribution", F.round(f["contribution"] * scale, 4))),
        lambda a, b: F.when(a["contribution"] > b["contribution"], -1).when(a["contribution"] < b["contribution"], 1)
        .otherwise(F.when(a["name"] < b["name"], -1).when(a["name"] > b["name"], 1).otherwise(0))))
    e = e.withColumn("score", F.round(F.least(F.col("_total"), F.lit(100.0)), 4))
    e = e.withColumn("leaver_", leaver).withColumn("moved_", moved).withColumn("rare_", rare).withColumn("dormant_", dormant)
    e = e.withColumn("priv_standing_", priv_standing).withColumn("days_unused", days_unused).withColumn("days_held", days_held)
    rec = _recommend(ar)
    state_words = F.array_compact(F.array(F.when(F.col("leaver_"), F.lit("leaver")), F.when(F.col("moved_"), F.lit("mover")),
                                          F.when(F.col("dormant_"), F.lit("dormant"))))
    e = e.withColumn("recommendation", rec[0]).withColumn("_why", rec[1]).withColumn("identity_state", state_words)
    # Rank decisions. A row derived from a grant (a permission set its group provisions, a role
    # reached through a trust policy) shares the grant's rank and follows it, so one grant does not
    # fill several slots of the top 10; and a leaver's grants are one decision (disable the account
    # removes them all). A decision ranks by its highest score.
    derived = F.col("granted_by").isNotNull()
    e = e.withColumn("_grant", F.coalesce("granted_by", "entitlement"))
    grant = Window.partitionBy("user_uid", "_grant")
    e = e.withColumn("_gscore", F.max("score").over(grant))
    e = e.withColumn("brings", F.when(~derived, F.array_sort(F.collect_set(F.when(derived, F.col("entitlement"))).over(grant))))
    e = e.withColumn("_decision", F.when(F.col("leaver_"), F.lit("")).otherwise(F.col("_grant")))
    decision = Window.partitionBy("user_uid", "_decision")
    e = e.withColumn("_fscore", F.max("score").over(decision)) \
        .withColumn("_fpriv", F.max(F.coalesce("privileged", F.lit(False))).over(decision)) \
        .withColumn("_grants", F.size(F.collect_set(F.when(~derived, F.col("entitlement"))).over(decision)))
    e = e.withColumn("_why", F.when(F.col("leaver_"), F.format_string(
        "%s: disable the account, which removes all %d of its grants (they share this rank)", F.col("_why"), F.col("_grants")))
        .otherwise(F.col("_why")))
    e = e.withColumn("_why", F.when(derived, F.format_string("comes with %s: act on that grant (%s)", F.col("granted_by"),
                                                             F.col("_why"))).otherwise(F.col("_why")))
    higher = F.col("_gscore") > F.col("score")
    e = e.withColumn("reasons", F.concat(F.array("_why"), F.when(~derived & higher, F.array(F.format_string(
        "ranked by what it brings: %s (score up to %.0f)", F.array_join("brings", ", "), F.col("_gscore"))))
        .otherwise(F.array().cast("array<string>")), F.transform("factors", lambda f: f["detail"])))
    order = Window.orderBy(F.desc("_fscore"), F.desc("_fpriv"), F.asc(F.coalesce("email", "_id_email")), F.asc("_decision"),
                           F.asc("user_uid"))
    e = e.withColumn("rank", F.dense_rank().over(order))
    return e.select(
        d.alias("date"), "rank", "user_uid", F.coalesce("email", "_id_email").alias("email"), "department", "identity_type",
        "entitlement", "entitlement_type", "via", "granted_by", "brings", "resource_uid", "resource_name", "resource_owner", "sensitivity", "access_path",
        "privileged", "standing", "just_in_time", "granted_at", "last_used", F.col("days_unused").cast("int").alias("days_unused"),
        "peer_coverage", "identity_state", "moved_from", "moved_on", "score", "recommendation", "reasons",
        F.col("factors").cast(f"array<{FACTOR}>").alias("factors"), F.lit(policy.version).alias("policy_version"))


def _recommend(ar: AccessReview) -> tuple[Column, Column]:
    """(recommendation, why) from the thresholds in the policy: revoke, convert_to_jit, keep or review."""
    r = ar.recommend
    stale = (F.col("last_used").isNull() & (F.col("days_held") >= r["revoke_unused_days"])) | (
        F.col("days_unused") >= r["revoke_unused_days"])
    never = F.col("last_used").isNull()
    unused_words = F.when(never, F.lit("never used")).otherwise(F.format_string("unused for %d days", F.col("days_unused")))
    rec = (F.when(F.col("leaver_"), F.lit("revoke"))
           .when(stale & (F.col("rare_") | F.col("moved_")), F.lit("revoke"))
           .when(F.col("score") >= r["revoke_from"], F.lit("revoke"))
           .when(F.col("priv_standing_"), F.lit("convert_to_jit"))
           .when(F.col("score") < r["keep_below"], F.lit("keep"))
           .otherwise(F.lit("review")))
    why = (F.when(F.col("leaver_"), F.lit("revoke: the identity has left"))
           .when(stale & F.col("rare_"), F.concat(F.lit("revoke: "), unused_words, F.lit(" and rare among peers")))
           .when(stale & F.col("moved_"), F.concat(F.lit("revoke: "), unused_words, F.lit(" and granted before a move")))
           .when(F.col("score") >= r["revoke_from"], F.format_string("revoke: score %.0f is at or above %.0f", F.col("score"),
                                                                     F.lit(r["revoke_from"])))
           .when(F.col("priv_standing_"), F.lit("convert to just-in-time: privileged access held standing"))
           .when(F.col("score") < r["keep_below"], F.format_string("keep: score %.0f is below %.0f", F.col("score"),
                                                                   F.lit(r["keep_below"])))
           .otherwise(F.format_string("review: score %.0f", F.col("score"))))
    return rec, why

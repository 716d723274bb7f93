"""Outcome metrics: one row per metric per night, for leadership. Every definition is in
docs/metrics.md under the version below; a metric that cannot be measured says why (never 0).

Each metric is a small aggregate over tonight's tables (or a bounded trailing window of them), so
a night's cost does not grow with the lake's age.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.sources.soc import FALSE_POSITIVE_VERDICTS, TRUE_POSITIVE_VERDICTS

DEFINITIONS_VERSION = "metrics-2026.11.1"
OUTCOME_DDL = (
    "date date, category string, metric string, value double, unit string, status string, detail string, definition_version string"
)
MEASURED = "measured"
# Trailing windows (nights) of the rolling metrics.
CASE_WINDOW_DAYS = 30
FRICTION_WEEK_DAYS = 7
REGAIN_WINDOW_DAYS = 30
DEPROVISION_WINDOW_DAYS = 90
# (category, metric, unit) in report order.
METRICS = (
    ("hygiene", "privileged_phishing_resistant_mfa_share", "share"),
    ("hygiene", "long_lived_credentials", "count"),
    ("hygiene", "long_lived_credentials_eliminated", "count"),
    ("hygiene", "deprovision_days_median", "days"),
    ("hygiene", "deprovision_days_p95", "days"),
    ("detection", "alert_to_incident_ratio", "ratio"),
    ("detection", "mtta_hours", "hours"),
    ("detection", "mttc_hours", "hours"),
    ("detection", "false_positive_rate_step_up_deny", "share"),
    ("blast_radius", "apps_behind_controls_share", "share"),
    ("blast_radius", "standing_admin_roles", "count"),
    ("blast_radius", "reachable_resources_mean", "resources"),
    ("blast_radius", "reachable_resources_p95", "resources"),
    ("friction", "step_up_prompts_per_user_week", "prompts per user per week"),
    ("friction", "time_to_regain_compliant_access_days", "days"),
)
UNITS = {m: u for _, m, u in METRICS}
CATEGORY = {m: c for c, m, _ in METRICS}


@dataclass
class OutcomeInputs:
    """Tonight's (or a bounded trailing window of) tables the metrics read. Missing tables are empty
    frames with their schema."""

    identities: DataFrame            # silver identities, tonight
    previous_identities: DataFrame   # silver identities, the previous night
    entitlements: DataFrame          # silver entitlements, tonight
    features: DataFrame              # gold identity_features_daily, tonight
    risk_week: DataFrame             # gold risk_scores, the last FRICTION_WEEK_DAYS nights
    risk_window: DataFrame           # gold risk_scores identity_day rows, the last REGAIN_WINDOW_DAYS nights
    incidents: DataFrame             # gold incidents, tonight
    cases: DataFrame                 # bronze soc_cases, the last CASE_WINDOW_DAYS + 3 days of updates
    blast_org: DataFrame             # gold blast_radius organization row, tonight
    alert_min_score: float = 45.0    # the policy's incidents.min_score: a row at or above it is an alert


Row = tuple[str, float | None, str, str]  # metric, value, status, detail


def _ok(metric: str, value: float | None, detail: str) -> Row:
    return (metric, None if value is None else float(value), MEASURED, detail)


def _not(metric: str, why: str) -> Row:
    return (metric, None, f"not measured: {why}", "")


def hygiene(night: dt.date, i: OutcomeInputs) -> list[Row]:
    priv = i.entitlements.where(F.col("privileged")).select("user_uid").distinct()
    mfa = i.features.join(priv, "user_uid").select(
        "user_uid", F.coalesce("mfa_phishing_resistant", F.lit(0)).alias("pr"),
        (F.coalesce("mfa_push", F.lit(0)) + F.coalesce("mfa_sms", F.lit(0)) + F.coalesce("mfa_other", F.lit(0))).alias("weak"))
    m = mfa.where((F.col("pr") + F.col("weak")) > 0).agg(F.count("*").alias("n"), F.sum((F.col("weak") == 0).cast("int")).alias("k")).first()
    n_priv = priv.count()
    out = [_ok("privileged_phishing_resistant_mfa_share", m["k"] / m["n"],
               f"{m['k']} of {m['n']} privileged identities that used MFA tonight used only phishing-resistant factors "
               f"({n_priv} privileged identities in all)") if m and m["n"] else
           _not("privileged_phishing_resistant_mfa_share", f"no MFA by any of the {n_priv} privileged identities tonight")]
    # Long-lived credentials: AWS IAM users (passwords and access keys that do not expire), from the
    # identities' aliases (an IAM user linked to a person or service is still a long-lived credential).
    def iam_users(ids: DataFrame) -> DataFrame:
        return ids.where(F.coalesce("in_directory", F.lit(True))).select(F.explode("aliases").alias("a")).where(
            F.col("a.alias_value").rlike(r"^arn:aws[a-z-]*:iam::\d{12}:user/")).select(F.col("a.alias_value").alias("arn")).distinct()

    now, before = iam_users(i.identities), iam_users(i.previous_identities)
    count = now.count()
    out.append(_ok("long_lived_credentials", count, f"{count} AWS IAM users (passwords and access keys that do not expire)"))
    if i.previous_identities.limit(1).count() == 0:
        out.append(_not("long_lived_credentials_eliminated", "no previous night to compare with"))
    else:
        gone = before.join(now, "arn", "left_anti").count()
        new = now.join(before, "arn", "left_anti").count()
        out.append(_ok("long_lived_credentials_eliminated", gone, f"{gone} removed and {new} added since the previous night"))
    left = i.identities.where(F.col("termination_date").isNotNull() & (F.col("termination_date") <= F.lit(night)))
    done = left.where(F.col("deprovisioned_date").isNotNull() & (F.col("deprovisioned_date") >= F.col("termination_date"))
                      & (F.col("deprovisioned_date") > F.lit(night - dt.timedelta(days=DEPROVISION_WINDOW_DAYS))))
    waiting = left.where(F.col("deprovisioned_date").isNull()).agg(F.count("*").alias("n"), F.min("termination_date").alias("oldest")).first()
    pending = f"; {waiting['n']} leavers not yet deprovisioned (terminated since {waiting['oldest']})" if waiting and waiting["n"] else ""
    q = done.select(F.date_diff("deprovisioned_date", "termination_date").alias("d")).agg(
        F.count("*").alias("n"), F.percentile("d", 0.5).alias("p50"), F.percentile("d", 0.95).alias("p95")).first()
    if q and q["n"]:
        base = f"{q['n']} leavers deprovisioned in the last {DEPROVISION_WINDOW_DAYS} days{pending}"
        out += [_ok("deprovision_days_median", q["p50"], base), _ok("deprovision_days_p95", q["p95"], base)]
    else:
        why = f"no leaver deprovisioned in the last {DEPROVISION_WINDOW_DAYS} days{pending}"
        out += [_not("deprovision_days_median", why), _not("deprovision_days_p95", why)]
    return out


def case_timeline(cases: DataFrame) -> DataFrame:
    """One row per SOC case: created, acknowledged and resolved times, the last verdict, and its
    subject identities (emails from the observables)."""
    case = F.coalesce(F.element_at("finding_info_list", 1).getField("uid"), F.col("metadata.correlation_uid"))
    ack = (F.col("status_id") >= 2) | F.col("assignee.uid").isNotNull() | F.col("assignee.email_addr").isNotNull()
    closed = (F.col("activity_id") == 3) | F.col("status_id").isin(4, 5)
    emails = F.transform(F.filter("observables", lambda o: F.lower(o["value"]).contains("@")),
                         lambda o: F.lower(o["value"]))
    c = cases.select(case.alias("case_uid"), F.col("_event_time").alias("t"), "activity_id", ack.alias("ack"), closed.alias("closed"),
                     "verdict_id", emails.alias("emails"))
    return c.groupBy("case_uid").agg(
        F.coalesce(F.min(F.when(F.col("activity_id") == 1, F.col("t"))), F.min("t")).alias("created"),
        F.min(F.when(F.col("ack"), F.col("t"))).alias("acknowledged"),
        F.min(F.when(F.col("closed"), F.col("t"))).alias("resolved"),
        F.max_by("verdict_id", F.when(F.col("verdict_id").isNotNull(), F.col("t"))).alias("verdict_id"),
        F.array_distinct(F.flatten(F.collect_list("emails"))).alias("emails"))


def detection(night: dt.date, i: OutcomeInputs) -> list[Row]:
    tonight = i.risk_week.where(F.col("date") == F.lit(night))
    alerts = tonight.where(F.col("score") >= i.alert_min_score).count()
    touched = i.incidents.where(F.col("last_seen") == F.lit(night)).count()
    out = [_ok("alert_to_incident_ratio", alerts / touched,
               f"{alerts} high-risk rows (score >= {i.alert_min_score:.0f}) became {touched} incidents opened or updated tonight")
           if touched else _not("alert_to_incident_ratio", f"no incident opened or updated tonight ({alerts} high-risk rows)")]
    if i.cases.limit(1).count() == 0:
        return out + [_not(m, "no soc_cases") for m in ("mtta_hours", "mttc_hours", "false_positive_rate_step_up_deny")]
    tl = case_timeline(i.cases)
    since = F.lit(dt.datetime.combine(night - dt.timedelta(days=CASE_WINDOW_DAYS - 1), dt.time()))
    until = F.lit(dt.datetime.combine(night + dt.timedelta(days=1), dt.time()))
    hours = lambda a, b: (F.col(b).cast("double") - F.col(a).cast("double")) / 3600.0  # noqa: E731
    for metric, end, what in (("mtta_hours", "acknowledged", "acknowledged"), ("mttc_hours", "resolved", "resolved (contained)")):
        q = tl.where((F.col(end) >= since) & (F.col(end) < until) & (F.col(end) >= F.col("created"))).agg(
            F.count("*").alias("n"), F.avg(hours("created", end)).alias("mean"), F.percentile(hours("created", end), 0.5).alias("p50")).first()
        out.append(_ok(metric, q["mean"], f"mean over {q['n']} cases {what} in the last {CASE_WINDOW_DAYS} days "
                                          f"(median {q['p50']:.1f} h)") if q and q["n"]
                   else _not(metric, f"no soc_cases {what} in the last {CASE_WINDOW_DAYS} days"))
    judged = tl.where(F.col("verdict_id").isin(*FALSE_POSITIVE_VERDICTS, *TRUE_POSITIVE_VERDICTS)).select(
        "case_uid", F.explode("emails").alias("email"), F.to_date("created").alias("case_date"), "verdict_id")
    strict = i.risk_window.where(F.col("decision").isin("step_up", "deny")).select(
        F.lower("email").alias("email"), F.col("date").alias("decided"), "decision").distinct()
    linked = strict.join(judged, (strict["email"] == judged["email"]) & (judged["case_date"] >= strict["decided"])
                         & (judged["case_date"] <= F.date_add(strict["decided"], 3)))
    q = linked.select("decided", strict["email"], "verdict_id").distinct().agg(
        F.count("*").alias("n"), F.sum(F.col("verdict_id").isin(*FALSE_POSITIVE_VERDICTS).cast("int")).alias("fp")).first()
    out.append(_ok("false_positive_rate_step_up_deny", q["fp"] / q["n"],
                   f"{q['fp']} of {q['n']} step-up or deny identity-days with a SOC case disposition were false positives "
                   f"(last {REGAIN_WINDOW_DAYS} nights)") if q and q["n"]
               else _not("false_positive_rate_step_up_deny", "no step-up or deny decision has a SOC case disposition"))
    return out


def blast(i: OutcomeInputs) -> list[Row]:
    r = i.blast_org.first()
    names = ("apps_behind_controls_share", "standing_admin_roles", "reachable_resources_mean", "reachable_resources_p95")
    if r is None:
        return [_not(m, "no blast_radius tonight") for m in names]
    return [_ok(names[0], r["apps_behind_controls_share"], "share of catalogued resources behind a gateway, ZTNA or service mesh"),
            _ok(names[1], r["standing_admin_roles"], f"{r['jit_admin_roles']} just-in-time admin roles besides"),
            _ok(names[2], r["mean_reachable"], "resources reachable per active identity"),
            _ok(names[3], r["p95_reachable"], "resources reachable per active identity, 95th percentile")]


def friction(night: dt.date, i: OutcomeInputs) -> list[Row]:
    week = i.risk_week
    nights = week.select("date").distinct().count()
    users = week.where(F.col("grain") == "identity_day").select("user_uid").distinct().count()
    prompts = week.where(F.col("decision") == "step_up").count()
    out = [_ok("step_up_prompts_per_user_week", prompts / users * (FRICTION_WEEK_DAYS / nights),
               f"{prompts} step-up decisions over {users} identities in the last {nights} nights"
               + (f" (scaled to {FRICTION_WEEK_DAYS})" if nights < FRICTION_WEEK_DAYS else ""))
           if users else _not("step_up_prompts_per_user_week", "no decisions in the last week")]
    device = F.exists("factors", lambda f: f["name"].isin("unmanaged_device", "edr_unhealthy"))
    w = i.risk_window.where(F.col("grain") == "identity_day")
    blocked = w.where(F.col("decision").isin("managed_device_required", "deny") | (device & (F.col("decision") != "allow"))).groupBy(
        "user_uid").agg(F.min("date").alias("blocked"))
    ok = w.where(F.col("decision").isin("allow", "step_up") & ~device).select("user_uid", F.col("date").alias("ok"))
    regained = blocked.join(ok, "user_uid", "left").where(F.col("ok").isNull() | (F.col("ok") > F.col("blocked"))).groupBy(
        "user_uid", "blocked").agg(F.min("ok").alias("ok"))
    q = regained.agg(F.count("ok").alias("n"), F.count("*").alias("all"),
                     F.percentile(F.date_diff("ok", "blocked"), 0.5).alias("p50")).first()
    out.append(_ok("time_to_regain_compliant_access_days", q["p50"],
                   f"median over {q['n']} identities that regained compliant access after a device-driven block "
                   f"({q['all'] - q['n']} still blocked; last {REGAIN_WINDOW_DAYS} nights)") if q and q["n"]
               else _not("time_to_regain_compliant_access_days",
                         f"no identity regained access after a device-driven block in the last {REGAIN_WINDOW_DAYS} nights"
                         + (f" ({q['all']} still blocked)" if q and q["all"] else "")))
    return out


def outcome_rows(night: dt.date, i: OutcomeInputs) -> list[tuple]:
    rows = [*hygiene(night, i), *detection(night, i), *blast(i), *friction(night, i)]
    order = {m: k for k, (_, m, _) in enumerate(METRICS)}
    rows.sort(key=lambda r: order[r[0]])
    return [(night, CATEGORY[m], m, v, UNITS[m], status, detail, DEFINITIONS_VERSION) for m, v, status, detail in rows]

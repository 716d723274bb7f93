"""Identity features: pure DataFrame -> DataFrame transforms (no IO, no Dagster).

One night works on three things only, so night 300 costs what night 3 costs:
  * tonight's silver events (the rows landed tonight),
  * tonight's silver snapshots (identities, devices, resources, threat indicators),
  * yesterday's baseline row per identity (`gold/identity_baselines`), which carries everything
    the history is needed for: exponentially weighted means, the hour-of-day profile, the known
    devices, resources, countries and networks, the last sign-in and the last active day.

`daily_activity` summarizes tonight per identity; `identity_features` compares it with yesterday's
baseline; `roll_baseline` folds tonight into the baseline for tomorrow. Every feature is defined in
docs/features.md.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from features.config import FeatureConfig

HOURS = 24
EARTH_RADIUS_KM = 6371.0

# Means kept per identity in the baseline: name -> tonight's column it averages.
EW_METRICS = ("events_total", "signins", "mfa_denials", "iam_actions", "privileged_actions", "export_bytes", "export_rows",
              "read_rows", "sensitive_accesses", "off_hours_share")

BASELINE_DDL = (
    "date date, user_uid string, first_seen_date date, last_activity_date date, active_days int, ew_weight double, "
    + ", ".join(f"ew_{m} double" for m in EW_METRICS)
    + ", hour_weights array<double>, known_devices array<string>, known_resources array<string>, "
    "known_countries array<string>, known_networks array<string>, last_signin_time timestamp, last_signin_lat double, "
    "last_signin_lon double, _features_version string"
)

IDENTITY_FEATURES_DDL = (
    "date date, user_uid string, email string, display_name string, type string, department string, title string, "
    "in_directory boolean, baseline_days int, "
    # volume and MFA
    "events_total bigint, signins bigint, signin_failures bigint, mfa_denials bigint, mfa_denials_baseline double, "
    "mfa_phishing_resistant bigint, mfa_push bigint, mfa_sms bigint, mfa_other bigint, "
    # devices
    "distinct_devices int, new_devices int, new_device_uids array<string>, unmanaged_devices_used int, "
    "noncompliant_devices_used int, unresolved_device_events bigint, "
    # location and time
    "distinct_countries int, countries array<string>, new_countries int, new_networks int, impossible_travel_pairs int, "
    "max_travel_kmh double, off_hours_events bigint, off_hours_share double, off_hours_share_baseline double, off_hours_read_rows bigint, "
    # resources
    "distinct_resources int, new_resources int, rare_resources int, rare_resource_uids array<string>, "
    "sensitive_accesses bigint, "
    # privilege and tokens
    "api_calls bigint, privileged_actions bigint, privileged_actions_baseline double, role_assumptions bigint, "
    "iam_actions bigint, iam_actions_denied bigint, iam_actions_baseline double, max_token_age_hours double, "
    "long_lived_key_uses bigint, long_lived_key_new_network_uses bigint, "
    # data
    "export_bytes bigint, export_rows bigint, export_bytes_baseline double, export_bytes_ratio double, read_rows bigint, "
    "read_rows_baseline double, read_rows_ratio double, "
    # threat intel
    "threat_intel_hits bigint, threat_intel_indicators array<string>, "
    # account state
    "days_since_last_activity int, idle_since_date date, idle_since_source string, termination_date date, active_after_termination boolean, days_after_termination int, "
    "_features_version string"
)


def _network(ip: Column) -> Column:
    """The /24 of an IPv4 address (a location proxy for 'new network'); null for anything else."""
    return F.when(ip.rlike(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"), F.regexp_replace(ip, r"\.\d{1,3}$", ".0/24"))


def activity_events(auth: DataFrame, api: DataFrame, store: DataFrame, resources: DataFrame, threat: DataFrame,
                    cfg: FeatureConfig) -> DataFrame:
    """Tonight's events of every identity in one shape: who, when, from which device, address and
    country, on which resource (and whether it is sensitive), and the threat indicator its address matches."""
    cols = ("user_uid", "time", "device_uid", "resource_uid", "src_ip", "src_country", "table", "_event_id")
    parts = [
        auth.select(*cols[:5], "src_country", F.lit("authentication").alias("table"), "_event_id"),
        api.select(*cols[:5], F.lit(None).cast("string").alias("src_country"), F.lit("api_activity").alias("table"), "_event_id"),
        store.select(*cols[:5], F.lit(None).cast("string").alias("src_country"), F.lit("datastore_activity").alias("table"), "_event_id"),
    ]
    ev = parts[0].unionByName(parts[1]).unionByName(parts[2]).where(F.col("user_uid").isNotNull())
    sens = resources.select("resource_uid", F.lower("sensitivity").isin(*cfg.sensitive_levels).alias("sensitive"))
    bad = (threat.where(F.col("active") & (F.col("indicator_type") == "ipv4-addr"))
           .groupBy(F.col("value").alias("src_ip")).agg(F.min("indicator_uid").alias("indicator_uid")))
    return (ev.join(F.broadcast(sens), "resource_uid", "left").join(F.broadcast(bad), "src_ip", "left")
            .withColumn("sensitive", F.coalesce("sensitive", F.lit(False)))
            .withColumn("hour", F.hour("time")).withColumn("network", _network(F.col("src_ip"))))


def _hist(hours: Column) -> Column:
    return F.transform(F.sequence(F.lit(0), F.lit(HOURS - 1)), lambda h: F.size(F.filter(hours, lambda x: x == h)).cast("double"))


def privileged_role(arn: Column, privileged_policies: tuple[str, ...]) -> Column:
    pattern = "|".join(privileged_policies) or "^$"
    return F.coalesce(arn, F.lit("")).rlike(f"(?i)role/(?:.*/)?[^/]*({pattern})")


def daily_activity(events: DataFrame, auth: DataFrame, api: DataFrame, store: DataFrame, devices: DataFrame,
                   privileged_policies: tuple[str, ...]) -> DataFrame:
    """One row per identity active tonight: counts, sets and the hour histogram of its activity."""
    ev = events.groupBy("user_uid").agg(
        F.count("*").alias("events_total"),
        _hist(F.collect_list("hour")).alias("hours"),
        F.array_sort(F.collect_set("device_uid")).alias("devices"),
        F.array_sort(F.collect_set("resource_uid")).alias("resources"),
        F.array_sort(F.collect_set("src_country")).alias("countries"),
        F.array_sort(F.collect_set("network")).alias("networks"),
        F.sum(F.col("device_uid").isNull().cast("long")).alias("unresolved_device_events"),
        F.sum(F.col("sensitive").cast("long")).alias("sensitive_accesses"),
        F.count("indicator_uid").alias("threat_intel_hits"),
        F.array_sort(F.collect_set("indicator_uid")).alias("threat_intel_indicators"),
    )
    factor = F.upper(F.coalesce("mfa_factor", F.lit("")))
    mfa_ok = F.col("is_mfa") & (F.col("status") == "Success")
    logon = F.col("activity_id") == 1
    au = auth.where(F.col("user_uid").isNotNull()).groupBy("user_uid").agg(
        F.sum(logon.cast("long")).alias("signins"),
        F.sum((logon & (F.col("status") == "Failure")).cast("long")).alias("signin_failures"),
        F.sum((F.col("is_mfa") & (F.col("status") == "Failure")).cast("long")).alias("mfa_denials"),
        F.sum((mfa_ok & F.coalesce("is_phishing_resistant", F.lit(False))).cast("long")).alias("mfa_phishing_resistant"),
        F.sum((mfa_ok & ~F.coalesce("is_phishing_resistant", F.lit(False)) & (factor.contains("PUSH") | factor.contains("VERIFY")
                                                                             | factor.contains("NOTIFICATION"))).cast("long")).alias("mfa_push"),
        F.sum((mfa_ok & (factor.contains("SMS") | factor.contains("TEXT"))).cast("long")).alias("mfa_sms"),
        F.sum(mfa_ok.cast("long")).alias("_mfa_ok"),
    ).withColumn("mfa_other", F.col("_mfa_ok") - F.col("mfa_phishing_resistant") - F.col("mfa_push") - F.col("mfa_sms")).drop("_mfa_ok")
    iam = F.lower(F.coalesce("api_service", F.lit(""))).startswith("iam")
    priv = (privileged_role(F.col("assumed_role_arn"), privileged_policies) | privileged_role(F.col("principal_arn"), privileged_policies)) & ~F.coalesce(
        "is_read_only", F.lit(False))
    lk = F.coalesce("is_long_lived_key", F.lit(False))
    ap = api.where(F.col("user_uid").isNotNull()).withColumn("network", _network(F.col("src_ip"))).groupBy("user_uid").agg(
        F.count("*").alias("api_calls"),
        F.sum(priv.cast("long")).alias("privileged_actions"),
        F.sum(F.coalesce(F.col("api_operation"), F.lit("")).startswith("AssumeRole").cast("long")).alias("role_assumptions"),
        F.sum(iam.cast("long")).alias("iam_actions"),
        F.sum((iam & F.col("error_code").isNotNull()).cast("long")).alias("iam_actions_denied"),
        F.max((F.col("time").cast("double") - F.col("session_created").cast("double")) / 3600.0).alias("max_token_age_hours"),
        F.sum(lk.cast("long")).alias("long_lived_key_uses"),
        F.collect_list(F.when(lk, F.col("network"))).alias("_key_network_calls"),
    )
    export = F.lower(F.coalesce("activity_name", F.lit(""))) == "export"
    # Per hour of day first, then per identity (one pass over the store): rows by hour let off-hours
    # weigh volume, since one 5-million-row query at 3am is one event among a day's but nearly all its rows.
    ds = store.where(F.col("user_uid").isNotNull() & (F.col("status") == "Success")).groupBy("user_uid", F.hour("time").alias("h")).agg(
        F.sum(F.when(export, F.col("bytes"))).alias("export_bytes"),
        F.sum(F.when(export, F.col("rows"))).alias("export_rows"),
        F.sum(F.col("rows")).alias("read_rows"),
    ).groupBy("user_uid").agg(
        *[F.sum(c).cast("long").alias(c) for c in ("export_bytes", "export_rows", "read_rows")],
        F.collect_list(F.struct("h", F.coalesce("read_rows", F.lit(0)).cast("double").alias("r"))).alias("_rows_by_hour"),
    ).select("*", F.transform(F.sequence(F.lit(0), F.lit(HOURS - 1)), lambda h: F.aggregate(
        F.filter("_rows_by_hour", lambda x: x["h"] == h), F.lit(0.0), lambda acc, x: acc + x["r"])).alias("read_rows_hours")
    ).drop("_rows_by_hour")
    dev = devices.select("device_uid", "managed", "compliant")
    used = (events.where(F.col("device_uid").isNotNull()).select("user_uid", "device_uid").distinct()
            .join(F.broadcast(dev), "device_uid", "left").groupBy("user_uid").agg(
                F.sum((~F.coalesce("managed", F.lit(False))).cast("int")).alias("unmanaged_devices_used"),
                F.sum((~F.coalesce("compliant", F.lit(False))).cast("int")).alias("noncompliant_devices_used")))
    return ev.join(au, "user_uid", "left").join(ap, "user_uid", "left").join(ds, "user_uid", "left").join(used, "user_uid", "left")


def haversine_km(lat1: Column, lon1: Column, lat2: Column, lon2: Column) -> Column:
    r = F.radians
    a = F.pow(F.sin((r(lat2) - r(lat1)) / 2), 2) + F.cos(r(lat1)) * F.cos(r(lat2)) * F.pow(F.sin((r(lon2) - r(lon1)) / 2), 2)
    return F.lit(2 * EARTH_RADIUS_KM) * F.asin(F.sqrt(F.least(F.lit(1.0), a)))


def travel(auth: DataFrame, baseline_prev: DataFrame, cfg: FeatureConfig) -> DataFrame:
    """Per identity: impossible-travel pairs among consecutive geolocated successful sign-ins
    (yesterday's last one included), the fastest speed, tonight's last sign-in and the median
    longitude of tonight's sign-ins."""
    pts = auth.where(F.col("user_uid").isNotNull() & (F.col("status") == "Success") & F.col("src_lat").isNotNull()
                     & F.col("src_lon").isNotNull()).select("user_uid", "time", F.col("src_lat").cast("double").alias("lat"),
                                                             F.col("src_lon").cast("double").alias("lon"), F.lit(False).alias("prior"))
    prior = baseline_prev.where(F.col("last_signin_time").isNotNull()).select(
        "user_uid", F.col("last_signin_time").alias("time"), F.col("last_signin_lat").alias("lat"), F.col("last_signin_lon").alias("lon"),
        F.lit(True).alias("prior")).join(pts.select("user_uid").distinct(), "user_uid")
    w = Window.partitionBy("user_uid").orderBy("time", "lat", "lon")
    seq = pts.unionByName(prior).select(
        "*", F.lag("time").over(w).alias("t0"), F.lag("lat").over(w).alias("lat0"), F.lag("lon").over(w).alias("lon0"))
    km = haversine_km(F.col("lat0"), F.col("lon0"), F.col("lat"), F.col("lon"))
    hours = F.greatest((F.col("time").cast("double") - F.col("t0").cast("double")) / 3600.0, F.lit(1.0 / 60))
    seq = seq.withColumn("km", km).withColumn("kmh", F.when(F.col("t0").isNotNull(), F.col("km") / hours))
    impossible = (F.col("km") >= cfg.travel_min_distance_km) & (F.col("kmh") > cfg.travel_max_kmh)
    last = F.max_by(F.struct("time", "lat", "lon"), "time")
    return seq.groupBy("user_uid").agg(
        F.sum(F.when(~F.col("prior") & impossible, 1).otherwise(0)).cast("int").alias("impossible_travel_pairs"),
        F.max(F.when(~F.col("prior") & (F.col("km") >= cfg.travel_min_distance_km), F.col("kmh"))).alias("max_travel_kmh"),
        last.alias("_last"),
        F.percentile_approx(F.when(~F.col("prior"), F.col("lon")), 0.5).alias("signin_lon_median"),
    ).select("user_uid", "impossible_travel_pairs", "max_travel_kmh", F.col("_last.time").alias("last_signin_time"),
             F.col("_last.lat").alias("last_signin_lat"), F.col("_last.lon").alias("last_signin_lon"), "signin_lon_median")


def peer_resource_share(baseline_prev: DataFrame, identities: DataFrame) -> DataFrame:
    """(department, resource_uid, peer_share): the share of a department's identities that had used
    the resource before tonight."""
    dept = identities.select("user_uid", F.coalesce("department", F.lit("(none)")).alias("department"))
    size = dept.groupBy("department").agg(F.count("*").alias("_n"))
    used = baseline_prev.select("user_uid", F.explode("known_resources").alias("resource_uid")).join(dept, "user_uid")
    return used.groupBy("department", "resource_uid").agg(F.countDistinct("user_uid").alias("_k")).join(size, "department").select(
        "department", "resource_uid", (F.col("_k") / F.col("_n")).alias("peer_share"))


def _ratio(x: Column, base: Column) -> Column:
    """Tonight against the own baseline, smoothed by one unit so that a zero baseline stays finite;
    null while the identity has no baseline (no earlier active day)."""
    return F.when(base.isNotNull(), (F.coalesce(x, F.lit(0)).cast("double") + 1.0) / (base + 1.0))


def identity_features(night: dt.date, identities: DataFrame, daily: DataFrame, trips: DataFrame, baseline_prev: DataFrame,
                      peer_share: DataFrame, has_history: bool, cfg: FeatureConfig) -> DataFrame:
    """One row per identity in tonight's identities snapshot (active or not)."""
    b = baseline_prev.drop("date", "_features_version")
    base_cols = [c for c in b.columns if c != "user_uid"]
    b = b.select("user_uid", *[F.col(c).alias(f"b_{c}") for c in base_cols])
    ids = identities.select("user_uid", "email", "display_name", "type", "department", "title", "in_directory", "termination_date",
                            "first_seen_date", "prior_login_date")
    df = ids.join(daily, "user_uid", "left").join(trips, "user_uid", "left").join(b, "user_uid", "left")

    empty: Column = F.array().cast("array<string>")
    known = lambda c: F.coalesce(F.col(f"b_known_{c}"), empty)  # noqa: E731
    def new_items(col: str, known_col: str) -> Column:
        items = F.filter(F.coalesce(F.col(col), empty), lambda x: x.isNotNull())
        return F.array_except(items, known(known_col))
    unknown_when_new_lake = lambda c: c if has_history else F.lit(None)  # noqa: E731

    # Off-hours: tonight's hours outside the working hours in the identity's own time zone that the
    # identity does not routinely work (rare in its weighted profile, or the profile still thin).
    zeros = F.array_repeat(F.lit(0.0), HOURS)
    tonight_h = F.coalesce(F.col("hours"), zeros)
    prof = F.coalesce(F.col("b_hour_weights"), zeros)
    total = F.aggregate(prof, F.lit(0.0), lambda acc, x: acc + x)
    start, end = cfg.working_hours_local
    utc_offset = F.coalesce(F.round(F.coalesce("b_last_signin_lon", "signin_lon_median") / 15.0).cast("int"), F.lit(0))
    idx = F.sequence(F.lit(0), F.lit(HOURS - 1))
    def outside_working_hours(h: Column) -> Column:
        local = F.pmod(h + utc_offset, F.lit(HOURS))
        return (local < start) | (local >= end)
    off_hour = F.zip_with(idx, prof, lambda h, p: outside_working_hours(h) & (
        (total < cfg.min_baseline_events) | (p / total < cfg.rare_hour_share)))

    def in_off_hours(per_hour: Column) -> Column:
        """The sum of a 24-hour histogram over the identity's off-hours."""
        return F.aggregate(F.zip_with(per_hour, off_hour, lambda x, o: F.when(o, x).otherwise(F.lit(0.0))), F.lit(0.0),
                           lambda acc, x: acc + x)

    off = in_off_hours(tonight_h)

    # Idle since the later of the lake's last active day and the identity provider's last sign-in
    # before tonight (which reaches back before the lake began); never active: since first seen.
    last_active, idp_login = F.col("b_last_activity_date"), F.col("prior_login_date")
    last_known = F.greatest(last_active, idp_login)
    idle_since = F.coalesce(last_known, F.col("b_first_seen_date"), F.col("first_seen_date"))
    idle_source = (F.when(last_known.isNull(), F.when(idle_since.isNotNull(), F.lit("first_seen")))
                   .when(last_active.isNull() | (idp_login > last_active), F.lit("identity_provider")).otherwise(F.lit("lake")))
    active = F.coalesce(F.col("events_total"), F.lit(0)) > 0
    terminated = F.col("termination_date").isNotNull() & (F.col("termination_date") < F.lit(night))
    key_new = F.size(F.filter(F.coalesce(F.col("_key_network_calls"), empty),
                              lambda n: n.isNotNull() & ~F.array_contains(known("networks"), n)))

    out = df.select(
        F.lit(night).alias("date"), "user_uid", "email", "display_name", "type", "department", "title", "in_directory",
        F.coalesce("b_active_days", F.lit(0)).alias("baseline_days"),
        *[F.coalesce(c, F.lit(0)).alias(c) for c in ("events_total", "signins", "signin_failures", "mfa_denials")],
        F.coalesce("b_ew_mfa_denials", F.lit(0.0)).alias("mfa_denials_baseline"),
        *[F.coalesce(c, F.lit(0)).alias(c) for c in ("mfa_phishing_resistant", "mfa_push", "mfa_sms", "mfa_other")],
        F.size(F.coalesce("devices", empty)).alias("distinct_devices"),
        unknown_when_new_lake(F.size(new_items("devices", "devices"))).alias("new_devices"),
        unknown_when_new_lake(new_items("devices", "devices")).alias("new_device_uids"),
        *[F.coalesce(c, F.lit(0)).alias(c) for c in ("unmanaged_devices_used", "noncompliant_devices_used", "unresolved_device_events")],
        F.size(F.coalesce("countries", empty)).alias("distinct_countries"), F.coalesce("countries", empty).alias("countries"),
        unknown_when_new_lake(F.size(new_items("countries", "countries"))).alias("new_countries"),
        unknown_when_new_lake(F.size(new_items("networks", "networks"))).alias("new_networks"),
        F.coalesce("impossible_travel_pairs", F.lit(0)).alias("impossible_travel_pairs"), "max_travel_kmh",
        off.cast("long").alias("off_hours_events"),
        F.when(active, off / F.col("events_total")).alias("off_hours_share"),
        F.col("b_ew_off_hours_share").alias("off_hours_share_baseline"),
        in_off_hours(F.coalesce(F.col("read_rows_hours"), zeros)).cast("long").alias("off_hours_read_rows"),
        F.size(F.coalesce("resources", empty)).alias("distinct_resources"),
        unknown_when_new_lake(F.size(new_items("resources", "resources"))).alias("new_resources"),
        F.lit(None).cast("int").alias("rare_resources"), F.lit(None).cast("array<string>").alias("rare_resource_uids"),
        F.coalesce("sensitive_accesses", F.lit(0)).alias("sensitive_accesses"),
        F.coalesce("api_calls", F.lit(0)).alias("api_calls"), F.coalesce("privileged_actions", F.lit(0)).alias("privileged_actions"),
        F.coalesce("b_ew_privileged_actions", F.lit(0.0)).alias("privileged_actions_baseline"),
        *[F.coalesce(c, F.lit(0)).alias(c) for c in ("role_assumptions", "iam_actions", "iam_actions_denied")],
        F.coalesce("b_ew_iam_actions", F.lit(0.0)).alias("iam_actions_baseline"), "max_token_age_hours",
        F.coalesce("long_lived_key_uses", F.lit(0)).alias("long_lived_key_uses"),
        unknown_when_new_lake(key_new).alias("long_lived_key_new_network_uses"),
        F.coalesce("export_bytes", F.lit(0)).alias("export_bytes"), F.coalesce("export_rows", F.lit(0)).alias("export_rows"),
        F.coalesce("b_ew_export_bytes", F.lit(0.0)).alias("export_bytes_baseline"),
        _ratio(F.col("export_bytes"), F.col("b_ew_export_bytes")).alias("export_bytes_ratio"),
        F.coalesce("read_rows", F.lit(0)).alias("read_rows"), F.coalesce("b_ew_read_rows", F.lit(0.0)).alias("read_rows_baseline"),
        _ratio(F.col("read_rows"), F.col("b_ew_read_rows")).alias("read_rows_ratio"),
        F.coalesce("threat_intel_hits", F.lit(0)).alias("threat_intel_hits"),
        F.coalesce("threat_intel_indicators", empty).alias("threat_intel_indicators"),
        F.when(idle_since.isNotNull(), F.date_diff(F.lit(night), idle_since)).alias("days_since_last_activity"),
        idle_since.alias("idle_since_date"), idle_source.alias("idle_since_source"),
        "termination_date",
        (terminated & active).alias("active_after_termination"),
        F.when(terminated & active, F.date_diff(F.lit(night), F.col("termination_date"))).alias("days_after_termination"),
        F.lit(cfg.version).alias("_features_version"),
        # carried for rare resources below
        F.coalesce("resources", empty).alias("_resources"), known("resources").alias("_known_resources"),
        F.coalesce("department", F.lit("(none)")).alias("_dept"),
    )
    pairs = out.select("user_uid", "_dept", F.explode("_resources").alias("resource_uid"), "_known_resources").where(
        ~F.array_contains("_known_resources", F.col("resource_uid")))
    rare = (pairs.join(peer_share.withColumnRenamed("department", "_dept"), ["_dept", "resource_uid"], "left")
            .where(F.coalesce("peer_share", F.lit(0.0)) < cfg.rare_resource_share)
            .groupBy("user_uid").agg(F.array_sort(F.collect_set("resource_uid")).alias("_rare")))
    rare_count = F.size(F.coalesce("_rare", empty)) if has_history else F.lit(None)
    rare_ids = F.coalesce("_rare", empty) if has_history else F.lit(None)
    return (out.join(rare, "user_uid", "left").withColumn("rare_resources", rare_count.cast("int"))
            .withColumn("rare_resource_uids", rare_ids.cast("array<string>")).drop("_rare", "_resources", "_known_resources", "_dept"))


def roll_baseline(night: dt.date, baseline_prev: DataFrame, daily: DataFrame, trips: DataFrame, features: DataFrame,
                  cfg: FeatureConfig) -> DataFrame:
    """Yesterday's baseline plus tonight: O(identities) work, whatever the lake's age. Identities not
    active tonight keep their baseline unchanged (with tonight's date)."""
    d = cfg.decay
    t = (daily.join(trips, "user_uid", "left")
         .join(features.select("user_uid", "off_hours_share"), "user_uid", "left")
         .select("user_uid", *[F.col(c).alias(f"t_{c}") for c in ("events_total", "signins", "mfa_denials", "iam_actions",
                                                                   "privileged_actions", "export_bytes", "export_rows", "read_rows",
                                                                   "sensitive_accesses", "off_hours_share", "hours", "devices",
                                                                   "resources", "countries", "networks", "last_signin_time",
                                                                   "last_signin_lat", "last_signin_lon")]))
    p = baseline_prev.drop("date", "_features_version")
    df = p.join(t, "user_uid", "full_outer")
    act = F.col("t_events_total").isNotNull()
    w0 = F.coalesce("ew_weight", F.lit(0.0))
    w1 = F.lit(d) * w0 + 1.0
    zeros = F.array_repeat(F.lit(0.0), HOURS)
    empty = F.array().cast("array<string>")

    def ew(m: str) -> Column:
        x = F.coalesce(F.col(f"t_{m}").cast("double"), F.lit(0.0))
        return F.when(act, (F.lit(d) * w0 * F.coalesce(F.col(f"ew_{m}"), F.lit(0.0)) + x) / w1).otherwise(F.col(f"ew_{m}"))

    def remember(kind: str) -> Column:
        tonight = F.filter(F.coalesce(F.col(f"t_{kind}"), empty), lambda x: x.isNotNull())
        return F.slice(F.array_distinct(F.concat(tonight, F.coalesce(F.col(f"known_{kind}"), empty))), 1, cfg.max_known)

    later = F.col("t_last_signin_time").isNotNull() & (F.col("last_signin_time").isNull()
                                                      | (F.col("t_last_signin_time") >= F.col("last_signin_time")))
    return df.select(
        F.lit(night).alias("date"), "user_uid",
        F.coalesce("first_seen_date", F.lit(night)).alias("first_seen_date"),
        F.when(act, F.lit(night)).otherwise(F.col("last_activity_date")).alias("last_activity_date"),
        (F.coalesce("active_days", F.lit(0)) + act.cast("int")).alias("active_days"),
        F.when(act, w1).otherwise(w0).alias("ew_weight"),
        *[ew(m).alias(f"ew_{m}") for m in EW_METRICS],
        F.when(act, F.zip_with(F.coalesce("hour_weights", zeros), F.col("t_hours"), lambda a, x: F.lit(d) * a + x)).otherwise(
            F.coalesce("hour_weights", zeros)).alias("hour_weights"),
        *[remember(k).alias(f"known_{k}") for k in ("devices", "resources", "countries", "networks")],
        F.when(later, F.col("t_last_signin_time")).otherwise(F.col("last_signin_time")).alias("last_signin_time"),
        F.when(later, F.col("t_last_signin_lat")).otherwise(F.col("last_signin_lat")).alias("last_signin_lat"),
        F.when(later, F.col("t_last_signin_lon")).otherwise(F.col("last_signin_lon")).alias("last_signin_lon"),
        F.lit(cfg.version).alias("_features_version"),
    )

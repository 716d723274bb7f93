"""Risk scoring: pure transforms from signals (features, model scores) to explained decisions.

Each factor has a severity in [0, 1] computed from named feature columns; its contribution is
`weight x severity` (x the resource's sensitivity multiplier for a request). The score is the sum
of contributions, capped at 100 by scaling every contribution by the same factor, so the stored
contributions always add up to the score. The decision is the highest ladder step the score
reaches, unless an override rule of the policy demands a stricter one.
"""

from __future__ import annotations

import datetime as dt
import math

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from features.identity import haversine_km, privileged_role
from jobs.risk.policy import DECISIONS, Policy
from models.peer_groups import OUTLIER_ENTITLEMENTS_TYPE

RISK_DDL = (
    "date date, grain string, request_uid string, user_uid string, email string, device_uid string, resource_uid string, "
    "action string, sensitivity string, score double, decision string, decision_detail string, enforced boolean, "
    "factors array<struct<name:string,observed:double,severity:double,weight:double,contribution:double,detail:string>>, "
    "evidence array<struct<table:string,_event_id:string>>, policy_name string, policy_version string, "
    "model_versions map<string,string>, features_version string"
)
DEVICE_FACTORS = ("new_device", "unmanaged_device", "edr_unhealthy")
HEALTHY_WORDS = " (managed, with a healthy EDR sensor)"
OUTLIER_ENTS = OUTLIER_ENTITLEMENTS_TYPE  # gold/peer_outliers' own column type


def _one(cond: Column) -> Column:
    return F.when(cond, F.lit(1.0)).otherwise(F.lit(0.0))


def _clip01(x: Column) -> Column:
    return F.least(F.lit(1.0), F.greatest(F.lit(0.0), x))


EDR_EXPECTED_OS = ("windows", "macos", "linux")


def device_posture(device_features: DataFrame, edr_expected_os: tuple[str, ...] = EDR_EXPECTED_OS) -> DataFrame:
    """(device_uid, dev_new, dev_unmanaged, dev_edr_unhealthy) for tonight's devices. EDR is
    unhealthy only where a sensor is expected: a desktop OS (or an unknown one), not a phone."""
    os_name = F.lower(F.coalesce("os", F.lit("")))
    expected = (os_name == "") | os_name.isin(*edr_expected_os)
    return device_features.select(
        "device_uid", F.coalesce("new_device", F.lit(False)).alias("dev_new"), F.coalesce("ghost", F.lit(False)).alias("dev_ghost"),
        (~F.coalesce("managed", F.lit(False))).alias("dev_unmanaged"),
        (~F.coalesce("edr_healthy", F.lit(False)) & ~F.coalesce("ghost", F.lit(False)) & expected).alias("dev_edr_unhealthy"))


def identity_signals(features: DataFrame, device_features: DataFrame, peers: DataFrame | None, behaviour: DataFrame | None,
                     sequences: DataFrame | None = None, edr_expected_os: tuple[str, ...] = EDR_EXPECTED_OS) -> DataFrame:
    """Features joined with tonight's model signals, sequences and the posture of the devices each identity used."""
    used = device_features.select("device_uid", "hostname", F.explode("users").alias("user_uid")).join(
        device_posture(device_features, edr_expected_os), "device_uid")
    posture = used.groupBy("user_uid").agg(
        F.max(F.col("dev_edr_unhealthy").cast("int")).alias("edr_unhealthy_devices"),
        F.sum(F.col("dev_ghost").cast("int")).alias("ghost_devices_used"),
        F.collect_set(F.when(F.col("dev_unmanaged"), F.col("device_uid"))).alias("unmanaged_device_uids"),
        F.collect_set(F.when(F.col("dev_edr_unhealthy"), F.col("device_uid"))).alias("edr_unhealthy_device_uids"),
        F.collect_set(F.when(~F.col("dev_unmanaged") & ~F.col("dev_edr_unhealthy") & ~F.col("dev_ghost"), F.col("device_uid")))
        .alias("healthy_device_uids"),
        F.array_sort(F.collect_set(F.when(F.col("dev_ghost"), F.coalesce("hostname", "device_uid")))).alias("ghost_device_names"))
    df = features.join(posture, "user_uid", "left")
    if peers is not None:
        # Privileged entitlements few peers hold, used tonight (last used on the peer table's night).
        used_rare = F.filter(F.coalesce("outlier_entitlements", F.array().cast(OUTLIER_ENTS)),
                             lambda e: F.coalesce(e["privileged"], F.lit(False)) & (e["last_used"] >= F.col("date")))
        df = df.join(peers.select("user_uid", "outlier_score", F.col("model_version").alias("_peer_version"),
                                  used_rare.alias("outlier_entitlements_used")), "user_uid", "left")
    else:
        df = df.withColumn("outlier_score", F.lit(None).cast("double")).withColumn("_peer_version", F.lit(None).cast("string")) \
            .withColumn("outlier_entitlements_used", F.lit(None).cast(OUTLIER_ENTS))
    if behaviour is not None:
        df = df.join(behaviour.select("user_uid", "percentile", F.col("model_version").alias("_behaviour_version")), "user_uid", "left")
    else:
        df = df.withColumn("percentile", F.lit(None).cast("double")).withColumn("_behaviour_version", F.lit(None).cast("string"))
    if sequences is not None:
        df = df.join(sequences, "user_uid", "left")
    else:
        df = df.withColumn("_sequences", F.lit(None).cast(SEQ_DDL))
    return df


ESCALATIONS = ("AttachRolePolicy", "AttachUserPolicy", "PutRolePolicy", "PutUserPolicy", "AddUserToGroup", "CreateAccessKey",
               "UpdateAssumeRolePolicy", "CreateLoginProfile")
SEQ_DDL = ("array<struct<name:string,weight:double,severity:double,detail:string,"
           "events:array<struct<table:string,_event_id:string>>>>")


def sequence_steps(auth: DataFrame, api: DataFrame, store: DataFrame, changes: DataFrame, features: DataFrame,
                   device_features: DataFrame, privileged_policies: tuple[str, ...], max_kmh: float, min_km: float,
                   edr_expected_os: tuple[str, ...] = EDR_EXPECTED_OS) -> DataFrame:
    """(user_uid, step, time, table, _event_id, device_uid, healthy_device): tonight's events that can
    be a step of a sequence. `healthy_device` is true for a device step whose device is new but
    managed with a healthy EDR sensor (a sequence may weigh that less), null for other steps."""
    cols = ("user_uid", "time", "_event_id", "device_uid")
    logon = auth.where((F.col("activity_id") == 1) & (F.col("status") == "Success") & F.col("user_uid").isNotNull())
    w = Window.partitionBy("user_uid").orderBy("time", "_event_id")
    geo = logon.where(F.col("src_lat").isNotNull()).select(
        *cols, F.col("src_lat").cast("double").alias("lat"), F.col("src_lon").cast("double").alias("lon"))
    geo = geo.select("*", F.lag("time").over(w).alias("t0"), F.lag("lat").over(w).alias("lat0"), F.lag("lon").over(w).alias("lon0"))
    km = haversine_km(F.col("lat0"), F.col("lon0"), F.col("lat"), F.col("lon"))
    hours = F.greatest((F.col("time").cast("double") - F.col("t0").cast("double")) / 3600.0, F.lit(1.0 / 60))
    travel = geo.where(F.col("t0").isNotNull() & (km >= min_km) & (km / hours > max_kmh)).select(
        *cols, F.lit("impossible_travel").alias("step"), F.lit("authentication").alias("table"))
    api_ok = api.where(F.col("user_uid").isNotNull())
    op = F.coalesce(F.col("api_operation"), F.lit(""))
    role = api_ok.where(op.startswith("AssumeRole") & privileged_role(F.col("assumed_role_arn"), privileged_policies)).select(
        *cols, F.lit("privileged_role_assumption").alias("step"), F.lit("api_activity").alias("table"))
    new_devs = features.select("user_uid", F.explode_outer("new_device_uids").alias("device_uid")).where(F.col("device_uid").isNotNull())
    posture = device_posture(device_features, edr_expected_os)
    unmanaged = posture.where(F.col("dev_unmanaged")).select("device_uid")
    risky = new_devs.select("device_uid").unionByName(unmanaged).distinct().join(posture.select(
        "device_uid", (~F.col("dev_unmanaged") & ~F.col("dev_edr_unhealthy")).alias("healthy_device")), "device_uid", "left")
    dev = logon.join(F.broadcast(risky), "device_uid").select(*cols, F.lit("new_or_unmanaged_device_signin").alias("step"),
                                                            F.lit("authentication").alias("table"),
                                                            F.coalesce("healthy_device", F.lit(False)).alias("healthy_device"))
    export = store.where(F.col("user_uid").isNotNull() & (F.lower(F.coalesce("activity_name", F.lit(""))) == "export")).select(
        *cols, F.lit("sensitive_export").alias("step"), F.lit("datastore_activity").alias("table"))
    et = F.lower(F.coalesce("vendor_event_type", F.lit("")))
    enrol = changes.where(F.col("user_uid").isNotNull() & (et.contains("consent") | et.contains("mfa.factor.activate")
                                                            | et.contains("registered security info"))).select(
        "user_uid", "time", "_event_id", F.lit(None).cast("string").alias("device_uid"),
        F.lit("oauth_consent_or_mfa_enrollment").alias("step"), F.col("_table").alias("table"))
    # Token use: any call made with a session, role assumptions included (the SSO role session a
    # phished login yields is the token). The escalation that ends a chain must be a later, other call.
    token = api_ok.select(*cols, F.lit("token_use").alias("step"), F.lit("api_activity").alias("table"))
    esc = api_ok.where(op.isin(*ESCALATIONS) & F.col("error_code").isNull()).select(
        *cols, F.lit("privilege_escalation").alias("step"), F.lit("api_activity").alias("table"))
    out = travel
    for part in (role, dev, export, enrol, token, esc):
        out = out.unionByName(part, allowMissingColumns=True)
    return out


STEPS_DDL = ("date date, user_uid string, step string, time timestamp, table string, _event_id string, device_uid string, "
             "healthy_device boolean")


def carried_steps(previous: DataFrame, tonight_steps: DataFrame, p: Policy) -> DataFrame:
    """Tonight's steps (`tonight` = true) plus the previous night's steps recent enough to start a
    chain that ends tonight: within the longest sequence window before tonight's first step. So a
    chain across midnight is found, and reading one partition of yesterday is all it costs."""
    longest = max((q.within_hours for q in p.sequences), default=0.0)
    first = tonight_steps.agg(F.min("time").alias("_first"))
    recent = previous.crossJoin(F.broadcast(first)).where(
        F.col("time") >= F.col("_first") - F.expr(f"INTERVAL {int(longest * 60)} MINUTES")).drop("_first")
    cols = ("user_uid", "step", "time", "table", "_event_id", "device_uid", "healthy_device")
    def _cols(df: DataFrame) -> DataFrame:  # steps written before `healthy_device` existed have none
        return df if "healthy_device" in df.columns else df.withColumn("healthy_device", F.lit(None).cast("boolean"))
    recent, tonight_steps = _cols(recent), _cols(tonight_steps)
    return tonight_steps.select(*cols, F.lit(True).alias("tonight")).unionByName(
        recent.select(*cols, F.lit(False).alias("tonight"))).dropDuplicates(["user_uid", "step", "_event_id"])


def sequence_hits(steps: DataFrame, p: Policy) -> DataFrame:
    """(user_uid, _sequences): for each policy sequence an identity completed tonight (steps in order,
    all within the window of the first), the earliest such chain with its events. With a `tonight`
    column (carried_steps), a chain must end with one of tonight's steps; earlier ones may be
    yesterday's."""
    empty = steps.sparkSession.createDataFrame([], f"user_uid string, _sequences {SEQ_DDL}")
    hits = None
    for q in p.sequences:
        chain = None
        for k, st in enumerate(q.steps):
            tonight = F.col("tonight") if "tonight" in steps.columns else F.lit(True)
            device = F.col("device_uid") if "device_uid" in steps.columns else F.lit(None).cast("string")
            healthy = F.coalesce(F.col("healthy_device"), F.lit(False)) if "healthy_device" in steps.columns else F.lit(False)
            s = steps.where(F.col("step") == st).select("user_uid", F.col("time").alias(f"t{k}"), F.col("table").alias(f"tb{k}"),
                                                         F.col("_event_id").alias(f"e{k}"), tonight.alias(f"n{k}"), device.alias(f"d{k}"),
                                                         healthy.alias(f"h{k}"))
            if chain is None:
                chain = s
                continue
            cond = ((F.col(f"t{k}") >= F.col(f"t{k - 1}")) & (F.col(f"e{k}") != F.col(f"e{k - 1}"))
                    & (F.col(f"t{k}") <= F.col("t0") + F.expr(f"INTERVAL {int(q.within_hours * 60)} MINUTES")))
            if q.same_device:  # every step from the first step's device (a known one)
                cond = cond & F.col("d0").isNotNull() & (F.col(f"d{k}") == F.col("d0"))
            chain = chain.join(s, "user_uid").where(cond)
        assert chain is not None
        n = len(q.steps)
        chain = chain.where(F.col(f"n{n - 1}"))
        events = F.array(*[F.struct(F.col(f"tb{k}").alias("table"), F.col(f"e{k}").alias("_event_id")) for k in range(n)])
        # A chain whose device is new but managed with a healthy EDR sensor counts at the sequence's
        # `healthy_device_severity` (when set): a new company laptop is not a personal one.
        healthy = F.greatest(*[F.col(f"h{k}") for k in range(n)]) if n > 1 else F.col("h0")
        severity = F.when(healthy, F.lit(q.healthy_device_severity)).otherwise(F.lit(1.0))
        detail = F.concat(F.lit(" then ".join(st.replace("_", " ") for st in q.steps) + f" within {q.within_hours:g}h: "),
                          F.concat_ws(" -> ", *[F.concat(F.col(f"tb{k}"), F.lit(":"), F.col(f"e{k}")) for k in range(n)]),
                          F.when(healthy & (severity < 1), F.format_string(
                              " (the device is new but managed with a healthy EDR sensor: severity %.2f)", severity))
                          .otherwise(F.lit("")))
        first = chain.groupBy("user_uid").agg(F.min_by(F.struct(F.lit(q.name).alias("name"), F.lit(float(q.weight)).alias("weight"),
                                                                severity.alias("severity"), detail.alias("detail"),
                                                                events.alias("events")),
                                                       F.struct(*[F.col(f"t{k}") for k in range(n)])).alias("hit"))
        hits = first if hits is None else hits.unionByName(first)
    if hits is None:
        return empty
    return hits.groupBy("user_uid").agg(F.collect_list("hit").alias("_sequences"))


def factor_columns(p: Policy) -> dict[str, tuple[Column, Column, Column]]:
    """factor -> (observed value, severity 0..1, detail) over an identity-signals row."""
    c = F.col

    def param(factor: str, key: str) -> float:
        """A factor's parameter; a factor the policy does not weigh is left out below, whatever this gives."""
        return p.param(factor, key) if factor in p.weights else 0.0

    num = lambda name: F.coalesce(c(name).cast("double"), F.lit(0.0))  # noqa: E731
    # Novelty means little until the identity has a baseline: new devices and first uses count only
    # from the policy's `warmup_days` of the identity's own history.
    warm = num("baseline_days") >= p.warmup_days
    # A posture problem on a device the identity already used before tonight is chronic: when the
    # policy sets `known_device_severity`, it weighs less in the identity's nightly ranking than a
    # new bad device (requests have their own `known_device_request_severity`, in requests()).
    def _routine(uids: str) -> Column:
        bad = F.coalesce(c(uids), F.array().cast("array<string>"))
        return warm & (F.size(bad) >= 1) & (F.size(F.array_intersect(bad, F.coalesce(c("new_device_uids"), F.array()))) == 0)

    # A new device that is managed with a healthy EDR sensor (a newly enrolled laptop) counts at the
    # policy's `healthy_severity`, when it sets one, in both grains.
    new_healthy = p.params.get("new_device", {}).get("healthy_severity", 1.0)
    new_uids = F.coalesce(c("new_device_uids"), F.array().cast("array<string>"))
    all_new_healthy = (F.size(new_uids) >= 1) & (F.size(F.array_except(new_uids, F.coalesce(
        c("healthy_device_uids"), F.array().cast("array<string>")))) == 0)

    def _posture(present: Column, uids: str, factor: str) -> Column:
        known = p.params.get(factor, {}).get("known_device_severity", 1.0)
        return F.when(present & _routine(uids), F.lit(known)).when(present, F.lit(1.0)).otherwise(F.lit(0.0))

    # Off-hours counts only for an identity whose own baseline is mostly office hours (a night-shift
    # worker or a batch account is not unusual at 3am), when the policy sets `max_baseline_share`.
    def _usual_hours(factor: str) -> Column:
        max_base = p.params.get(factor, {}).get("max_baseline_share")
        return F.lit(True) if max_base is None else (num("off_hours_share_baseline") <= max_base)

    # A plausible trip tonight (sign-ins far apart, none faster than the travel bound) shifts the
    # hours someone works: off-hours then counts at `travel_severity`, when the policy sets it.
    travelled = c("max_travel_kmh").isNotNull() & (num("impossible_travel_pairs") == 0)

    def _travel(factor: str) -> Column:
        return F.when(travelled, F.lit(p.params.get(factor, {}).get("travel_severity", 1.0))).otherwise(F.lit(1.0))

    def _travel_words(factor: str) -> Column:
        return F.when(travelled & F.lit(p.params.get(factor, {}).get("travel_severity", 1.0) < 1), F.format_string(
            " while travelling (sign-ins up to %.0f km/h apart, a plausible trip)", num("max_travel_kmh"))).otherwise(F.lit(""))
    # A burst of IAM calls none of which was refused is what a review by someone entitled to it looks
    # like (probing is refused: iam_denied); it counts at the policy's `allowed_severity`, when set.
    iam_allowed = p.params.get("iam_burst", {}).get("allowed_severity", 1.0)
    allowed_all = num("iam_actions_denied") == 0
    below = p.params.get("outlier_entitlement_used", {}).get("below_coverage", 0.0)
    rare_used = F.filter(F.coalesce(c("outlier_entitlements_used"), F.array().cast(OUTLIER_ENTS)),
                         lambda e: F.coalesce(e["peer_coverage"], F.lit(0.0)) < below)

    def _volume(factor: str, ratio: Column) -> Column:
        """Severity of a volume against its baseline: log-scaled from `from_ratio` to `full_at`."""
        return F.when(ratio >= param(factor, "from_ratio"), _clip01(
            F.log(ratio) / math.log(max(param(factor, "full_at"), 1.0001)))).otherwise(0.0)

    def _against(x: Column, baseline: Column, floor: float) -> Column:
        """Tonight's volume over the larger of the own baseline and the floor (smoothed by one)."""
        return (x + 1.0) / (F.greatest(baseline, F.lit(floor)) + 1.0)

    read_floor = p.params.get("large_read", {}).get("floor_rows", 0.0)
    # Rows read other than exported (large_export covers those), against the rows-read baseline.
    reads = F.greatest(num("read_rows") - num("export_rows"), F.lit(0.0))
    read_ratio = _against(reads, num("read_rows_baseline"), read_floor)
    # Exports compare with the identity's own baseline, but never with less than `floor_bytes`: a
    # thin or empty baseline (a new joiner, a first export) does not make a routine export "large".
    floor = p.params.get("large_export", {}).get("floor_bytes", 0.0)
    if floor > 0:
        ratio = _against(num("export_bytes"), num("export_bytes_baseline"), floor)
        export_detail = F.format_string("exported %,.0f bytes, %.0fx the larger of own baseline (%,.0f) and the floor (%,.0f)",
                                        num("export_bytes"), ratio, num("export_bytes_baseline"), F.lit(floor))
    else:
        ratio = num("export_bytes_ratio")
        export_detail = F.format_string("exported %,.0f bytes, %.0fx own baseline", num("export_bytes"), ratio)
    defs: dict[str, tuple[Column, Column, Column]] = {
        "new_device": (num("new_devices"), F.when((num("new_devices") >= 1) & warm & all_new_healthy, F.lit(new_healthy))
                       .otherwise(_one((num("new_devices") >= 1) & warm)),
                       F.concat(F.lit("new device(s): "), F.array_join(F.coalesce(c("new_device_uids"), F.array()), ", "),
                                F.when(all_new_healthy & (F.lit(new_healthy) < 1), F.lit(HEALTHY_WORDS)).otherwise(F.lit("")))),
        "unmanaged_device": (num("unmanaged_devices_used"), _posture(num("unmanaged_devices_used") >= 1, "unmanaged_device_uids",
                                                                     "unmanaged_device"),
                             F.when(_routine("unmanaged_device_uids"), F.lit("a device with no MDM record (or not managed) that the "
                                                                          "identity uses routinely"))
                             .otherwise(F.lit("a device with no MDM record (or not managed)"))),
        "edr_unhealthy": (num("edr_unhealthy_devices"), _posture(num("edr_unhealthy_devices") >= 1, "edr_unhealthy_device_uids",
                                                                 "edr_unhealthy"),
                          F.when(_routine("edr_unhealthy_device_uids"), F.lit("a device with no EDR sensor or a stale one, that the "
                                                                               "identity uses routinely"))
                          .otherwise(F.lit("a device with no EDR sensor or a stale one"))),
        "impossible_travel": (num("impossible_travel_pairs"), _one(num("impossible_travel_pairs") >= 1),
                              F.format_string("%d sign-in pair(s) at up to %.0f km/h", num("impossible_travel_pairs").cast("int"),
                                              num("max_travel_kmh"))),
        "known_bad_ip": (num("threat_intel_hits"), _one(num("threat_intel_hits") >= 1),
                         F.concat(F.lit("source IP in "), F.array_join(F.coalesce(c("threat_intel_indicators"), F.array()), ", "))),
        "rare_resource": (num("rare_resources"), _one((num("rare_resources") >= 1) & warm),
                          F.concat(F.lit("first use, rare among peers: "),
                                   F.array_join(F.coalesce(c("rare_resource_uids"), F.array()), ", "))),
        "peer_outlier_entitlement": (num("outlier_score"), _clip01(num("outlier_score") / param("peer_outlier_entitlement", "full_at")),
                                     F.format_string("peer-outlier score %.1f", num("outlier_score"))),
        "behaviour_anomaly": (num("percentile"), _clip01((num("percentile") - param("behaviour_anomaly", "from_percentile"))
                                                         / (100 - param("behaviour_anomaly", "from_percentile") + 1e-9)),
                              F.format_string("behaviour at the %.1fth percentile", num("percentile"))),
        "token_age": (num("max_token_age_hours"), F.when(num("max_token_age_hours") >= param("token_age", "from_hours"), _clip01(
            num("max_token_age_hours") / param("token_age", "full_at"))).otherwise(0.0),
                      F.format_string("session %.0f hours old", num("max_token_age_hours"))),
        "dormant_account": (num("days_since_last_activity"),
                            _one((num("events_total") > 0) & (num("days_since_last_activity") >= param("dormant_account", "from_days"))),
                            F.concat(F.format_string("active after %d idle days", num("days_since_last_activity").cast("int")),
                                     F.when(c("idle_since_source") == "identity_provider", F.concat(
                                         F.lit(" (last sign-in before tonight, per the identity provider: "),
                                         F.date_format(c("idle_since_date"), "yyyy-MM-dd"), F.lit(")"))).otherwise(F.lit("")))),
        "activity_after_termination": (num("days_after_termination"), _one(F.coalesce(c("active_after_termination"), F.lit(False))),
                                       F.format_string("active %d day(s) after termination", num("days_after_termination").cast("int"))),
        "large_export": (ratio, _volume("large_export", ratio), export_detail),
        "mfa_denial_burst": (num("mfa_denials"), _one(num("mfa_denials") >= param("mfa_denial_burst", "from_count")),
                             F.format_string("%d MFA denials", num("mfa_denials").cast("int"))),
        "iam_burst": (num("iam_actions"), _one((num("iam_actions") >= param("iam_burst", "min_count")) & (
            (num("iam_actions") + 1) / (num("iam_actions_baseline") + 1) >= param("iam_burst", "from_ratio")))
                      * F.when(allowed_all, F.lit(iam_allowed)).otherwise(F.lit(1.0)),
                      F.concat(F.format_string("%d IAM calls vs own baseline %.1f", num("iam_actions").cast("int"), num("iam_actions_baseline")),
                               F.when(allowed_all & F.lit(iam_allowed < 1), F.lit(", none denied")).otherwise(F.lit("")))),
        "long_lived_key_new_network": (num("long_lived_key_new_network_uses"), _one(num("long_lived_key_new_network_uses") >= 1),
                                       F.format_string("%d long-lived key call(s) from a new network",
                                                       num("long_lived_key_new_network_uses").cast("int"))),
        "off_hours_sensitive": (num("off_hours_share"), _one((num("off_hours_share") >= param("off_hours_sensitive", "from_share"))
                                                             & (num("sensitive_accesses") > 0) & _usual_hours("off_hours_sensitive"))
                                * _travel("off_hours_sensitive"),
                                F.concat(F.format_string("%.0f%% of activity off-hours (own baseline %.0f%%), %d sensitive accesses",
                                                         num("off_hours_share") * 100, num("off_hours_share_baseline") * 100,
                                                         num("sensitive_accesses").cast("int")),
                                         _travel_words("off_hours_sensitive"))),
        "off_hours_bulk_read": (num("off_hours_read_rows"), _one(
            (num("off_hours_read_rows") >= param("off_hours_bulk_read", "from_rows"))
            & (num("off_hours_read_rows") >= param("off_hours_bulk_read", "from_share") * num("read_rows"))
            & warm & _usual_hours("off_hours_bulk_read")) * _travel("off_hours_bulk_read"),
            F.concat(F.format_string("read %,.0f rows off-hours (%.0f%% of tonight's %,.0f; own baseline %.0f%% of activity off-hours)",
                                     num("off_hours_read_rows"), num("off_hours_read_rows") * 100 / F.greatest(num("read_rows"), F.lit(1.0)),
                                     num("read_rows"), num("off_hours_share_baseline") * 100),
                     _travel_words("off_hours_bulk_read"))),
        "ghost_device": (num("ghost_devices_used"), _one(num("ghost_devices_used") >= 1),
                         F.concat(F.lit("used a device no inventory (MDM, EDR, directory) knows: "),
                                  F.array_join(F.coalesce(c("ghost_device_names"), F.array()), ", "))),
        "outlier_entitlement_used": (
            F.size(rare_used).cast("double"), _one(F.size(rare_used) >= 1),
            F.concat(F.lit("used privileged access few peers hold: "), F.array_join(F.transform(rare_used, lambda e: F.format_string(
                "%s (%.0f%% of peers)", e["entitlement"], e["peer_coverage"] * 100)), ", "))),
        "iam_denied": (num("iam_actions_denied"), _one(num("iam_actions_denied") >= param("iam_denied", "from_count")),
                       F.format_string("%d IAM calls denied (permission probing)", num("iam_actions_denied").cast("int"))),
        "large_read": (read_ratio, _volume("large_read", read_ratio),
                       F.format_string("read %,.0f rows, %.0fx the larger of own baseline (%,.0f) and the floor (%,.0f)",
                                       reads, read_ratio, num("read_rows_baseline"), F.lit(read_floor))),
    }
    return {k: v for k, v in defs.items() if k in p.weights}


def _factor_array(p: Policy, overrides: dict[str, tuple[Column, Column, Column]], multiplier: Column,
                  request_uid: Column | None = None) -> Column:
    """Every factor with a positive contribution, sequences included (for a request: the chains its
    event completes, where the chain is decided; an earlier step, such as the sign-in before an
    export, was not yet a chain when it happened)."""
    defs = {**factor_columns(p), **overrides}

    def scaled(name: str) -> Column:
        """The part of the request's sensitivity multiplier this factor takes (`sensitivity_share`)."""
        share = p.params.get(name, {}).get("sensitivity_share", 1.0)
        return F.lit(1.0) + F.lit(share) * (multiplier - F.lit(1.0))

    items = [F.struct(F.lit(name).alias("name"), obs.alias("observed"), sev.alias("severity"), F.lit(p.weights[name]).alias("weight"),
                      (F.lit(p.weights[name]) * sev * scaled(name)).alias("contribution"), detail.alias("detail"))
             for name, (obs, sev, detail) in defs.items()]
    seqs = F.coalesce(F.col("_sequences"), F.array().cast(SEQ_DDL))
    if request_uid is not None:
        last = lambda q: F.element_at(q["events"], -1)  # noqa: E731
        seqs = F.filter(seqs, lambda q: F.concat(last(q)["table"], F.lit(":"), last(q)["_event_id"]) == request_uid)
    seq_items = F.transform(seqs, lambda q: F.struct(
        F.concat(F.lit("sequence:"), q["name"]).alias("name"), F.lit(1.0).alias("observed"), q["severity"].alias("severity"),
        q["weight"].alias("weight"), (q["weight"] * q["severity"] * multiplier).alias("contribution"), q["detail"].alias("detail")))
    return F.filter(F.concat(F.array(*items), seq_items), lambda f: f["contribution"] > 0)


def _finish(df: DataFrame, p: Policy, action: Column, resource: Column) -> DataFrame:
    """Score (capped at 100, contributions scaled to add up to it), ladder decision, overrides."""
    total = F.aggregate("_factors", F.lit(0.0), lambda acc, f: acc + f["contribution"])
    scale = F.when(total > 100, F.lit(100.0) / total).otherwise(F.lit(1.0))
    df = df.withColumn("_scale", scale).withColumn("factors", F.array_sort(
        F.transform("_factors", lambda f: f.withField("contribution", f["contribution"] * F.col("_scale"))),
        lambda a, b: F.when(a["contribution"] > b["contribution"], -1).when(a["contribution"] < b["contribution"], 1).otherwise(0)))
    df = df.withColumn("score", F.round(F.least(F.lit(100.0), total), 4))
    rank = F.lit(0)
    for i, d in enumerate(DECISIONS[1:], start=1):
        rank = F.when(F.col("score") >= p.ladder[d], F.lit(i)).otherwise(rank)
    detail = F.lit(None).cast("string")
    names = F.transform("factors", lambda f: f["name"])
    for o in sorted(p.overrides, key=lambda o: DECISIONS.index(o.decision)):  # strictest last, so it wins
        cond = F.lit(True)
        if o.action:
            cond = cond & (action == o.action)
        if o.resource:
            cond = cond & (resource == o.resource)
        if o.factors_any:
            cond = cond & F.arrays_overlap(names, F.array(*[F.lit(x) for x in o.factors_any]))
        stricter = cond & (F.lit(DECISIONS.index(o.decision)) >= rank)
        detail = F.when(stricter, F.lit(o.detail)).otherwise(detail)
        rank = F.when(stricter, F.lit(DECISIONS.index(o.decision))).otherwise(rank)
    decision = F.element_at(F.array(*[F.lit(d) for d in DECISIONS]), rank + 1)
    return df.withColumn("decision", decision).withColumn("decision_detail", F.coalesce(detail, F.regexp_replace(decision, "_", " ")))


def _enforced(p: Policy, email: Column, department: Column) -> Column:
    """Monitor-only policies enforce nothing; a pilot enforces only its departments and emails."""
    if p.mode == "monitor":
        return F.lit(False)
    if not (p.pilot_departments or p.pilot_emails):
        return F.lit(True)
    inside = F.lit(False)
    if p.pilot_emails:
        inside = inside | F.lower(email).isin(*p.pilot_emails)
    if p.pilot_departments:
        inside = inside | department.isin(*p.pilot_departments)
    return F.coalesce(inside, F.lit(False))


def _common(df: DataFrame, night: dt.date, p: Policy) -> DataFrame:
    versions = F.create_map(F.lit("behaviour"), F.coalesce("_behaviour_version", F.lit("not scored")),
                            F.lit("peer_groups"), F.coalesce("_peer_version", F.lit("not scored")))
    return df.withColumn("date", F.lit(night)).withColumn("policy_name", F.lit(p.name)).withColumn(
        "policy_version", F.lit(p.version)).withColumn("model_versions", versions).withColumn(
        "enforced", _enforced(p, F.col("email"), F.col("department"))).withColumn("features_version", F.col("_features_version"))


def identity_day(night: dt.date, signals: DataFrame, p: Policy) -> DataFrame:
    """One row per identity: its night's factors, score and decision."""
    df = signals.withColumn("_factors", _factor_array(p, {}, F.lit(1.0)))
    df = _finish(df, p, F.lit(None).cast("string"), F.lit(None).cast("string"))
    return _common(df, night, p).select(
        "date", F.lit("identity_day").alias("grain"), F.lit(None).cast("string").alias("request_uid"), "user_uid", "email",
        F.lit(None).cast("string").alias("device_uid"), F.lit(None).cast("string").alias("resource_uid"),
        F.lit(None).cast("string").alias("action"), F.lit(None).cast("string").alias("sensitivity"), "score", "decision",
        "decision_detail", "enforced", "factors",
        F.coalesce(F.flatten(F.transform(F.coalesce(F.col("_sequences"), F.array().cast(SEQ_DDL)), lambda q: q["events"])),
                   F.array().cast("array<struct<table:string,_event_id:string>>")).alias("evidence"),
        "policy_name", "policy_version", "model_versions", "features_version")


def sensitive_requests(auth: DataFrame, api: DataFrame, store: DataFrame, resources: DataFrame, sensitive: tuple[str, ...]) -> DataFrame:
    """Tonight's sensitive requests: accesses to high or critical resources, exports, role assumptions."""
    sens = resources.select("resource_uid", F.lower("sensitivity").alias("sensitivity"))
    cols = ("user_uid", "time", "device_uid", "resource_uid", "_event_id")
    exports = store.where(F.lower(F.coalesce("activity_name", F.lit(""))) == "export").select(
        *cols, F.lit("export").alias("action"), F.lit("datastore_activity").alias("table"))
    reads = store.where(F.lower(F.coalesce("activity_name", F.lit(""))) != "export").select(
        *cols, F.lit("access").alias("action"), F.lit("datastore_activity").alias("table"))
    logons = auth.where(F.col("activity_id") == 1).select(*cols, F.lit("access").alias("action"), F.lit("authentication").alias("table"))
    roles = api.where(F.coalesce(F.col("api_operation"), F.lit("")).startswith("AssumeRole")).select(
        *cols, F.lit("role_assumption").alias("action"), F.lit("api_activity").alias("table"))
    req = exports.unionByName(reads).unionByName(logons).unionByName(roles).where(F.col("user_uid").isNotNull()).join(
        sens, "resource_uid", "left")
    keep = (F.col("action") != "access") | F.col("sensitivity").isin(*sensitive)
    return req.where(keep).withColumn("request_uid", F.concat_ws(":", "table", "_event_id"))


def requests(night: dt.date, reqs: DataFrame, signals: DataFrame, device_features: DataFrame, p: Policy,
             edr_expected_os: tuple[str, ...] = EDR_EXPECTED_OS) -> DataFrame:
    """One row per sensitive request: the identity's night, with the device factors of *this*
    request's device and the resource's sensitivity multiplier."""
    mult = F.create_map(*[x for kv in p.sensitivity.items() for x in (F.lit(kv[0]), F.lit(kv[1]))])
    df = reqs.join(device_posture(device_features, edr_expected_os), "device_uid", "left").join(signals, "user_uid")
    warm = F.coalesce(F.col("baseline_days"), F.lit(0)) >= p.warmup_days
    # A request that names no device (an API call or role session signed with keys) is not the same
    # as one from a device known to lack MDM or EDR: it gets its own, weaker factor. A device that is
    # named but has no posture record tonight counts as unmanaged and without EDR.
    unknown_device = F.col("device_uid").isNull()
    named = F.col("device_uid").isNotNull()
    unmanaged = F.coalesce("dev_unmanaged", named) & named
    no_edr = F.coalesce("dev_edr_unhealthy", named) & named
    # A device the identity used before tonight (past its warm-up) has a chronic posture problem:
    # each request from it counts at `known_device_request_severity` when the policy sets it. A
    # device no inventory knows (a ghost) is never routine, however often it was seen.
    routine = warm & named & ~F.coalesce("dev_new", F.lit(True)) & ~F.coalesce("dev_ghost", F.lit(False))

    def _posture(bad: Column, factor: str, words: str) -> tuple[Column, Column, Column]:
        known = p.params.get(factor, {}).get("known_device_request_severity", 1.0)
        return (_one(bad), F.when(bad & routine, F.lit(known)).otherwise(_one(bad)),
                F.concat(F.lit(words), F.coalesce("device_uid", F.lit("?")),
                         F.when(bad & routine, F.lit(" (used routinely)")).otherwise(F.lit(""))))

    new_dev = F.coalesce("dev_new", F.lit(False)) & warm
    healthy = named & ~F.coalesce("dev_unmanaged", F.lit(True)) & ~F.coalesce("dev_edr_unhealthy", F.lit(True)) & \
        ~F.coalesce("dev_ghost", F.lit(False))
    new_healthy = p.params.get("new_device", {}).get("healthy_severity", 1.0)
    dev: dict[str, tuple[Column, Column, Column]] = {
        "new_device": (_one(F.coalesce("dev_new", F.lit(False))), F.when(new_dev & healthy, F.lit(new_healthy)).otherwise(_one(new_dev)),
                       F.concat(F.lit("request from new device "), F.coalesce("device_uid", F.lit("?")),
                                F.when(healthy & (F.lit(new_healthy) < 1), F.lit(HEALTHY_WORDS)).otherwise(F.lit("")))),
        "unmanaged_device": _posture(unmanaged, "unmanaged_device", "request from a device with no MDM record: "),
        "edr_unhealthy": _posture(no_edr, "edr_unhealthy", "request from a device with no healthy EDR sensor: "),
        "unknown_device": (_one(unknown_device), _one(unknown_device),
                           F.lit("request names no device (API keys or a role session): device posture unknown")),
    }
    # A rare resource is a request's factor only on a request to that resource: an identity's first
    # use of a file server says nothing about its sign-in to the identity provider.
    rare_here = F.coalesce(F.array_contains(F.col("rare_resource_uids"), F.col("resource_uid")), F.lit(False))
    dev["rare_resource"] = (_one(rare_here), _one(rare_here & warm),
                            F.concat(F.lit("first use, rare among peers: "), F.coalesce("resource_uid", F.lit("?"))))
    dev = {k: v for k, v in dev.items() if k in p.weights}
    if "large_export" in p.weights:  # an export factor belongs to export requests only
        obs, sev, det = factor_columns(p)["large_export"]
        dev["large_export"] = (obs, F.when(F.col("action") == "export", sev).otherwise(0.0), det)
    df = df.withColumn("_factors", _factor_array(p, dev, F.coalesce(F.try_element_at(mult, F.col("sensitivity")), F.lit(1.0)),
                                                 F.col("request_uid")))
    df = _finish(df, p, F.col("action"), F.col("resource_uid"))
    evidence = F.array(F.struct(F.col("table").alias("table"), F.col("_event_id").alias("_event_id")))
    return _common(df, night, p).select(
        "date", F.lit("request").alias("grain"), "request_uid", "user_uid", "email", "device_uid", "resource_uid", "action",
        "sensitivity", "score", "decision", "decision_detail", "enforced", "factors", evidence.alias("evidence"), "policy_name",
        "policy_version", "model_versions", "features_version")

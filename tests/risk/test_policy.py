"""Policy as code: the shipped policy validates; a bad one is refused with its line and reason, and
the previous policy stays in force."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from jobs.risk import build as RB
from jobs.risk.policy import CURRENT, PolicyError, load, parse
from jobs.silver.build import Night
from jobs.silver.config import load as load_silver


def severities(spark, factor: str, rows: list[tuple], ddl: str) -> dict[str, tuple[float, str]]:
    """who -> (severity, detail) of one factor of the shipped policy, over hand-made feature rows."""
    from jobs.risk import score as S

    col = S.factor_columns(load())[factor]
    df = spark.createDataFrame(rows, ddl)
    return {r["who"]: (r["sev"], r["detail"]) for r in df.select("who", col[1].alias("sev"), col[2].alias("detail")).collect()}


def test_shipped_policy_is_valid_and_versioned_by_content():
    p = load()
    version, digest = p.version.split("+")
    assert version == "2026.11.9" and len(digest) == 12
    assert parse(CURRENT.read_text() + "\n# a comment changes the hash\n", CURRENT).version != p.version
    assert p.ladder["step_up"] < p.ladder["deny"] and p.weights["known_bad_ip"] > 0


def test_bad_policy_is_refused_with_line_and_reason(tmp_path):
    text = CURRENT.read_text()
    bad = text.replace("new_device: {weight: 10,", "new_device: {weight: heavy,").replace(
        "  deny: 80", "  deny: 50").replace("decision: deny\n", "decision: block\n", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(PolicyError) as e:
        load(path)
    msg = str(e.value)
    lines = bad.splitlines()
    weight_line = next(i for i, s in enumerate(lines, 1) if "weight: heavy" in s)
    block_line = next(i for i, s in enumerate(lines, 1) if "decision: block" in s)
    assert f"bad.yaml:{weight_line}: factors.new_device.weight: must be a number from 0 to 100, got 'heavy'" in msg
    assert f"bad.yaml:{block_line}: overrides[0].decision: must be one of" in msg
    assert "ladder: thresholds must increase" in msg


def test_unknown_factor_and_missing_parameter_are_named(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(CURRENT.read_text().replace("token_age: {weight: 5, from_hours: 12, full_at: 72}", "token_age: {weight: 5}")
                    .replace("  rare_resource:", "  rare_resourse:"))
    msg = str(pytest.raises(PolicyError, load, path).value)
    assert "factors.rare_resourse: unknown factor" in msg and "factors.token_age.from_hours: required" in msg


def test_previous_policy_stays_in_force_when_the_file_breaks(spark, tmp_path):
    n = Night(spark, str(tmp_path / "lake"), dt.date(2026, 11, 3), load_silver())
    good = tmp_path / "current.yaml"
    good.write_text(CURRENT.read_text())
    first = RB.policy_in_force(n, good)
    assert first.refused is None
    good.write_text(CURRENT.read_text().replace("deny: 80", "deny: lots"))
    kept = RB.policy_in_force(n, good)
    assert kept.policy.version == first.policy.version and "ladder.deny: must be a number" in (kept.refused or "")
    with pytest.raises(PolicyError, match="no earlier accepted policy"):
        RB.policy_in_force(Night(spark, str(tmp_path / "other"), n.night, load_silver()), Path(good))


def test_incident_settings_are_policy_keys_with_their_bounds():
    from jobs.risk.policy import CURRENT, PolicyError, parse

    p = parse(CURRENT.read_text(), CURRENT)
    assert (p.incident_min_score, p.incident_window_days) == (45.0, 3)
    changed = parse(CURRENT.read_text().replace("window_days: 3}", "window_days: 5}"), CURRENT)
    assert changed.incident_window_days == 5 and changed.version != p.version
    with pytest.raises(PolicyError, match=r"current.yaml:\d+: incidents.window_days: must be a number from 1 to 90"):
        parse(CURRENT.read_text().replace("window_days: 3}", "window_days: 0}"), CURRENT)


def test_edr_is_expected_on_desktops_not_phones_and_novelty_waits_for_a_baseline(spark):
    from jobs.risk import score as S
    from jobs.risk.policy import load

    devs = spark.createDataFrame([("win", "Windows", False, False), ("phone", "iOS", False, False), ("unknown", None, False, False),
                                  ("ghost", "Windows", False, True), ("mac-ok", "macOS", True, False)],
                                 "device_uid string, os string, edr_healthy boolean, ghost boolean") \
        .selectExpr("*", "true as managed", "false as new_device")
    posture = {r["device_uid"]: r["dev_edr_unhealthy"] for r in S.device_posture(devs).collect()}
    assert posture == {"win": True, "phone": False, "unknown": True, "ghost": False, "mac-ok": False}
    p = load()
    assert p.warmup_days == 2
    cols = S.factor_columns(p)
    rows = spark.createDataFrame([(0, 1, 1), (1, 1, 1), (2, 1, 1)], "baseline_days int, new_devices int, rare_resources int") \
        .selectExpr("*", "array('d1') as new_device_uids", "array('r1') as rare_resource_uids", "array() as healthy_device_uids")
    got = rows.select("baseline_days", cols["new_device"][1].alias("new"), cols["rare_resource"][1].alias("rare")).orderBy("baseline_days")
    assert [(r["new"], r["rare"]) for r in got.collect()] == [(0.0, 0.0), (0.0, 0.0), (1.0, 1.0)]


def test_a_chronic_posture_problem_weighs_less_in_the_nightly_ranking_than_a_new_bad_device(spark):
    """Identity-day grain: an unmanaged device the identity used before tonight weighs
    known_device_severity (0.4); a new one, or any on a young baseline, weighs 1."""
    from jobs.risk import score as S
    from jobs.risk.policy import load

    p = load()
    assert p.params["unmanaged_device"]["known_device_severity"] == 0.4
    cols = S.factor_columns(p)
    rows = spark.createDataFrame([
        ("routine", 5, 1, ["byod"], []),          # the same personal laptop as every day
        ("new", 5, 1, ["byod2"], ["byod2"]),      # an unmanaged device first seen tonight
        ("young", 1, 1, ["byod"], []),            # no baseline yet to call it routine
        ("none", 5, 0, [], []),
    ], "who string, baseline_days int, unmanaged_devices_used int, unmanaged_device_uids array<string>, new_device_uids array<string>")
    got = {r["who"]: (r["sev"], r["detail"]) for r in rows.select(
        "who", cols["unmanaged_device"][1].alias("sev"), cols["unmanaged_device"][2].alias("detail")).collect()}
    assert {k: v[0] for k, v in got.items()} == {"routine": 0.4, "new": 1.0, "young": 1.0, "none": 0.0}
    assert got["routine"][1].endswith("that the identity uses routinely") and not got["new"][1].endswith("routinely")


def test_off_hours_on_a_plausible_trip_counts_at_the_travel_severity(spark):
    """Someone on a trip works at hours that are odd in their home time zone: off-hours counts at
    travel_severity (0.5). Impossible travel is no trip, and no travel keeps full severity."""
    from jobs.risk import score as S
    from jobs.risk.policy import load

    p = load()
    assert p.params["off_hours_sensitive"]["travel_severity"] == 0.5
    col = S.factor_columns(p)["off_hours_sensitive"]
    rows = spark.createDataFrame([("trip", 557.0, 0), ("impossible", 13126.0, 2), ("home", None, 0)],
                                 "who string, max_travel_kmh double, impossible_travel_pairs int") \
        .selectExpr("*", "1.0 as off_hours_share", "0.0 as off_hours_share_baseline", "3 as sensitive_accesses")
    got = {r["who"]: (r["sev"], r["detail"]) for r in rows.select("who", col[1].alias("sev"), col[2].alias("detail")).collect()}
    assert {k: v[0] for k, v in got.items()} == {"trip": 0.5, "impossible": 1.0, "home": 1.0}
    assert got["trip"][1].endswith("while travelling (sign-ins up to 557 km/h apart, a plausible trip)")
    assert "travelling" not in got["impossible"][1]


def test_off_hours_bulk_read_weighs_rows_for_a_daytime_identity_past_its_warmup(spark):
    """Most of a night's rows read in the identity's off-hours, at least `from_rows` of them, by an
    identity whose baseline is office hours and who is past its warm-up: full severity (half on a
    plausible trip). A night-shift or batch identity, a small read, a read that is a minority of the
    night's rows, or a first night do not count."""
    p = load()
    assert p.params["off_hours_bulk_read"]["from_rows"] == 1_000_000 and p.params["off_hours_bulk_read"]["from_share"] == 0.5
    got = severities(spark, "off_hours_bulk_read", [
        ("download", 5_400_000, 5_410_000, 0.05, 6, None, 0),
        ("trip", 5_400_000, 5_410_000, 0.05, 6, 557.0, 0),
        ("batch", 1_100_000, 1_100_000, 0.9, 6, None, 0),
        ("small", 900_000, 900_000, 0.05, 6, None, 0),
        ("minority", 1_500_000, 4_000_000, 0.05, 6, None, 0),
        ("first_night", 5_400_000, 5_400_000, None, 0, None, 0),
    ], "who string, off_hours_read_rows long, read_rows long, off_hours_share_baseline double, baseline_days int, "
       "max_travel_kmh double, impossible_travel_pairs int")
    assert {k: v[0] for k, v in got.items()} == {"download": 1.0, "trip": 0.5, "batch": 0.0, "small": 0.0, "minority": 0.0,
                                                 "first_night": 0.0}
    assert got["download"][1] == "read 5,400,000 rows off-hours (100% of tonight's 5,410,000; own baseline 5% of activity off-hours)"
    assert got["trip"][1].endswith("while travelling (sign-ins up to 557 km/h apart, a plausible trip)")


def test_dormancy_names_the_identity_providers_last_sign_in(spark):
    """Idle days counted from the identity provider's last sign-in say so, with the date; idle days
    the lake saw itself do not need it; activity is required."""
    got = severities(spark, "dormant_account", [
        ("okta", 153, dt.date(2026, 6, 1), "identity_provider", 4),
        ("lake", 45, dt.date(2026, 9, 17), "lake", 4),
        ("recent", 3, dt.date(2026, 10, 29), "identity_provider", 4),
        ("idle_tonight", 153, dt.date(2026, 6, 1), "identity_provider", 0),
    ], "who string, days_since_last_activity int, idle_since_date date, idle_since_source string, events_total long")
    assert {k: v[0] for k, v in got.items()} == {"okta": 1.0, "lake": 1.0, "recent": 0.0, "idle_tonight": 0.0}
    assert got["okta"][1] == "active after 153 idle days (last sign-in before tonight, per the identity provider: 2026-06-01)"
    assert got["lake"][1] == "active after 45 idle days"


def test_new_device_severity_in_the_nightly_ranking_needs_every_new_device_healthy(spark):
    got = severities(spark, "new_device", [
        ("enrolled", 1, ["lt-new"], ["lt-old", "lt-new"], 5),
        ("one_bad", 2, ["lt-new", "byod"], ["lt-new"], 5),
        ("no_posture", 1, ["lt-new"], None, 5),
        ("young", 1, ["lt-new"], ["lt-new"], 1),
    ], "who string, new_devices int, new_device_uids array<string>, healthy_device_uids array<string>, baseline_days int")
    assert {k: v[0] for k, v in got.items()} == {"enrolled": 0.5, "one_bad": 1.0, "no_posture": 1.0, "young": 0.0}
    assert got["enrolled"][1] == "new device(s): lt-new (managed, with a healthy EDR sensor)"
    assert got["one_bad"][1] == "new device(s): lt-new, byod"


def test_sensitivity_share_is_a_checked_parameter_of_every_factor(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(CURRENT.read_text().replace("sensitivity_share: 0}", "sensitivity_share: 2}"))
    with pytest.raises(PolicyError, match=r"factors\.behaviour_anomaly\.sensitivity_share: must be a number"):
        load(path)


def test_an_iam_burst_nobody_refused_counts_at_the_allowed_severity(spark):
    """40 IAM calls against a baseline of 2: with refusals (probing) in full; all allowed (a security
    engineer's review) at allowed_severity 0.5, saying so; under the ratio or the count, not at all."""
    assert load().params["iam_burst"]["allowed_severity"] == 0.5
    got = severities(spark, "iam_burst", [
        ("probing", 60, 20, 2.0), ("review", 40, 0, 2.2), ("routine", 40, 0, 30.0), ("few", 12, 0, 0.0), ("denials_only", 12, 4, 0.0),
    ], "who string, iam_actions long, iam_actions_denied long, iam_actions_baseline double")
    assert {k: v[0] for k, v in got.items()} == {"probing": 1.0, "review": 0.5, "routine": 0.0, "few": 0.0, "denials_only": 0.0}
    assert got["review"][1] == "40 IAM calls vs own baseline 2.2, none denied" and got["probing"][1] == "60 IAM calls vs own baseline 2.0"

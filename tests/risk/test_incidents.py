"""Incidents: one case per identity, not one per alert; later nights update it; a quiet case closes."""

from __future__ import annotations

import datetime as dt

from jobs.risk import incidents as I
from jobs.risk.policy import FACTORS, load
from jobs.silver.build import conform

N1 = dt.date(2026, 11, 3)
POLICY = load()  # incidents.min_score 45, incidents.window_days 3
RISK = ("date date, grain string, request_uid string, user_uid string, email string, device_uid string, score double, decision string, "
        "factors array<struct<name:string,observed:double,severity:double,weight:double,contribution:double,detail:string>>, "
        "evidence array<struct<table:string,_event_id:string>>, policy_version string")


def risk_rows(spark, night, rows):
    return spark.createDataFrame([(night, *r, "2026.11.1+abc") for r in rows], RISK)


def f(name, c, detail):
    return (name, 1.0, 1.0, float(c), float(c), detail)


def night(spark, d, rows, previous):
    cases = I.tonight_cases(d, risk_rows(spark, d, rows), POLICY.incident_min_score)
    return conform(I.roll(d, cases, previous, POLICY.incident_window_days), I.INCIDENTS_DDL).cache()


def test_five_alerts_are_one_case_updated_later_and_closed_when_quiet(spark):
    alerts = [
        ("identity_day", None, "u1", "a@example.com", None, 90.0, "deny",
         [f("known_bad_ip", 50, "source IP in indicator--bad"), f("impossible_travel", 40, "1 sign-in pair(s) at up to 7000 km/h")], []),
        ("request", "datastore_activity:exp-1", "u1", "a@example.com", "dev-x", 100.0, "deny",
         [f("large_export", 60, "exported 2,400,000,000 bytes, 2400x own baseline"), f("unmanaged_device", 40, "no MDM")],
         [("datastore_activity", "exp-1")]),
        *[("request", f"authentication:s-{k}", "u1", "a@example.com", "dev-x", 60.0, "managed_device_required",
           [f("unmanaged_device", 55, "no MDM")], [("authentication", f"s-{k}")]) for k in range(3)],
        ("identity_day", None, "u2", "b@example.com", None, 10.0, "allow", [f("new_device", 10, "new device")], []),  # below threshold
    ]
    empty = spark.createDataFrame([], I.INCIDENTS_DDL)
    first = night(spark, N1, alerts, empty)
    rows = first.collect()
    assert len(rows) == 1, "five alerts of one identity are one case; a low score opens none"
    case = rows[0]
    assert case["alert_count"] == 5 and case["severity"] == "critical" and case["status"] == "open"
    assert [x["name"] for x in case["factors"]] == ["large_export", "unmanaged_device", "known_bad_ip", "impossible_travel"]
    ids = {(e["table"], e["_event_id"]) for e in case["evidence"]}
    assert {("datastore_activity", "exp-1"), ("authentication", "s-0"), ("devices", f"dev-x@{N1}")} <= ids
    assert "datastore_activity:exp-1" in case["summary"] and "source IP in indicator--bad" in case["summary"]
    assert "block the source IP and revoke the identity's active sessions" in case["next_steps"]

    second = night(spark, N1 + dt.timedelta(days=1), alerts[:1], first).collect()
    assert len(second) == 1 and second[0]["incident_id"] == case["incident_id"], "a later night updates, never reopens"
    assert second[0]["alert_count"] == 6 and second[0]["nights"] == [N1, N1 + dt.timedelta(days=1)]
    assert second[0]["first_seen"] == N1 and second[0]["last_seen"] == N1 + dt.timedelta(days=1)

    later = N1 + dt.timedelta(days=1 + POLICY.incident_window_days + 1)
    third = {r["status"]: r for r in night(spark, later, alerts[:1], spark.createDataFrame(second, I.INCIDENTS_DDL)).collect()}
    assert third["closed"]["incident_id"] == case["incident_id"]
    assert third["open"]["incident_id"] != case["incident_id"] and third["open"]["first_seen"] == later


def test_every_factor_and_sequence_has_a_recommended_next_step():
    assert set(FACTORS) - set(I.NEXT_STEPS) == set()
    assert {f"sequence:{q.name}" for q in POLICY.sequences} - set(I.NEXT_STEPS) == set()

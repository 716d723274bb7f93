"""Sequence detection: ordered steps of one identity within the window of the first step."""

from __future__ import annotations

import datetime as dt

from jobs.risk import score as S
from jobs.risk.policy import CURRENT, parse

T0 = dt.datetime(2026, 11, 3, 9, 0)
STEPS = "user_uid string, step string, time timestamp, table string, _event_id string"


def hits(spark, rows):
    policy = parse(CURRENT.read_text(), CURRENT)
    out = S.sequence_hits(spark.createDataFrame(rows, STEPS), policy).collect()
    return {(r["user_uid"], h["name"]): h for r in out for h in r["_sequences"]}


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def test_travel_then_privileged_role_within_four_hours(spark):
    found = hits(spark, [
        ("u1", "impossible_travel", at(50), "authentication", "okta-2"),
        ("u1", "privileged_role_assumption", at(56), "api_activity", "ct-1"),
        ("u2", "privileged_role_assumption", at(0), "api_activity", "ct-2"),  # before the travel: not a chain
        ("u2", "impossible_travel", at(50), "authentication", "okta-3"),
        ("u3", "impossible_travel", at(0), "authentication", "okta-4"),
        ("u3", "privileged_role_assumption", at(5 * 60), "api_activity", "ct-3"),  # outside 4 hours
    ])
    assert set(found) == {("u1", "impossible_travel_then_privileged_role")}
    h = found["u1", "impossible_travel_then_privileged_role"]
    assert [e["_event_id"] for e in h["events"]] == ["okta-2", "ct-1"] and h["weight"] == 30.0
    assert h["detail"] == ("impossible travel then privileged role assumption within 4h: authentication:okta-2 -> "
                           "api_activity:ct-1")


def test_three_step_chain_needs_every_step_in_order(spark):
    found = hits(spark, [
        ("u1", "oauth_consent_or_mfa_enrollment", at(0), "entitlement_change", "consent-1"),
        ("u1", "token_use", at(30), "api_activity", "ct-10"),
        ("u1", "privilege_escalation", at(40), "api_activity", "ct-11"),
        ("u2", "oauth_consent_or_mfa_enrollment", at(0), "account_change", "mfa-1"),
        ("u2", "token_use", at(30), "api_activity", "ct-20"),  # no escalation: the benign enrolment
    ])
    assert set(found) == {("u1", "consent_or_mfa_enrollment_then_token_then_escalation")}
    assert [e["_event_id"] for e in found["u1", "consent_or_mfa_enrollment_then_token_then_escalation"]["events"]] == [
        "consent-1", "ct-10", "ct-11"]


def test_a_chain_across_midnight_is_found_once_on_the_night_it_completes(spark):
    policy = parse(CURRENT.read_text(), CURRENT)
    ddl = "date date, user_uid string, step string, time timestamp, table string, _event_id string, device_uid string"
    late = dt.datetime(2026, 11, 2, 23, 30)
    yesterday = spark.createDataFrame([
        (late.date(), "u1", "impossible_travel", late, "authentication", "okta-late", None),
        (late.date(), "u2", "impossible_travel", late - dt.timedelta(hours=6), "authentication", "okta-early", None),  # > 4 h before
        (late.date(), "u5", "oauth_consent_or_mfa_enrollment", late - dt.timedelta(hours=30), "account_change", "old", None),
        (late.date(), "u3", "impossible_travel", late, "authentication", "okta-x", None),
        (late.date(), "u3", "privileged_role_assumption", late + dt.timedelta(minutes=5), "api_activity", "ct-done", None),
    ], ddl)
    tonight = spark.createDataFrame([
        ("u1", "privileged_role_assumption", late + dt.timedelta(minutes=40), "api_activity", "ct-after-midnight", None),
        ("u2", "privileged_role_assumption", late + dt.timedelta(minutes=40), "api_activity", "ct-2", None),
        ("u4", "impossible_travel", late + dt.timedelta(hours=1), "authentication", "okta-4", None),
    ], STEPS + ", device_uid string")
    carried = S.carried_steps(yesterday, tonight, policy)
    # Yesterday's steps within the longest window (24 h) before tonight's first step are carried.
    assert {r["_event_id"] for r in carried.where("not tonight").collect()} == {"okta-late", "okta-early", "okta-x", "ct-done"}
    out = {r["user_uid"]: r["_sequences"] for r in S.sequence_hits(carried, policy).collect()}
    # u1's chain starts yesterday and ends tonight; u2's spans more than 4 hours; u3's completed
    # yesterday and is not counted again.
    assert set(out) == {"u1"}
    assert [e["_event_id"] for e in out["u1"][0]["events"]] == ["okta-late", "ct-after-midnight"]


def test_device_then_export_chain_needs_the_same_device(spark):
    policy = parse(CURRENT.read_text(), CURRENT)
    ddl = STEPS + ", device_uid string"
    rows = [
        ("u1", "new_or_unmanaged_device_signin", at(0), "authentication", "a1", "laptop-new"),
        ("u1", "sensitive_export", at(20), "datastore_activity", "x1", "laptop-new"),
        ("u2", "new_or_unmanaged_device_signin", at(0), "authentication", "a2", "byod-phone"),
        ("u2", "sensitive_export", at(20), "datastore_activity", "x2", "managed-laptop"),  # another device: no chain
        ("u3", "new_or_unmanaged_device_signin", at(0), "authentication", "a3", None),
        ("u3", "sensitive_export", at(20), "datastore_activity", "x3", None),  # unknown devices are not "the same"
    ]
    out = {r["user_uid"] for r in S.sequence_hits(spark.createDataFrame(rows, ddl), policy).collect()}
    assert out == {"u1"}
    assert next(q for q in policy.sequences if q.name == "new_or_unmanaged_device_then_sensitive_export").same_device


def test_phished_consent_then_sso_role_session_then_escalation_is_a_chain(spark):
    """The demo's phish_token_privesc: an OAuth consent, then the SSO role session the phished
    login yields (the token), then AttachRolePolicy. The escalation call is not also its own token
    use, so the role assumption must count as token use. A new phone's MFA enrolment followed by a
    sign-in, with no escalation, is not a chain."""
    policy = parse(CURRENT.read_text(), CURRENT)
    auth = spark.createDataFrame([("u1", at(20), "okta-1", "dev-1", 1, "Success", None, None),
                                  ("u2", at(5), "okta-2", "dev-2", 1, "Success", None, None)],
                                 "user_uid string, time timestamp, _event_id string, device_uid string, activity_id int, status string, "
                                 "src_lat double, src_lon double")
    api = spark.createDataFrame([
        ("u1", at(25), "ct-assume", None, "AssumeRoleWithSAML", "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_DeveloperAccess_1/u1", None),
        ("u1", at(31), "ct-attach", None, "AttachRolePolicy", None, None),
        ("u3", at(31), "ct-attach-3", None, "AttachRolePolicy", None, None),  # an escalation alone, no consent before it
    ], "user_uid string, time timestamp, _event_id string, device_uid string, api_operation string, assumed_role_arn string, error_code string")
    store = spark.createDataFrame([], "user_uid string, time timestamp, _event_id string, device_uid string, activity_name string")
    changes = spark.createDataFrame([("u1", at(0), "aud-consent", "Consent to application", "entitlement_change"),
                                     ("u2", at(0), "okta-mfa", "user.mfa.factor.activate", "account_change")],
                                    "user_uid string, time timestamp, _event_id string, vendor_event_type string, _table string")
    feats = spark.createDataFrame([], "user_uid string, new_device_uids array<string>")
    devs = spark.createDataFrame([("dev-1", True), ("dev-2", True)], "device_uid string, managed boolean") \
        .selectExpr("*", "'iOS' as os", "true as edr_healthy", "false as ghost", "false as new_device")
    steps = S.sequence_steps(auth, api, store, changes, feats, devs, ("AdministratorAccess",), 900.0, 500.0)
    out = {(r["user_uid"], h["name"]): h for r in S.sequence_hits(steps, policy).collect() for h in r["_sequences"]}
    assert set(out) == {("u1", "consent_or_mfa_enrollment_then_token_then_escalation")}
    assert [e["_event_id"] for e in out["u1", "consent_or_mfa_enrollment_then_token_then_escalation"]["events"]] == [
        "aud-consent", "ct-assume", "ct-attach"]


def test_a_new_managed_healthy_device_makes_a_weaker_device_then_export_chain(spark):
    """A new company laptop (managed, EDR healthy) then an export is still a chain, at the
    sequence's healthy_device_severity (0.5), and says why; a new personal laptop counts in full."""
    policy = parse(CURRENT.read_text(), CURRENT)
    seq = next(q for q in policy.sequences if q.name == "new_or_unmanaged_device_then_sensitive_export")
    assert seq.healthy_device_severity == 0.5
    auth = spark.createDataFrame([("u1", at(0), "a1", "new-managed", 1, "Success", None, None),
                                  ("u2", at(0), "a2", "new-byod", 1, "Success", None, None)],
                                 "user_uid string, time timestamp, _event_id string, device_uid string, activity_id int, status string, "
                                 "src_lat double, src_lon double")
    api = spark.createDataFrame([], "user_uid string, time timestamp, _event_id string, device_uid string, api_operation string, "
                                    "assumed_role_arn string, error_code string")
    store = spark.createDataFrame([("u1", at(30), "x1", "new-managed", "Export"), ("u2", at(30), "x2", "new-byod", "Export")],
                                  "user_uid string, time timestamp, _event_id string, device_uid string, activity_name string")
    changes = spark.createDataFrame([], "user_uid string, time timestamp, _event_id string, vendor_event_type string, _table string")
    feats = spark.createDataFrame([("u1", ["new-managed"]), ("u2", ["new-byod"])], "user_uid string, new_device_uids array<string>")
    devs = spark.createDataFrame([("new-managed", "Windows", True, True, False, True), ("new-byod", "Windows", False, False, False, True)],
                                 "device_uid string, os string, managed boolean, edr_healthy boolean, ghost boolean, new_device boolean")
    steps = S.sequence_steps(auth, api, store, changes, feats, devs, ("AdministratorAccess",), 900.0, 500.0)
    out = {r["user_uid"]: r["_sequences"][0] for r in S.sequence_hits(steps, policy).collect()}
    assert (out["u1"]["severity"], out["u2"]["severity"]) == (0.5, 1.0)
    assert out["u1"]["detail"].endswith("(the device is new but managed with a healthy EDR sensor: severity 0.50)")
    assert "healthy" not in out["u2"]["detail"]

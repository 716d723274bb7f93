"""Risk scores on the tiny hand-built org: the seed's worked example end to end (silver events ->
features -> decision), factors that add up to the score, and the canary of a one-weight change."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from pyspark.sql import functions as F

from jobs.risk import build as RB
from jobs.risk import score as S
from jobs.risk.policy import CURRENT, load, parse
from jobs.silver.build import Night
from jobs.silver.config import load as load_silver
from tests.gold import tiny_org as O
from ztlake import delta_io
from ztlake.tables import (
    BEHAVIOUR_SCORES,
    DEVICE_FEATURES_DAILY,
    IDENTITY_FEATURES_DAILY,
    PEER_OUTLIERS,
    POLICY_CANARY,
)


@pytest.fixture(scope="module")
def risk(spark, tiny_lake, tmp_path_factory):
    lake = str(tmp_path_factory.mktemp("risk") / "lake")
    shutil.copytree(tiny_lake.root, lake)  # its own copy: the policy log and risk tables are written here
    # Model signals depend on which other tests trained models in the shared lake; these tests are
    # about the policy, so the night has none ("not scored").
    for t in (BEHAVIOUR_SCORES, PEER_OUTLIERS):
        shutil.rmtree(t.path(lake), ignore_errors=True)
    n = Night(spark, lake, O.N3, load_silver())
    df, inforce = RB.build_risk(n)
    return n, df.cache(), inforce


def test_worked_example_new_unmanaged_device_large_export_is_denied_with_its_reasons(risk):
    _, df, inforce = risk
    row = df.where((F.col("grain") == "request") & (F.col("request_uid") == f"datastore_activity:{O.WORKED_EXAMPLE_EXPORT}")).first()
    assert row is not None, "the export must be scored as a sensitive request"
    assert row["email"] == "erin@example.com" and row["action"] == "export" and row["device_uid"] == "dev-y"
    assert row["decision"] == "deny" and row["decision_detail"] == "deny export; re-authenticate on a managed device"
    names = [f["name"] for f in row["factors"]]
    assert names == ["sequence:new_or_unmanaged_device_then_sensitive_export", "unmanaged_device", "large_export", "edr_unhealthy",
                     "new_device"], names
    assert row["factors"][2]["detail"].startswith("exported 2,40") and "the floor (20,000,000)" in row["factors"][2]["detail"]
    chain = row["factors"][0]["detail"]
    assert chain.startswith("new or unmanaged device signin then sensitive export within 12h: authentication:auth-erin")
    assert chain.endswith(f"-> datastore_activity:{O.WORKED_EXAMPLE_EXPORT}")
    assert row["policy_version"] == inforce.policy.version and row["enforced"] is True
    assert row["evidence"][0]["_event_id"] == O.WORKED_EXAMPLE_EXPORT and row["evidence"][0]["table"] == "datastore_activity"


def test_contributions_add_up_to_the_score_everywhere(risk):
    _, df, _ = risk
    for r in df.collect():
        assert 0 <= r["score"] <= 100
        assert sum(f["contribution"] for f in r["factors"]) == pytest.approx(r["score"], abs=1e-3), r["request_uid"] or r["user_uid"]
        assert all(0 < f["contribution"] <= f["weight"] * f["severity"] * 1.5 + 1e-9 for f in r["factors"])  # 1.5: critical
        assert r["model_versions"] == {"behaviour": "not scored", "peer_groups": "not scored"}


def test_a_request_that_names_no_device_is_unknown_not_unmanaged(risk):
    """A role session signed with keys names no device: its posture is unknown (a weaker factor of
    its own), not "unmanaged and without EDR", which a device named but absent from MDM is."""
    n, _, inforce = risk
    p = inforce.policy
    feats, devs = n.silver(IDENTITY_FEATURES_DAILY), n.silver(DEVICE_FEATURES_DAILY)
    signals = S.identity_signals(feats, devs, None, None, None)
    carol = feats.where(F.col("email") == "carol@example.com").first()["user_uid"]
    at = dt.datetime.combine(O.N3, dt.time(10))
    reqs = n.spark.createDataFrame([
        (carol, at, None, "res-aws-prod", "ct-keys", "role_assumption", "api_activity", "critical", "api_activity:ct-keys"),
        (carol, at, "dev-not-in-mdm", "res-aws-prod", "ct-dev", "role_assumption", "api_activity", "critical", "api_activity:ct-dev"),
    ], "user_uid string, time timestamp, device_uid string, resource_uid string, _event_id string, action string, table string, "
       "sensitivity string, request_uid string")
    out = {r["request_uid"]: r for r in S.requests(n.night, reqs, signals, devs, p).collect()}
    keys, named = out["api_activity:ct-keys"], out["api_activity:ct-dev"]
    assert [f["name"] for f in keys["factors"]] == ["unknown_device"]
    assert keys["factors"][0]["contribution"] == pytest.approx(p.weights["unknown_device"] * 1.5)  # critical
    assert keys["decision"] == "allow" and keys["factors"][0]["detail"].startswith("request names no device")
    assert {f["name"] for f in named["factors"]} == {"unmanaged_device", "edr_unhealthy"}
    assert named["score"] > keys["score"] and p.weights["unknown_device"] < p.weights["unmanaged_device"]


def test_identity_day_grain_covers_every_identity_with_readable_factors(risk):
    _, df, _ = risk
    days = {r["email"]: r for r in df.where(F.col("grain") == "identity_day").collect()}
    assert set(days) == set(O.PEOPLE)
    alice = days["alice@example.com"]
    names = {f["name"] for f in alice["factors"]}
    assert {"impossible_travel", "known_bad_ip", "large_export", "new_device", "unmanaged_device"} <= names
    assert alice["decision"] == "deny"
    assert days["dave@example.com"]["factors"][0]["name"] == "activity_after_termination"
    assert days["carol@example.com"]["decision"] == "allow" and days["carol@example.com"]["factors"] == []


def test_canary_of_one_changed_weight_reports_exactly_the_affected_decisions(risk, tmp_path):
    n, df, inforce = risk
    path = tmp_path / "next.yaml"
    path.write_text(CURRENT.read_text().replace("rare_resource: {weight: 10}", "rare_resource: {weight: 25}"))
    candidate = load(path)
    written, summary = RB.canary(n, candidate, inforce.policy)
    # Independently: exactly the rows that carry the rare_resource factor change score
    # (a row already at the cap of 100 stays at 100).
    carrying = {(r["request_uid"] or f"identity_day:{r['user_uid']}") for r in df.collect()
                if "rare_resource" in {f["name"] for f in r["factors"]} and r["score"] < 100}
    rows = written.collect()
    assert {r["key"] for r in rows} == carrying and carrying
    assert all(r["score_delta"] > 0 for r in rows)
    assert summary["changed_decisions"] == sum(1 for r in rows if r["change"] != "score only")
    assert set(summary["users_affected"]) <= {"bob@example.com"}
    assert any(r["grain"] == "identity_day" and r["email"] == "bob@example.com" for r in rows)
    stored = delta_io.read(n.spark, POLICY_CANARY.path(n.lake)).where(F.col("candidate_policy_version") == candidate.version)
    assert stored.count() == len(rows)


def test_monitor_only_policy_records_decisions_as_not_enforced(risk, tmp_path):
    n, _, _ = risk
    monitor = parse(CURRENT.read_text().replace("mode: enforce", "mode: monitor"), CURRENT)
    df = RB.score_night(n, monitor)
    assert df.where(F.col("enforced")).count() == 0 and df.count() > 0
    pilot = parse(CURRENT.read_text().replace("pilot: {departments: [], emails: []}", "pilot: {departments: [IT], emails: []}"), CURRENT)
    enforced = {r["email"] for r in RB.score_night(n, pilot).where(F.col("enforced")).collect()}
    assert enforced == {"carol@example.com"}


def test_policy_backtest_recall_precision_and_false_denies(risk, tmp_path, monkeypatch):
    import json

    from jobs.risk.build import RISK_MODEL, backtest_night
    from models import tracking as TR
    from models.backtest import label_days
    from ztlake.tables import BACKTEST

    n, df, _ = risk
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(x) for x in (
        {"scenario": "unmanaged_device_export", "kind": "attack", "identity": "erin@example.com", "start": f"{O.N3}T14:00:00Z"},
        {"scenario": "real_travel", "kind": "benign_lookalike", "identity": "alice@example.com", "start": f"{O.N3}T09:00:00Z"},
        {"scenario": "leave", "kind": "benign_lookalike", "identity": "carol@example.com", "start": f"{O.N3}T09:00:00Z"},
    )))
    r = backtest_night(n, df, label_days(labels), (0.2, 0.5), "run-1", "t")
    assert r.positives == 1 and r.identity_days == len(O.PEOPLE)
    assert r.metrics["recall_at_50pct"] == 1.0  # the worked example is in the riskier half
    assert r.false_deny_rate == 0.5  # alice (denied tonight) counted as a denied look-alike, carol not
    rows = delta_io.read(n.spark, BACKTEST.path(n.lake)).where(F.col("model") == RISK_MODEL).collect()
    assert len(rows) == 4 and {x["false_deny_rate"] for x in rows} == {0.5}
    assert sorted((x["role"], x["budget"]) for x in rows) == [("policy", 0.2), ("policy", 0.5), ("policy_new_cases", 0.2),
                                                              ("policy_new_cases", 0.5)]
    c = TR.client(n.lake)
    runs = c.search_runs([c.get_experiment_by_name(RISK_MODEL).experiment_id])
    assert runs and runs[0].data.metrics["false_deny_rate"] == 0.5
    assert runs[0].data.metrics["lookalike_above_step_up_rate"] == 0.5  # alice again; carol is allowed
    assert "new_cases_recall_at_50pct" in runs[0].data.metrics


def test_new_case_reading_gives_an_open_incident_no_slot_of_the_budget(risk, tmp_path, monkeypatch):
    """The night's riskiest identity already has an open incident (from last night): it updates its
    case, and the budget's one slot goes to the next identity, the labelled attack."""
    import json

    from pyspark.sql.types import StructType

    from jobs.risk import incidents as I
    from jobs.risk.build import backtest_night, open_case_emails
    from jobs.silver.build import conform
    from models.backtest import label_days
    from ztlake.tables import BACKTEST, INCIDENTS

    n, df, inforce = risk
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # The backtest's order: score, then email for a tie (alice and erin both score 100 tonight).
    days = sorted((-r["score"], r["email"]) for r in df.where(F.col("grain") == "identity_day").collect())
    (_, top), (second_score, second) = days[0], days[1]
    assert -second_score >= inforce.policy.incident_min_score
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(x) for x in (
        {"scenario": "a", "kind": "attack", "identity": second, "start": f"{O.N3}T10:00:00Z"},
        {"scenario": "b", "kind": "attack", "identity": top, "start": f"{O.N3}T10:00:00Z"})))
    budget = (1 / len(O.PEOPLE),)  # one alert
    strict = backtest_night(n, df, label_days(labels), budget, "run-2", "t")
    assert strict.caught[budget[0]] == ["b"] and strict.missed[budget[0]] == ["a"]
    yesterday = O.NIGHTS[1]
    assert not delta_io.exists(n.spark, INCIDENTS.path(n.lake))
    case = n.spark.createDataFrame([(yesterday, "inc-1", "u", top, "open", "high", 80.0, yesterday, yesterday)],
                                   "date date, incident_id string, user_uid string, email string, status string, severity string, "
                                   "max_score double, first_seen date, last_seen date")
    delta_io.replace_where(n.spark, conform(case.select("*", *[F.lit(None).cast(f.dataType).alias(f.name) for f in
                                                               StructType.fromDDL(I.INCIDENTS_DDL).fields if f.name not in case.columns]),
                                            I.INCIDENTS_DDL), INCIDENTS.path(n.lake), f"date = {delta_io.lit_date(yesterday)}", ["date"])
    try:
        assert open_case_emails(n, inforce.policy.incident_window_days) == {top}
        new = backtest_night(n, df, label_days(labels), budget, "run-3", "t")
        assert new.metrics == strict.metrics  # the strict reading is unchanged by the open case
        rows = {x["role"]: x for x in delta_io.read(n.spark, BACKTEST.path(n.lake)).where(F.col("run_id") == "run-3").collect()}
        assert rows["policy"]["caught"] == ["b"] and rows["policy"]["recall"] == 0.5
        # The open case is updated (it scores above the incident threshold), and the one new alert is the other attack.
        assert rows["policy_new_cases"]["caught"] == ["a", "b"] and rows["policy_new_cases"]["recall"] == 1.0
        assert rows["policy_new_cases"]["precision"] == 1.0 and rows["policy_new_cases"]["alerts"] == 1
    finally:
        shutil.rmtree(INCIDENTS.path(n.lake))  # the module's other tests have no incidents


def test_a_lookalike_is_judged_by_the_rows_of_its_own_episode(risk, tmp_path, monkeypatch):
    """Bob's night in the tiny org: identity-day read_only, a BI read held to managed_device_required,
    and a payroll read denied. Labelled a benign look-alike whose episode is the BI read, he is not a
    false deny: the denied request is not one of the episode's events, and it is reported beside it.
    Labelled by the payroll read, or with no event ids (the whole day is the episode), he is."""
    import json

    from jobs.risk.build import backtest_night, lookalike_rows
    from jobs.risk.policy import DECISIONS
    from models.backtest import label_days, lookalike_decisions
    from ztlake.tables import BACKTEST

    n, df, _ = risk
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    bi, payroll = "ds-bob@example.com-2026-11-03-q", "ds-bob-2026-11-03-payroll"

    def judge(run: str, event_ids: list[str] | None):
        labels = tmp_path / f"{run}.jsonl"
        labels.write_text(json.dumps({"scenario": "bi_review", "kind": "benign_lookalike", "identity": "Bob@example.com",
                                      "start": f"{O.N3}T09:00:00Z", **({"event_ids": event_ids} if event_ids is not None else {})}))
        lab = label_days(labels)
        r = backtest_night(n, df, lab, (0.5,), run, "t")
        row = delta_io.read(n.spark, BACKTEST.path(n.lake)).where(F.col("run_id") == run).first()
        assert row["false_deny_rate"] == r.false_deny_rate
        assert r.above_step_up_rate == 1.0  # managed_device_required at the least, in every reading
        return r.false_deny_rate, lookalike_decisions(lab, lookalike_rows(df, {"bob@example.com"}), DECISIONS).iloc[0]

    rate, j = judge("bob-bi", [bi])
    assert rate == 0.0
    assert (j["episode_decision"], j["day_decision"], j["episode_rows"]) == ("managed_device_required", "deny", 2)
    assert j["other"] == ["deny access res-payroll"]
    rate, j = judge("bob-payroll", [payroll])
    assert rate == 1.0 and j["episode_decision"] == "deny" and j["other"] == []
    rate, j = judge("bob-day", None)
    assert rate == 1.0 and j["episode_decision"] == "deny" and j["episode_rows"] == 3


def requests_from(spark, n, p, signals, user_uid: str, devices: list[tuple]) -> dict[str, dict[str, dict]]:
    """Score one access to the critical AWS-prod resource from each Windows device
    (device_uid, managed, edr_healthy, ghost, new_device): device_uid -> factor name -> factor."""
    devs = spark.createDataFrame([(d, "Windows", *rest) for d, *rest in devices],
                                 "device_uid string, os string, managed boolean, edr_healthy boolean, ghost boolean, new_device boolean")
    at = dt.datetime.combine(O.N3, dt.time(10))
    reqs = spark.createDataFrame([(user_uid, at, d[0], "res-aws-prod", f"ct-{d[0]}", "access", "api_activity", "critical",
                                   f"api_activity:ct-{d[0]}") for d in devices],
                                 "user_uid string, time timestamp, device_uid string, resource_uid string, _event_id string, action string, "
                                 "table string, sensitivity string, request_uid string")
    return {r["device_uid"]: {f["name"]: f for f in r["factors"]} for r in S.requests(n.night, reqs, signals, devs, p).collect()}


def test_a_chronic_posture_problem_counts_on_each_request_at_the_request_severity(risk, spark):
    """A request from a device the identity has used before, whose EDR sensor is stale, still counts
    (enforced on every request) but at known_device_request_severity (0.7); from a new device, or a
    ghost one seen before, in full."""
    n, _, inforce = risk
    p = inforce.policy
    assert p.params["edr_unhealthy"]["known_device_request_severity"] == 0.7
    feats = n.silver(IDENTITY_FEATURES_DAILY)
    signals = S.identity_signals(feats, n.silver(DEVICE_FEATURES_DAILY), None, None, None).withColumn("baseline_days", F.lit(5))
    carol = feats.where(F.col("email") == "carol@example.com").first()["user_uid"]
    out = requests_from(spark, n, p, signals, carol, [("old-laptop", True, False, False, False), ("new-laptop", True, False, False, True),
                                                      ("ghost-host", False, False, True, False)])
    old, new = out["old-laptop"]["edr_unhealthy"], out["new-laptop"]["edr_unhealthy"]
    assert (old["severity"], new["severity"]) == (0.7, 1.0)
    assert old["contribution"] == pytest.approx(p.weights["edr_unhealthy"] * 0.7 * 1.5)
    assert old["detail"].endswith("old-laptop (used routinely)") and new["detail"].endswith("new-laptop")
    assert out["ghost-host"]["unmanaged_device"]["severity"] == 1.0  # no inventory knows it: never routine


def test_a_request_carries_a_chain_it_completes_and_a_rarity_of_its_own_resource(risk, spark):
    """A sequence is decided at the event that completes it: the export carries the chain, the
    sign-in before it does not. A rare resource weighs on requests to that resource only."""
    n, _, inforce = risk
    p = inforce.policy
    feats = n.silver(IDENTITY_FEATURES_DAILY)
    carol = feats.where(F.col("email") == "carol@example.com").first()["user_uid"]
    chain = spark.createDataFrame(
        [(carol, [("new_or_unmanaged_device_then_sensitive_export", 30.0, 1.0, "chain",
                   [("authentication", "a1"), ("datastore_activity", "x1")])])], f"user_uid string, _sequences {S.SEQ_DDL}")
    signals = (S.identity_signals(feats, n.silver(DEVICE_FEATURES_DAILY), None, None, chain)
               .withColumn("baseline_days", F.lit(5)).withColumn("rare_resources", F.lit(1))
               .withColumn("rare_resource_uids", F.array(F.lit("res-fs"))))
    at = dt.datetime.combine(O.N3, dt.time(10))
    reqs = spark.createDataFrame([
        (carol, at, "res-okta", "a1", "access", "authentication", "critical", "authentication:a1"),
        (carol, at, "res-bi", "x1", "export", "datastore_activity", "high", "datastore_activity:x1"),
        (carol, at, "res-fs", "f1", "access", "datastore_activity", "high", "datastore_activity:f1"),
    ], "user_uid string, time timestamp, resource_uid string, _event_id string, action string, table string, sensitivity string, "
       "request_uid string").withColumn("device_uid", F.lit(None).cast("string"))
    out = {r["request_uid"]: {f["name"]: f for f in r["factors"]} for r in S.requests(n.night, reqs, signals, n.silver(DEVICE_FEATURES_DAILY), p).collect()}
    seq = "sequence:new_or_unmanaged_device_then_sensitive_export"
    assert seq in out["datastore_activity:x1"] and seq not in out["authentication:a1"]
    assert "rare_resource" in out["datastore_activity:f1"] and out["datastore_activity:f1"]["rare_resource"]["detail"].endswith("res-fs")
    assert "rare_resource" not in out["authentication:a1"] and "rare_resource" not in out["datastore_activity:x1"]


def test_a_new_healthy_laptop_weighs_half_and_the_models_percentile_ignores_the_resources_sensitivity(risk, spark):
    """On a critical resource, a request from a new device that is managed with a healthy EDR sensor
    carries new_device at healthy_severity (0.5), a new device without EDR in full; the behaviour
    percentile (sensitivity_share 0) contributes its bare weight, where a device factor takes the 1.5."""
    n, _, inforce = risk
    p = inforce.policy
    assert p.params["new_device"]["healthy_severity"] == 0.5 and p.params["behaviour_anomaly"]["sensitivity_share"] == 0
    feats = n.silver(IDENTITY_FEATURES_DAILY)
    carol = feats.where(F.col("email") == "carol@example.com").first()["user_uid"]
    behaviour = spark.createDataFrame([(carol, 100.0, "m1")], "user_uid string, percentile double, model_version string")
    signals = S.identity_signals(feats, n.silver(DEVICE_FEATURES_DAILY), None, behaviour, None).withColumn("baseline_days", F.lit(5))
    out = requests_from(spark, n, p, signals, carol, [("enrolled-laptop", True, True, False, True), ("no-edr-laptop", True, False, False, True)])
    healthy, bare = out["enrolled-laptop"]["new_device"], out["no-edr-laptop"]["new_device"]
    assert (healthy["severity"], bare["severity"]) == (0.5, 1.0)
    assert healthy["contribution"] == pytest.approx(p.weights["new_device"] * 0.5 * 1.5)
    assert healthy["detail"] == "request from new device enrolled-laptop (managed, with a healthy EDR sensor)"
    assert bare["detail"] == "request from new device no-edr-laptop"
    for d in out.values():
        assert d["behaviour_anomaly"]["contribution"] == pytest.approx(p.weights["behaviour_anomaly"])  # not x 1.5


def test_evidence_of_compromise_outranks_a_new_devices_posture_in_the_nightly_ranking(risk, spark):
    """The alert budget reads the identity-day ranking. A sign-in from an active threat indicator, or
    an account taken over and escalated (consent or MFA enrolment, then its token, then a privilege
    escalation), ranks above a new personal device with no MDM record and no EDR sensor: the posture
    gap is what the ladder handles (a managed device is required), the compromise is what an analyst
    opens tonight. The escalated takeover weighs as much as activity after termination. So does
    privileged access few peers hold, used tonight: it outranks the posture gap even with the
    behaviour model's full unease on top."""
    n, _, inforce = risk
    p = inforce.policy
    feats = n.silver(IDENTITY_FEATURES_DAILY)
    base = feats.where(F.col("email") == "dave@example.com")
    who = ["byod", "byod_uneasy", "bad_ip", "takeover", "leaver", "insider", "insider_rare"]
    rows = base.crossJoin(spark.createDataFrame([(w,) for w in who], "who string")).withColumn("user_uid", F.col("who"))
    w = F.col("who")
    rows = (rows.withColumn("baseline_days", F.lit(5))
            .withColumn("new_devices", F.when(w.startswith("byod"), 1).otherwise(0))
            .withColumn("new_device_uids", F.when(w.startswith("byod"), F.array(F.lit("byod-1"))).otherwise(F.array().cast("array<string>")))
            .withColumn("unmanaged_devices_used", F.when(w.startswith("byod"), 1).otherwise(0))
            .withColumn("rare_resources", F.when(w == "insider_rare", 1).otherwise(0))
            .withColumn("threat_intel_hits", F.when(w == "bad_ip", F.lit(1)).otherwise(0).cast("long"))
            .withColumn("threat_intel_indicators", F.when(w == "bad_ip", F.array(F.lit("indicator--tor"))).otherwise(F.array().cast("array<string>")))
            .withColumn("active_after_termination", w == "leaver").withColumn("days_after_termination", F.when(w == "leaver", 2)))
    # dave's own night is quiet: no device posture, no model signal, so only the factors set above count
    posture = spark.createDataFrame([("byod-1", "Windows", False, False, False, True, ["byod", "byod_uneasy"])],
                                    "device_uid string, os string, managed boolean, edr_healthy boolean, ghost boolean, "
                                    "new_device boolean, users array<string>").withColumn("hostname", F.lit("BYOD-1"))
    chain = "consent_or_mfa_enrollment_then_token_then_escalation"
    seqs = spark.createDataFrame([("takeover", [(chain, float(next(q.weight for q in p.sequences if q.name == chain)), 1.0, "chain",
                                                 [("account_change", "c1")])])], f"user_uid string, _sequences {S.SEQ_DDL}")
    # the insiders used tonight a privileged entitlement 5% of their peers hold (a full peer-outlier
    # score); the uneasy BYOD night is at the behaviour model's 100th percentile
    ent = [("group:aws-prod-admin", True, 0.05, 1, 3.0, 6.0, n.night)]
    peers = spark.createDataFrame([(n.night, u, 6.0 if u.startswith("insider") else 0.0, "peers-v1", ent if u.startswith("insider") else [])
                                   for u in who], f"date date, user_uid string, outlier_score double, model_version string, "
                                                  f"outlier_entitlements {S.OUTLIER_ENTS}")
    behaviour = spark.createDataFrame([(u, 100.0 if u == "byod_uneasy" else 50.0, "behaviour-v1") for u in who],
                                      "user_uid string, percentile double, model_version string")
    signals = S.identity_signals(rows.drop("who"), posture, peers, behaviour, seqs)
    got = {r["user_uid"]: r for r in S.identity_day(n.night, signals, p).collect()}
    score = {k: got[k]["score"] for k in who}
    names = {k: {f["name"] for f in got[k]["factors"]} for k in who}
    assert names["byod"] == {"new_device", "unmanaged_device", "edr_unhealthy"} and score["byod"] == 50.0
    assert names["bad_ip"] == {"known_bad_ip"} and names["leaver"] == {"activity_after_termination"}
    assert score["bad_ip"] > score["byod"] and score["takeover"] >= score["leaver"] > score["bad_ip"]
    assert got["byod"]["decision"] == "read_only" and got["bad_ip"]["decision"] == "managed_device_required"
    # Privileged access few peers hold, used: misuse evidence, above a posture gap even with the
    # behaviour model's full unease on top (50 + 15), and at least as high as a known-bad source.
    assert score["byod_uneasy"] == 65.0 and names["byod_uneasy"] == names["byod"] | {"behaviour_anomaly"}
    assert names["insider"] == {"outlier_entitlement_used", "peer_outlier_entitlement"}
    assert score["insider"] >= score["bad_ip"] > score["byod"]
    assert names["insider_rare"] == names["insider"] | {"rare_resource"} and score["insider_rare"] > score["byod_uneasy"]

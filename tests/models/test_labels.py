"""Labels are dated by the landing night their events are in, which is what the nightly job scores."""

import datetime as dt
import json

from models.backtest import label_days


def test_an_evening_west_of_utc_is_labelled_on_its_landing_night_not_its_utc_date(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in (
        {"scenario": "unmanaged_device_export", "kind": "attack", "identity": "Kai@Example.com", "start": "2026-11-05T01:30:00Z",
         "end": "2026-11-05T01:43:00Z", "event_ids": [], "night": "2026-11-04"},
        {"scenario": "mfa_fatigue", "kind": "attack", "identity": "old@example.com", "start": "2026-11-05T01:30:00Z",
         "end": "2026-11-05T01:43:00Z", "event_ids": []},  # an older label file without `night`
    )) + "\n")
    got = {r.email: r.date for r in label_days(path).itertuples()}
    assert got == {"kai@example.com": dt.date(2026, 11, 4), "old@example.com": dt.date(2026, 11, 5)}


def test_labels_keep_the_event_ids_of_their_episode(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in (
        {"scenario": "iam_enumeration", "kind": "benign_lookalike", "identity": "r@example.com", "start": "2026-11-09T11:00:00Z",
         "event_ids": ["ct-1", "ct-2"], "night": "2026-11-09"},
        {"scenario": "mfa_fatigue", "kind": "attack", "identity": "a@example.com", "start": "2026-11-09T11:00:00Z"},
    )))
    assert {r.email: r.event_ids for r in label_days(path).itertuples()} == {"r@example.com": ("ct-1", "ct-2"), "a@example.com": ()}


def test_an_alert_on_an_incidental_leaver_is_right_but_no_scenario_caught():
    """A leaver still working while deprovisioning lags is labelled `incidental`: an alert on it counts
    towards precision, recall is over the planted attacks only, and PR-AUC leaves it out."""
    import pandas as pd

    from models.backtest import evaluate

    night = dt.date(2026, 11, 6)
    scored = pd.DataFrame({"date": [night] * 100, "email": [f"u{i}@example.com" for i in range(100)],
                           "score": [95.0, 80.0, 60.0] + [10.0 - i * 0.05 for i in range(97)]})
    labels = pd.DataFrame([("u0@example.com", night, "leaver_still_active", "incidental"),
                           ("u1@example.com", night, "mfa_fatigue", "attack"),
                           ("u2@example.com", night, "iam_enumeration", "attack"),
                           ("u3@example.com", night, "iam_enumeration", "benign_lookalike")],
                          columns=["email", "date", "scenario", "kind"])
    r = evaluate(scored, labels, (0.02,))
    assert r.positives == 2
    assert r.metrics["recall_at_2pct"] == 0.5 and r.caught[0.02] == ["mfa_fatigue"]  # 2 slots: the leaver, then mfa
    assert r.metrics["precision_at_2pct"] == 1.0  # both alerts are right
    assert r.metrics["pr_auc"] == 1.0  # without the leaver, the two attacks rank first
    assert r.lookalikes_alerted[0.02] == []
    as_noise = evaluate(scored, labels.assign(kind=labels["kind"].replace("incidental", "benign_lookalike")), (0.02,))
    assert as_noise.metrics["precision_at_2pct"] == 0.5 and as_noise.metrics["pr_auc"] < 1.0


def test_a_lookalike_is_judged_by_its_own_rows_and_the_stricter_ones_are_named():
    """The seed-29 case in miniature: an IAM review (role assumptions at step_up) by someone whose
    sign-in from an unmanaged laptop that afternoon is held to read_only; and a look-alike with no
    risk row at all that night, which nothing was decided on."""
    import pandas as pd

    from jobs.risk.policy import DECISIONS
    from models.backtest import lookalike_decisions

    night = dt.date(2026, 11, 9)
    labels = pd.DataFrame([("r@example.com", night, "iam_enumeration", "benign_lookalike", ("ct-1", "ct-2")),
                           ("q@example.com", night, "mfa_fatigue", "benign_lookalike", ("ok-9",)),
                           ("a@example.com", night, "iam_enumeration", "attack", ("ct-7",))],
                          columns=["email", "date", "scenario", "kind", "event_ids"])
    rows = pd.DataFrame([(night, "R@example.com", "identity_day", "step_up", None, None, []),
                         (night, "r@example.com", "request", "step_up", "role_assumption", "res-aws-prod", ["ct-1"]),
                         (night, "r@example.com", "request", "read_only", "access", "res-okta", ["ok-3"]),
                         (night, "r@example.com", "request", "allow", "access", "res-o365", ["ok-4"])],
                        columns=["date", "email", "grain", "decision", "action", "resource_uid", "event_ids"])
    got = lookalike_decisions(labels, rows, DECISIONS).set_index("email")
    assert list(got.index) == ["r@example.com", "q@example.com"]  # look-alikes only
    r = got.loc["r@example.com"]
    assert (r["episode_decision"], r["day_decision"], r["episode_rows"], r["other"]) == ("step_up", "read_only", 2, ["read_only access res-okta"])
    q = got.loc["q@example.com"]
    assert q["episode_decision"] is None and q["day_decision"] is None and q["episode_rows"] == 0

"""Access-review priorities, blast radius, outcome metrics and the CSV export on the hand-built org
(tests/insights/org.py), worked out by hand from policies/current.yaml."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs.insights import build as IB
from jobs.insights import pseudonym as PS
from jobs.landing.load import land_source
from jobs.risk.policy import CURRENT, parse
from jobs.silver.build import Night
from jobs.silver.config import load as load_silver
from jobs.sources import SOURCES
from tests.insights import org as O
from ztlake import delta_io
from ztlake.tables import QUARANTINE, bronze

KEY = "test-pseudonym-key-0123456789"


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("insights")
    lake = str(root / "lake")
    O.write(spark, lake)
    out = {}
    for night in (O.N1, O.N2):
        n = Night(spark, lake, night, load_silver())
        out[night] = (IB.build_access_review(n).collect(), IB.build_blast_radius(n).collect())
    n2 = Night(spark, lake, O.N2, load_silver())
    without_cases = {r["metric"]: r for r in IB.build_outcomes(n2).collect()}
    (root / "landing" / "soc_cases" / O.N2.isoformat()).mkdir(parents=True)
    (root / "landing" / "soc_cases" / O.N2.isoformat() / "cases.jsonl").write_text("\n".join(O.soc_case_lines()) + "\n")
    landed = land_source(spark, SOURCES["soc_cases"], str(root / "landing"), lake, O.N2, "t")
    with_cases = {r["metric"]: r for r in IB.build_outcomes(Night(spark, lake, O.N2, load_silver())).collect()}
    return {"root": root, "lake": lake, "nights": out, "without_cases": without_cases, "with_cases": with_cases, "landed": landed}


def rows(lake, night):
    return {(r["email"], r["entitlement"]): r for r in lake["nights"][night][0]}


def test_leaver_and_peer_outlier_rank_first_with_recommendations_in_words(lake):
    r = rows(lake, O.N2)
    ann, ben = r[O.ANN, "group:finance-all"], r[O.BEN, "group:aws-dev-admin"]
    assert (ann["rank"], ben["rank"]) == (1, 2)
    assert ann["recommendation"] == "revoke"
    assert ann["reasons"][0] == "revoke: the identity has left: disable the account, which removes all 2 of its grants (they share this rank)"
    assert r[O.ANN, "group:fileshare"]["rank"] == 1  # a leaver's grants are one decision, not two slots of the top 10
    assert ann["identity_state"] == ["leaver"] and ann["factors"][0]["name"] == "leaver"
    # ben: peer_rare 25 + privileged 15 + standing 10 + never used for 1 of 30 days (25/30), medium sensitivity x1.0.
    assert ben["score"] == pytest.approx(25 + 15 + 10 + 25 / 30, abs=1e-3)
    assert ben["recommendation"] == "convert_to_jit" and "held by 0% of 3 peers" in ben["reasons"]
    for x in r.values():  # contributions add up to the score
        assert sum(f["contribution"] for f in x["factors"]) == pytest.approx(x["score"], abs=1e-3)
    grants = [x for x in r.values() if x["granted_by"] is None]
    # rank counts decisions: each grant, and a leaver's account once
    assert sorted(x["rank"] for x in grants if x["email"] != O.ANN) == list(range(2, len(grants)))


def test_what_a_grant_brings_shares_its_rank_and_does_not_take_top_slots(lake):
    r = rows(lake, O.N2)
    pset, role = r[O.BEN, "aws_permission_set:AdministratorAccess@res-aws-dev"], r[O.BEN, "aws_role:prod-deployer"]
    assert pset["granted_by"] == role["granted_by"] == "group:aws-dev-admin"  # the role: two hops, via the permission set
    assert pset["rank"] == role["rank"] == 2
    assert r[O.BEN, "group:aws-dev-admin"]["brings"] == ["aws_permission_set:AdministratorAccess@res-aws-dev", "aws_role:prod-deployer"]
    assert pset["reasons"][0].startswith("comes with group:aws-dev-admin: act on that grant")
    assert r[O.DAN, "aws_role:dev-breakglass"]["granted_by"] == "group:dev-admin-jit"
    for x in r.values():
        if x["granted_by"] is not None:
            assert x["rank"] == r[x["email"], x["granted_by"]]["rank"] and x["brings"] is None
    # Ranks after ben's grant are not pushed down by what it brings.
    assert min(x["rank"] for x in r.values() if x["email"] != O.ANN and x["email"] != O.BEN) == 3


def test_mover_is_detected_from_the_previous_night_and_keeps_are_low(lake):
    assert rows(lake, O.N1)[O.CAT, "group:finance-all"]["identity_state"] == []
    cat = rows(lake, O.N2)[O.CAT, "group:finance-all"]
    assert cat["moved_from"] == "Finance" and cat["moved_on"] == O.N2 and cat["identity_state"] == ["mover"]
    assert "granted before the move from Finance to IT on 2026-11-02" in cat["reasons"]
    # mover 20 + unused 1 of 30 days (20/30), high sensitivity x1.25.
    assert cat["score"] == pytest.approx((20 + 20 / 30) * 1.25, abs=1e-3) and cat["recommendation"] == "review"
    dan = rows(lake, O.N2)
    assert dan[O.DAN, "group:fileshare"]["recommendation"] == "keep"
    assert [f["name"] for f in dan[O.DAN, "group:fileshare"]["factors"]] == ["network_only"]
    jit = dan[O.DAN, "group:dev-admin-jit"]
    assert "standing_privileged" not in {f["name"] for f in jit["factors"]} and jit["recommendation"] != "convert_to_jit"


def test_review_weights_come_from_the_policy(spark, lake):
    text = CURRENT.read_text().replace("peer_rare: {weight: 25,", "peer_rare: {weight: 5,")
    p = parse(text, CURRENT)
    assert p.access_review is not None and p.access_review.weights["peer_rare"] == 5
    bad = parse.__globals__["PolicyError"]
    with pytest.raises(bad, match=r"access_review.recommend: keep_below must be below revoke_from"):
        parse(CURRENT.read_text().replace("keep_below: 20", "keep_below: 90"), CURRENT)
    with pytest.raises(bad, match=r"current.yaml:\d+: access_review.factors.leaver.weight: must be a number"):
        parse(CURRENT.read_text().replace("leaver: {weight: 60}", "leaver: {weight: lots}"), CURRENT)


def test_blast_radius_per_identity_device_and_organization(lake):
    b = lake["nights"][O.N2][1]
    ident = {r["email"]: r for r in b if r["grain"] == "identity"}
    dan = ident[O.DAN]
    assert (dan["reachable_resources"], dan["reachable_sensitive"], dan["behind_controls"], dan["network_only"]) == (3, 2, 2, 1)
    assert (dan["standing_admin_roles"], dan["jit_admin_roles"]) == (0, 1)
    assert (ident[O.BEN]["reachable_resources"], ident[O.BEN]["standing_admin_roles"]) == (2, 1)
    assert ident[O.ANN]["reachable_resources"] == 2  # a leaver who still holds access has a blast radius
    dev = next(r for r in b if r["grain"] == "device")
    assert dev["resource_uids"] == ["res-aws-dev", "res-finance", "res-fs"] and dev["reachable_resources"] == 3
    org = next(r for r in b if r["grain"] == "organization")
    assert org["apps_behind_controls_share"] == pytest.approx(0.75) and org["standing_admin_roles"] == 1
    assert org["mean_reachable"] == pytest.approx((2 + 2 + 1 + 3) / 4) and org["reachable_change"] == 0


def test_outcome_metrics_say_not_measured_without_soc_cases_never_zero(lake):
    m = lake["without_cases"]
    for name in ("mtta_hours", "mttc_hours", "false_positive_rate_step_up_deny"):
        assert m[name]["status"] == "not measured: no soc_cases" and m[name]["value"] is None
    assert m["long_lived_credentials"]["value"] == 0 and m["long_lived_credentials_eliminated"]["value"] == 1
    assert m["deprovision_days_median"]["value"] == 1
    assert m["privileged_phishing_resistant_mfa_share"]["value"] == pytest.approx(0.5)
    assert m["alert_to_incident_ratio"]["value"] == 1.0
    assert m["step_up_prompts_per_user_week"]["value"] == pytest.approx(1 / 3 * 7 / 2)
    assert m["time_to_regain_compliant_access_days"]["value"] == 1
    assert m["standing_admin_roles"]["value"] == 1 and m["apps_behind_controls_share"]["value"] == pytest.approx(0.75)
    assert {r["definition_version"] for r in m.values()} == {"metrics-2026.11.1"} and len(m) == 15


def test_soc_cases_land_as_ocsf_incident_findings_and_give_mtta_mttc_and_false_positives(spark, lake):
    s = lake["landed"]
    assert (s.records_read, s.landed, s.quarantined) == (7, 6, 1)
    q = delta_io.read(spark, QUARANTINE.path(lake["lake"])).where(F.col("source") == "soc_cases").collect()
    assert [r.reason for r in q] == ["OCSF class_uid 2004 is not Incident Finding (2005)"]
    assert delta_io.read(spark, bronze("soc_cases").path(lake["lake"])).count() == 6
    m = lake["with_cases"]
    assert m["mtta_hours"]["value"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["mttc_hours"]["value"] == pytest.approx((4 + 2) / 2)
    assert m["false_positive_rate_step_up_deny"]["value"] == pytest.approx(0.5)
    assert "1 of 2 step-up or deny" in m["false_positive_rate_step_up_deny"]["detail"]


def test_export_pseudonymizes_with_a_keyed_stable_pseudonym_per_owner(spark, lake, monkeypatch, tmp_path):
    monkeypatch.setenv("ZTLAKE_PSEUDONYM_KEY", KEY)
    written = IB.export_access_reviews(spark, lake["lake"], O.N2, tmp_path / "reviews.csv", pseudonymize=True, per_owner=True)
    names = sorted(p.name for p, _ in written)
    assert names == ["reviews.finance-owner_example.com.csv", "reviews.it-owner_example.com.csv",
                     "reviews.platform-owner_example.com.csv"]
    text = "".join(p.read_text() for p, _ in written)
    assert KEY not in text
    body = [row for p, _ in written for row in csv.DictReader(p.open())]
    assert sum(n for _, n in written) == len(body) == len(rows(lake, O.N2))
    assert not any(r["email"].endswith("@example.com") for r in body)
    ann = PS.pseudonym(O.ANN, KEY.encode())
    assert any(r["email"] == ann and r["rank"] == "1" for r in body)  # Spark's HMAC equals Python's
    again = IB.export_access_reviews(spark, lake["lake"], O.N2, tmp_path / "all.csv", pseudonymize=True)
    assert ann in again[0][0].read_text()  # stable across exports
    monkeypatch.setenv("ZTLAKE_PSEUDONYM_KEY", KEY + "-other")
    other = IB.export_access_reviews(spark, lake["lake"], O.N2, tmp_path / "other.csv", pseudonymize=True)
    assert ann not in other[0][0].read_text()  # a different key, unlinkable
    clear = IB.export_access_reviews(spark, lake["lake"], O.N2, tmp_path / "clear.csv")
    assert O.ANN in clear[0][0].read_text()
    ranked = [(r["rank"], r["entitlement"], r["granted_by"]) for r in csv.DictReader(clear[0][0].open()) if r["email"] == O.BEN]
    assert ranked[:3] == [("2", "group:aws-dev-admin", ""), ("2", "aws_permission_set:AdministratorAccess@res-aws-dev", "group:aws-dev-admin"),
                          ("2", "aws_role:prod-deployer", "group:aws-dev-admin")]  # each grant, then what it brings
    ranks = [int(r["rank"]) for r in csv.DictReader(clear[0][0].open())]
    assert ranks == sorted(ranks)  # numerically: rank 10 follows 9, not 1
    with pytest.raises(ValueError, match="no access-review priorities for 2026-11-09"):
        IB.export_access_reviews(spark, lake["lake"], dt.date(2026, 11, 9), tmp_path / "x.csv")


def test_export_orders_ranks_as_numbers_with_each_grant_before_what_it_brings(spark, lake, tmp_path):
    """Twelve decisions: rank 10 follows 9 (not 1), and within a rank the grant comes before the
    rows it brings, whatever their names."""
    from jobs.insights.access_review import REVIEW_DDL
    from ztlake.tables import ACCESS_REVIEW_PRIORITIES

    night = dt.date(2026, 11, 3)
    rows = [(k, f"u{k}@example.com", f"group:g{k}", None) for k in range(12, 0, -1)]
    rows.append((2, "u2@example.com", "aws_permission_set:A@res", "group:g2"))  # sorts before "group:g2" by name
    O.put(spark, lake["lake"], ACCESS_REVIEW_PRIORITIES, night, rows,
          "rank int, email string, entitlement string, granted_by string", REVIEW_DDL)
    out = IB.export_access_reviews(spark, lake["lake"], night, tmp_path / "n3.csv")
    got = [(r["rank"], r["entitlement"]) for r in csv.DictReader(out[0][0].open())]
    assert [int(r) for r, _ in got] == [1, 2, 2, *range(3, 13)]
    assert got[1:3] == [("2", "group:g2"), ("2", "aws_permission_set:A@res")]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if os.environ.get("CI"):
        pytest.fail("headless Chromium is required in CI (make setup installs Debian's chromium)")
    pytest.skip("no Chromium on this machine (make setup installs it)")


def headless(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp / 'chromium-profile'}"]
    return subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, timeout=120, check=True)


def test_report_renders_in_chromium_with_charts_and_no_injected_script_runs(spark, lake, monkeypatch, tmp_path):
    from jobs.insights.report import write_report

    monkeypatch.setenv("ZTLAKE_PSEUDONYM_KEY", KEY)
    path = Path(write_report(Night(spark, lake["lake"], O.N2, load_silver())))
    assert path == Path(lake["lake"]) / "reports" / "2026-11-02" / "index.html"
    page = path.read_text()
    assert "@example.com" not in page and PS.pseudonym(O.ANN, KEY.encode()) in page  # pseudonymized by default
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower()  # self-contained, no script
    url = path.as_uri()
    dom = headless("--virtual-time-budget=3000", "--dump-dom", url, tmp=tmp_path).stdout
    # The planted string is shown as text, and nothing it carries ran.
    assert not re.search(r"<body[^>]*data-pwned", dom)
    assert "<title>ztlake report 2026-11-02</title>" in dom and "PWNED</title>" not in dom
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    assert "<img src=\"x\"" not in dom and "<img src=x" not in dom
    for section in ("gate", "outcomes", "incidents", "blast", "reviews", "quality"):
        assert f"id=\"{section}\"" in dom, section
    charts = dom.count("<svg class=\"chart\"")
    measured = sum(1 for m in lake["with_cases"].values() if m["status"] == "measured")
    assert charts == measured and dom.count("<polyline") == measured
    assert "not measured: no soc_cases" not in dom  # the cases landed before the report
    shot = tmp_path / "report.png"
    headless("--window-size=1280,2400", f"--screenshot={shot}", url, tmp=tmp_path)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1280, 2400) and len(png) > 20_000


def test_an_account_the_identity_provider_last_saw_months_ago_is_dormant_on_a_young_lake(spark, lake):
    """The lake is two nights old, so its own history cannot show 30 idle days; the identity
    provider's last sign-in (silver `prior_login_date`) can, and the review says how long."""
    from jobs.insights import access_review as AR
    from jobs.insights.build import policy_in_force, tonight
    from jobs.silver.entitlements import ENTITLEMENTS_DDL
    from jobs.silver.identities import IDENTITIES_SCHEMA
    from jobs.silver.resources import RESOURCES_DDL
    from models.peer_groups import PEER_GROUPS_DDL
    from ztlake.tables import PEER_GROUPS, silver

    n = Night(spark, lake["lake"], O.N2, load_silver())
    ids = tonight(n, silver("identities"), IDENTITIES_SCHEMA).withColumn(
        "prior_login_date", F.when(F.col("email") == O.DAN, F.lit(dt.date(2026, 8, 1))))
    empty_base = spark.createDataFrame([], "user_uid string, last_activity_date date")
    out = AR.review(n.night, tonight(n, silver("entitlements"), ENTITLEMENTS_DDL), ids, tonight(n, silver("resources"), RESOURCES_DDL),
                    tonight(n, PEER_GROUPS, PEER_GROUPS_DDL), empty_base,
                    AR.identity_state(n.night, ids, spark.createDataFrame([], AR.REVIEW_DDL).select(
                        "user_uid", "department", "moved_from", "moved_on")), policy_in_force(n).policy)
    dormant = {r["email"]: [f["detail"] for f in r["factors"] if f["name"] == "dormant"] for r in out.collect()}
    assert dormant[O.DAN] and dormant[O.DAN][0] == f"identity idle for {(O.N2 - dt.date(2026, 8, 1)).days} days"
    assert dormant[O.BEN] == []  # nothing known before the lake: idle since first seen, one day

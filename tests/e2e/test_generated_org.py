"""The demo enterprise lands whole: every source, only the deliberate mess quarantined, every label
found. Bronze of the shared end-to-end enterprise (tests/e2e/conftest.py), after the night's rerun."""

import datetime as dt
import json

from pyspark.sql import functions as F

from jobs.sources import SOURCES
from tests.e2e.conftest import NIGHT
from ztlake import delta_io
from ztlake.generator import generate
from ztlake.generator.scenarios import SCENARIO_NAMES
from ztlake.tables import INGEST_AUDIT, QUARANTINE, bronze


def test_every_source_lands(spark, enterprise):
    empty = [s for s in SOURCES if delta_io.read(spark, bronze(s).path(enterprise.lake)).count() == 0]
    assert empty == []


def test_only_the_deliberately_malformed_lines_are_quarantined(spark, enterprise):
    q = delta_io.read(spark, QUARANTINE.path(enterprise.lake)).collect()
    assert len(q) == enterprise.malformed == 2  # one per night in Okta and in Zeek DNS, however often the night ran
    assert {r.source for r in q} == {"okta", "zeek_dns"}
    assert {r.reason for r in q} == {"record is not valid JSON (malformed or truncated)"}
    audit = delta_io.read(spark, INGEST_AUDIT.path(enterprise.lake)).collect()
    assert audit and all(r.reconciled for r in audit)
    assert sum(r.records_read for r in audit) == sum(r.landed + r.duplicates + r.quarantined for r in audit)


def test_every_labelled_event_id_is_in_bronze(spark, enterprise):
    labels = enterprise.labels
    assert {(lb["scenario"], lb["kind"]) for lb in labels} == {(s, k) for s in SCENARIO_NAMES for k in ("attack", "benign_lookalike")}
    assert all(set(lb) == {"scenario", "kind", "identity", "device", "start", "end", "event_ids", "night"} for lb in labels)
    assert {lb["night"] for lb in labels} == {NIGHT.isoformat()}
    wanted = {e for lb in labels for e in lb["event_ids"]}
    landed = None
    for s in SOURCES:
        ids = delta_io.read(spark, bronze(s).path(enterprise.lake)).select("_event_id").where(F.col("_event_id").isin(list(wanted)))
        landed = ids if landed is None else landed.unionByName(ids)
    assert landed is not None
    found = {r._event_id for r in landed.distinct().collect()}
    assert wanted - found == set()


def test_identifiers_link_across_sources(spark, enterprise):
    lake = enterprise.lake
    users = {r.userName for r in delta_io.read(spark, bronze("scim_users").path(lake)).collect()}
    okta = {r.actor.alternateId.lower() for r in delta_io.read(spark, bronze("okta").path(lake)).collect()}
    assert okta <= {u.lower() for u in users}  # email = Okta login = SCIM userName (some typed with capitals)
    sessions = delta_io.read(spark, bronze("cloudtrail").path(lake)).where(F.col("userIdentity.type") == "AssumedRole")
    names = {r.userIdentity.arn.rsplit("/", 1)[-1] for r in sessions.collect()}
    assert {n for n in names if "@" in n} <= users  # AWS SSO role-session name = email
    intune = {r.deviceName for r in delta_io.read(spark, bronze("intune_devices").path(lake)).collect()}
    edr = {r.hostname for r in delta_io.read(spark, bronze("edr_hosts").path(lake)).collect()}
    assert edr and edr <= intune  # EDR hosts are managed devices with the same hostnames


def test_episodes_land_on_their_scenario_night_and_the_key_lookalike_the_night_before(tmp_path):
    """Generator only (no Spark): in a multi-night enterprise every episode lands on its scenario's
    night, except the service key's usual use, which lands the night before: on the attack's night
    it would be the same identity-day as the stolen key's use, and could not be judged apart."""
    start = dt.date(2026, 11, 2)
    generate(tmp_path / "landing", identities=40, days=2, start=start, seed=5, labels=tmp_path / "labels.jsonl")
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    last, before = (start + dt.timedelta(days=1)).isoformat(), start.isoformat()
    assert {(lb["scenario"], lb["kind"]): lb["night"] for lb in labels if lb["night"] != last} == {
        ("long_lived_key_new_location", "benign_lookalike"): before}
    key = {lb["kind"]: lb for lb in labels if lb["scenario"] == "long_lived_key_new_location"}
    assert key["attack"]["identity"] == key["benign_lookalike"]["identity"] == "svc-reporting@example.com"


def test_okta_users_export_knows_the_dormant_account_was_idle_for_months(tmp_path):
    """Generator only: the nightly Okta Users export carries `lastLogin`. Until its episode, the
    dormant account's last sign-in is months before the lake's first night; the look-alike back
    from a few days off signed in days before; after the episode both show that night's sign-in."""
    start = dt.date(2026, 11, 1)
    generate(tmp_path / "landing", identities=40, days=5, start=start, seed=5, labels=tmp_path / "labels.jsonl")
    labels = {(lb["scenario"], lb["kind"]): lb for line in (tmp_path / "labels.jsonl").read_text().splitlines()
              for lb in [json.loads(line)]}
    attack, lookalike = labels[("dormant_account_active", "attack")], labels[("dormant_account_active", "benign_lookalike")]
    night = dt.date.fromisoformat(attack["night"])

    def last_login(day: dt.date, email: str) -> dt.date | None:
        text = (tmp_path / "landing" / "okta_users" / day.isoformat() / "okta_users.jsonl").read_text()
        user = next(u for u in map(json.loads, text.splitlines()) if u["profile"]["login"] == email)
        assert user["status"] == "ACTIVE" and user["id"].startswith("00u")
        return None if user["lastLogin"] is None else dt.date.fromisoformat(user["lastLogin"][:10])

    eve = night - dt.timedelta(days=1)
    assert (start - last_login(eve, attack["identity"])).days >= 60
    assert 1 <= (eve - last_login(eve, lookalike["identity"])).days <= 7
    assert last_login(night, attack["identity"]) == last_login(night, lookalike["identity"]) == night


def test_the_demo_spreads_its_attacks_so_a_one_percent_budget_can_hold_each_night(tmp_path):
    """Generator only: issue 6 judges the twelve scenarios at an alert budget of 1% of a night's
    identity-days, which is 2 alerts a night for the demo's 200 identities. `ztlake demo` therefore
    defaults to the nights that spread the attacks two a night (3 nights of baseline + 6), and a
    shorter enterprise says plainly that its nights are overfull."""
    from ztlake.cli import build_parser
    from ztlake.generator.scenarios import alerts_per_night, nights_to_fit_budget

    assert build_parser().parse_args(["demo"]).days is None  # computed from --identities by cmd_demo
    assert (alerts_per_night(200), nights_to_fit_budget(200)) == (2, 9)
    assert (alerts_per_night(1000), nights_to_fit_budget(1000)) == (10, 5)
    start = dt.date(2026, 11, 1)
    fits = generate(tmp_path / "fits", identities=200, days=nights_to_fit_budget(200), start=start, seed=7)
    assert fits.attacks_per_night == {(start + dt.timedelta(days=d)).isoformat(): 2 for d in range(3, 9)}
    assert fits.crowded_nights() == {} and "note:" not in str(fits)
    short = generate(tmp_path / "short", identities=200, days=5, start=start, seed=7)
    assert short.crowded_nights() == {"2026-11-04": 6, "2026-11-05": 6}
    assert "holds 2 alert(s) a night, but the attacks fall 6 on 2026-11-04, 6 on 2026-11-05" in str(short)
    assert "--days 9 spreads them to fit" in str(short)


def test_a_leaver_working_on_while_deprovisioning_lags_is_labelled_incidental_and_nothing_else_changes(tmp_path):
    """Generator only: every night a terminated but not yet deprovisioned person signs in is labelled
    `incidental` (leaver_still_active, nobody planted it), with that night's event ids; the landing
    files are the same bytes as without the labelling (the 200 x 9 demo lake was generated before it)."""
    import hashlib

    from ztlake.generator.scenarios import INCIDENTAL, plan_scenarios

    start, days, n = dt.date(2026, 11, 1), 9, 200
    summary = generate(tmp_path / "landing", identities=n, days=days, start=start, seed=7, labels=tmp_path / "labels.jsonl")
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    incidental = {(lb["identity"], lb["night"]): lb for lb in labels if lb["kind"] == INCIDENTAL}
    assert summary.incidental == len(incidental) == 5 and summary.labels == 24
    assert {lb["scenario"] for lb in incidental.values()} == {"leaver_still_active"}
    planted = {(lb["identity"], lb["night"]) for lb in labels if lb["kind"] != INCIDENTAL}
    plan = plan_scenarios(7, n, days)
    lagging = {}
    for i in range(n):
        p = plan.person(i)
        for d in range(days):
            if p.idp_active_on(d) and not p.active_on(d):
                lagging[p.email] = lagging.get(p.email, set()) | {(start + dt.timedelta(days=d)).isoformat()}
    signed_in = set()
    for night in {nt for nights in lagging.values() for nt in nights}:
        for line in (tmp_path / "landing" / "okta" / night / "okta_system_log.jsonl").read_text().splitlines():
            if line.endswith("}") and (ev := json.loads(line))["eventType"] == "user.session.start":
                who = ev["actor"]["alternateId"].lower()
                if night in lagging.get(who, set()) and (who, night) not in planted:
                    signed_in.add((who, night))
                    assert ev["uuid"] in incidental[(who, night)]["event_ids"]
    assert set(incidental) == signed_in
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in sorted((tmp_path / "landing").rglob("*")) if f.is_file()))
    # The bytes of seed 7's 200 x 9 landing as generated before incidental labels existed (commit
    # 32c016c). Update it only with a deliberate change to what the generator writes.
    assert digest.hexdigest()[:16] == "c1acdda522c2f16f"


def test_density_adds_background_traffic_and_leaves_every_other_record_as_it_was(tmp_path):
    day = dt.date(2026, 11, 3)  # a Tuesday: most people work
    plain = generate(tmp_path / "plain", identities=40, days=1, start=day, seed=3)
    dense = generate(tmp_path / "dense", identities=40, days=1, start=day, seed=3, density=100)
    assert sum(dense.records.values()) >= 40 * 0.8 * 100 > sum(plain.records.values())
    grown = {s for s in plain.records if dense.records[s] != plain.records[s]}
    assert grown == {"zeek_dns", "zeek_conn"}
    for source in ("okta", "cloudtrail", "entra_signin", "scim_users"):
        for f in (tmp_path / "plain" / source / day.isoformat()).iterdir():
            assert f.read_bytes() == (tmp_path / "dense" / source / day.isoformat() / f.name).read_bytes(), f

"""The demo enterprise lands whole: every source, only the deliberate mess quarantined, every label found."""

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F

from jobs.landing.load import land_source
from jobs.sources import SOURCES
from ztlake import delta_io
from ztlake.generator import generate
from ztlake.generator.scenarios import SCENARIO_NAMES
from ztlake.tables import INGEST_AUDIT, QUARANTINE, bronze

START = dt.date(2026, 11, 2)
DAYS = 2


@pytest.fixture(scope="module")
def org(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("org")
    summary = generate(root / "landing", identities=60, days=DAYS, start=START, seed=5, labels=root / "labels.jsonl")
    lake = str(root / "lake")
    for d in range(DAYS):
        for spec in SOURCES.values():
            land_source(spark, spec, str(root / "landing"), lake, START + dt.timedelta(days=d), "t")
    return root, lake, summary


def test_every_source_lands(spark, org):
    _, lake, _ = org
    empty = [s for s in SOURCES if delta_io.read(spark, bronze(s).path(lake)).count() == 0]
    assert empty == []


def test_only_the_deliberately_malformed_lines_are_quarantined(spark, org):
    _, lake, summary = org
    q = delta_io.read(spark, QUARANTINE.path(lake)).collect()
    assert len(q) == summary.malformed == 2 * DAYS
    assert {r.source for r in q} == {"okta", "zeek_dns"}
    assert {r.reason for r in q} == {"record is not valid JSON (malformed or truncated)"}
    assert all(r.reconciled for r in delta_io.read(spark, INGEST_AUDIT.path(lake)).collect())


def test_every_labelled_event_id_is_in_bronze(spark, org):
    root, lake, _ = org
    labels = [json.loads(line) for line in (root / "labels.jsonl").read_text().splitlines()]
    assert {(lb["scenario"], lb["kind"]) for lb in labels} == {(s, k) for s in SCENARIO_NAMES for k in ("attack", "benign_lookalike")}
    assert all(set(lb) == {"scenario", "kind", "identity", "device", "start", "end", "event_ids", "night"} for lb in labels)
    assert {lb["night"] for lb in labels} == {(START + dt.timedelta(days=DAYS - 1)).isoformat()}
    wanted = {e for lb in labels for e in lb["event_ids"]}
    landed = None
    for s in SOURCES:
        ids = delta_io.read(spark, bronze(s).path(lake)).select("_event_id").where(F.col("_event_id").isin(list(wanted)))
        landed = ids if landed is None else landed.unionByName(ids)
    found = {r._event_id for r in landed.distinct().collect()}
    assert wanted - found == set()


def test_identifiers_link_across_sources(spark, org):
    _, lake, _ = org
    users = {r.userName for r in delta_io.read(spark, bronze("scim_users").path(lake)).collect()}
    okta = {r.actor.alternateId.lower() for r in delta_io.read(spark, bronze("okta").path(lake)).collect()}
    assert okta <= {u.lower() for u in users}  # email = Okta login = SCIM userName (some typed with capitals)
    sessions = delta_io.read(spark, bronze("cloudtrail").path(lake)).where(F.col("userIdentity.type") == "AssumedRole")
    names = {r.userIdentity.arn.rsplit("/", 1)[-1] for r in sessions.collect()}
    assert {n for n in names if "@" in n} <= users  # AWS SSO role-session name = email
    intune = {r.deviceName for r in delta_io.read(spark, bronze("intune_devices").path(lake)).collect()}
    edr = {r.hostname for r in delta_io.read(spark, bronze("edr_hosts").path(lake)).collect()}
    assert edr and edr <= intune  # EDR hosts are managed devices with the same hostnames

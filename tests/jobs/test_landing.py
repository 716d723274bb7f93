"""Landing: every shared sample lands or is quarantined with a reason; reruns change nothing."""

import json
import shutil

import pytest
from pyspark.sql import functions as F

from jobs.landing.load import land_source
from jobs.sources import SOURCES
from tests.conftest import NIGHT, write_landing
from ztlake import delta_io
from ztlake.spark import DeltaJarsMissing, delta_jars
from ztlake.tables import INGEST_AUDIT, QUARANTINE, bronze

# file -> (records read, landed, quarantined) on a first landing of the shared samples.
EXPECTED = {
    "okta": {
        "cribl_okta_system_log.jsonl": (100, 100, 0),
        "panther_fixtures_okta_system_log.jsonl": (56, 17, 39),
    },
    "cloudtrail": {
        "aws.credential-access.secretsmanager-retrieve-secrets.json": (10, 10, 0),
        "aws.defense-evasion.cloudtrail-delete.json": (1, 1, 0),
        "aws.exfiltration.ec2-share-ebs-snapshot.json": (1, 1, 0),
        "panther_fixtures_cloudtrail.jsonl": (442, 160, 282),
        "stratus_red_team_detonations.jsonl": (310, 309, 1),
    },
}
EXPECTED_REASONS = {
    "okta": {"conflict": 31, "missing required field `actor.id`": 2, "missing required field `published`": 2,
             "unparseable timestamp in `published`": 4},
    "cloudtrail": {"conflict": 265, "missing required field `eventSource`": 3, "missing required field `eventTime`": 13,
                   "unparseable timestamp in `eventTime`": 2},
}


@pytest.fixture(scope="module")
def landed_samples(spark, tmp_path_factory, request):
    from tests.conftest import SAMPLES

    if not (SAMPLES / "okta").is_dir():
        pytest.skip(f"shared vendor samples not found at {SAMPLES} (set ZTLAKE_SAMPLES)")
    root = tmp_path_factory.mktemp("samples")
    landing, lake = root / "landing", str(root / "lake")
    for source, files in EXPECTED.items():
        for name in files:
            matches = list(SAMPLES.glob(f"{'cloudtrail' if source == 'cloudtrail' else source}/**/{name}"))
            assert matches, name
            dest = landing / source / NIGHT.isoformat()
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(matches[0], dest / name)
    summaries = {s: land_source(spark, SOURCES[s], str(landing), lake, NIGHT, "run-1") for s in EXPECTED}
    return landing, lake, summaries


def _audit(spark, lake):
    return {
        (r.source, r._source_file.rsplit("/", 1)[-1]): r
        for r in delta_io.read(spark, INGEST_AUDIT.path(lake)).collect()
    }


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_every_sample_record_lands_or_is_quarantined(spark, landed_samples, source):
    _, lake, summaries = landed_samples
    audit = _audit(spark, lake)
    for name, (read, landed, quarantined) in EXPECTED[source].items():
        row = audit[(source, name)]
        assert (row.records_read, row.landed, row.quarantined, row.duplicates) == (read, landed, quarantined, 0), name
        assert row.reconciled
    assert summaries[source].reconciled
    assert delta_io.read(spark, bronze(source).path(lake)).count() == sum(v[1] for v in EXPECTED[source].values())


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_quarantine_reasons_are_specific(spark, landed_samples, source):
    _, lake, _ = landed_samples
    q = delta_io.read(spark, QUARANTINE.path(lake)).where(F.col("source") == source)
    counts: dict[str, int] = {}
    for r in q.collect():
        key = "conflict" if "is already used by a different record" in r.reason else r.reason.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
        assert r._raw and r._line >= 1 and r._source_file
    assert counts == EXPECTED_REASONS[source]


def test_s3_delivery_and_forwarder_envelope_records_land_typed(spark, landed_samples):
    _, lake, _ = landed_samples
    ct = delta_io.read(spark, bronze("cloudtrail").path(lake))
    row = ct.where(F.col("eventID") == "9335e411-4cb7-4617-9c00-12012a9c3eac").first()
    assert row.eventName == "DeleteTrail" and row._line == 1
    assert row._source_file.endswith("aws.defense-evasion.cloudtrail-delete.json")
    assert dict(ct.dtypes)["readOnly"] == "boolean"


def test_lowercased_keys_and_stringified_booleans_still_land_typed(spark, landed_samples):
    _, lake, _ = landed_samples
    ct = delta_io.read(spark, bronze("cloudtrail").path(lake))
    lower = ct.where(F.col("_event_id") == "5d4b45ed-a15c-41b6-80e9-031729fa060d").first()
    assert lower.eventName == "GetRecords" and lower.awsRegion == "eu-west-1"
    assert "field names were lower-cased upstream; restored" in lower._parse_flags
    stringy = ct.where(F.col("eventID") == "044e210e-6c5e-3f3e-8f04-2311a826f287").first()
    assert stringy.managementEvent is True and stringy.readOnly is True
    assert stringy.resources is None
    assert any("unexpected shape" in f and "resources" in f for f in stringy._parse_flags)
    assert "timestamp had no zone; taken as UTC" in stringy._parse_flags


def test_landing_the_same_files_twice_adds_nothing(spark, landed_samples):
    landing, lake, _ = landed_samples
    before = {s: delta_io.read(spark, bronze(s).path(lake)).count() for s in EXPECTED}
    q_before = delta_io.read(spark, QUARANTINE.path(lake)).count()
    for s in EXPECTED:
        again = land_source(spark, SOURCES[s], str(landing), lake, NIGHT, "run-2")
        assert again.landed == 0 and again.reconciled
        assert again.duplicates == sum(v[1] for v in EXPECTED[s].values())
    assert {s: delta_io.read(spark, bronze(s).path(lake)).count() for s in EXPECTED} == before
    assert delta_io.read(spark, QUARANTINE.path(lake)).count() == q_before
    assert delta_io.read(spark, INGEST_AUDIT.path(lake)).count() == sum(len(v) for v in EXPECTED.values())
    history = spark.sql(f"DESCRIBE HISTORY delta.`{bronze('okta').path(lake)}`").collect()
    assert {h.operation for h in history} >= {"WRITE"} and len(history) >= 1


def _okta(uuid, published="2026-11-25T10:00:00Z", event_type="user.session.start", actor="00u1"):
    return json.dumps({"uuid": uuid, "published": published, "eventType": event_type, "actor": {"id": actor}})


def test_a_lowercase_name_that_is_documented_elsewhere_is_never_renamed(spark, tmp_path, lake):
    # CloudTrail documents both `userIdentity.arn` and `resources[].ARN`.
    rec = {"eventID": "e1", "eventTime": "2026-11-25T10:00:00Z", "eventName": "GetObject", "eventSource": "s3.amazonaws.com",
           "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/r/ann@example.com"}}
    write_landing(tmp_path / "landing", "cloudtrail", NIGHT, "a.jsonl", json.dumps(rec) + "\n")
    land_source(spark, SOURCES["cloudtrail"], str(tmp_path / "landing"), lake, NIGHT, "r")
    row = delta_io.read(spark, bronze("cloudtrail").path(lake)).first()
    assert row.userIdentity.arn == rec["userIdentity"]["arn"] and row._parse_flags == []


def test_redelivery_on_a_later_night_is_a_duplicate_and_conflicts_are_quarantined(spark, tmp_path, lake):
    landing = tmp_path / "landing"
    night2 = NIGHT.replace(day=NIGHT.day + 1)
    write_landing(landing, "okta", NIGHT, "a.jsonl", _okta("u1") + "\n" + _okta("u2") + "\n")
    # Night 2: u1 re-delivered byte-identical, u2 re-used with different content, u3 new.
    write_landing(
        landing, "okta", night2, "b.jsonl",
        _okta("u1") + "\n" + _okta("u2", event_type="user.session.end") + "\n" + _okta("u3", "2026-11-26T01:00:00Z") + "\n",
    )
    first = land_source(spark, SOURCES["okta"], str(landing), lake, NIGHT, "r1")
    second = land_source(spark, SOURCES["okta"], str(landing), lake, night2, "r2")
    assert (first.landed, first.duplicates, first.quarantined) == (2, 0, 0)
    assert (second.records_read, second.landed, second.duplicates, second.quarantined) == (3, 1, 1, 1)
    reasons = [r.reason for r in delta_io.read(spark, QUARANTINE.path(lake)).collect()]
    assert reasons == ["event id 'u2' is already used by a different record at an earlier landing (vendor ids must be unique)"]
    assert sorted(r.uuid for r in delta_io.read(spark, bronze("okta").path(lake)).collect()) == ["u1", "u2", "u3"]


def test_malformed_lines_are_quarantined_with_actionable_reasons(spark, tmp_path, lake):
    landing = tmp_path / "landing"
    lines = [
        _okta("ok"),
        '{"uuid": "t1", "published": "2026-11-25T10:00',  # truncated
        "[1, 2]",
        _okta("noactor", actor=None),
        _okta("future", published="2031-01-01T00:00:00Z"),
        _okta("ancient", published="1970-01-02T00:00:00Z"),
        json.dumps({"published": "2026-11-25T10:00:00Z", "eventType": "x", "actor": {"id": "a"}}),  # no uuid: hashed id
    ]
    write_landing(landing, "okta", NIGHT, "m.jsonl", "\n".join(lines) + "\n")
    s = land_source(spark, SOURCES["okta"], str(landing), lake, NIGHT, "r1")
    assert (s.records_read, s.landed, s.quarantined) == (7, 2, 5) and s.reconciled
    by_line = {r._line: r.reason for r in delta_io.read(spark, QUARANTINE.path(lake)).collect()}
    assert by_line[2] == "record is not valid JSON (malformed or truncated)"
    assert by_line[3] == "record is not a JSON object"
    assert by_line[4] == "missing required field `actor.id`"
    assert by_line[5].startswith("impossible timestamp in `published`: 2031-01-01 00:00:00 is before 2000-01-01 or more than 2 day(s) after landing date 2026-11-25")
    assert by_line[6].startswith("impossible timestamp in `published`: 1970-01-02")
    hashed = delta_io.read(spark, bronze("okta").path(lake)).where(F.col("uuid").isNull()).first()
    assert hashed._event_id.startswith("sha256:") and len(hashed._event_id) == 7 + 64


def test_a_night_with_no_files_still_creates_readable_empty_tables(spark, tmp_path, lake):
    s = land_source(spark, SOURCES["cloudtrail"], str(tmp_path / "none"), lake, NIGHT, "r1")
    assert (s.files, s.records_read) == (0, 0)
    assert delta_io.read(spark, bronze("cloudtrail").path(lake)).count() == 0


def test_missing_delta_jars_name_the_setup_command(tmp_path):
    with pytest.raises(DeltaJarsMissing, match="make setup"):
        delta_jars(tmp_path)

"""Every issue-3 source: the shared vendor samples, and fixtures in each vendor's documented shape."""

import gzip
import json
import shutil

import pytest
from pyspark.sql import functions as F

from jobs.landing.load import land_source
from jobs.sources import SOURCES
from tests.conftest import NIGHT, SAMPLES, write_landing
from ztlake import delta_io
from ztlake.tables import QUARANTINE, bronze


def _land(spark, tmp_path, lake, source, files):
    landing = tmp_path / "landing"
    for name, content in files.items():
        write_landing(landing, source, NIGHT, name, content)
    return land_source(spark, SOURCES[source], str(landing), lake, NIGHT, "t")


def _copy_samples(tmp_path, source, names):
    if not (SAMPLES / "entra").is_dir():
        pytest.skip(f"shared vendor samples not found at {SAMPLES}")
    dest = tmp_path / "landing" / source / NIGHT.isoformat()
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SAMPLES / name, dest / name.rsplit("/", 1)[-1])
    return tmp_path / "landing"


def _reasons(spark, lake, source):
    return [r.reason for r in delta_io.read(spark, QUARANTINE.path(lake)).where(F.col("source") == source).collect()]


def test_entra_samples_split_exactly_between_signin_and_audit(spark, tmp_path, lake):
    landing = _copy_samples(tmp_path, "entra_signin", ["entra/panther_fixtures_azure_signin_and_audit.jsonl", "entra/cribl_graph_signins.jsonl"])
    _copy_samples(tmp_path, "entra_audit", ["entra/panther_fixtures_azure_signin_and_audit.jsonl"])
    si = land_source(spark, SOURCES["entra_signin"], str(landing), lake, NIGHT, "t")
    au = land_source(spark, SOURCES["entra_audit"], str(landing), lake, NIGHT, "t")
    assert (si.records_read, si.landed, si.quarantined) == (48, 20, 28) and si.reconciled
    assert (au.records_read, au.landed, au.quarantined) == (46, 13, 33) and au.reconciled
    wrong_si = [r for r in _reasons(spark, lake, "entra_signin") if "land it under `entra_audit`" in r]
    wrong_au = [r for r in _reasons(spark, lake, "entra_audit") if "land it under `entra_signin`" in r]
    assert len(wrong_si) + len(wrong_au) == 46  # every diagnostic record belongs to exactly one source
    graph = delta_io.read(spark, bronze("entra_signin").path(lake)).where(F.col("diagnostic_time").isNull())
    assert graph.count() == 1 and graph.first().userPrincipalName  # the Graph-shaped sign-in (one of two is a conflicting copy)
    diag = delta_io.read(spark, bronze("entra_signin").path(lake)).where(F.col("diagnostic_category") == "ServicePrincipalSignInLogs")
    assert diag.count() >= 1 and all(r.servicePrincipalId or r.appId for r in diag.collect())


def test_windows_security_nxlog_and_winlogbeat_land_in_one_shape(spark, tmp_path, lake):
    names = ["windows_security/otrf_mordor/credential_access__empire_mimikatz_logonpasswords_2020-08-07103224.security.json.gz",
             "windows_security/otrf_mordor/credential_access__empire_mimikatz_opth_2019-03-19131123.winlogbeat.security.json.gz"]
    landing = _copy_samples(tmp_path, "windows_security", names)
    s = land_source(spark, SOURCES["windows_security"], str(landing), lake, NIGHT, "t")
    expected = sum(1 for n in names for _ in gzip.open(SAMPLES / n, "rt"))
    assert s.records_read == expected and s.quarantined == 0 and s.reconciled
    df = delta_io.read(spark, bronze("windows_security").path(lake))
    logon = df.where(F.col("EventID") == 4624).first()
    assert logon.LogonType is not None and logon.TargetUserName and logon.Hostname
    wb = df.where(F.col("_source_file").contains("winlogbeat")).where(F.col("EventID").isNotNull())
    assert wb.count() > 0 and wb.where(F.col("Hostname").isNull()).count() == 0
    assert wb.where(F.col("SubjectUserName").isNotNull()).count() > 0  # event_data.* mapped to the flat columns


def test_zeek_dns_sample_and_both_id_spellings(spark, tmp_path, lake):
    landing = _copy_samples(tmp_path, "zeek_dns", ["zeek/wrccdc2018_dns.json.gz"])
    s = land_source(spark, SOURCES["zeek_dns"], str(landing), lake, NIGHT, "t")
    assert (s.records_read, s.landed, s.quarantined) == (53615, 53615, 0)
    conn = [
        {"ts": 1700000000.123, "uid": "C1", "id.orig_h": "10.0.0.5", "id.orig_p": 5000, "id.resp_h": "1.2.3.4", "id.resp_p": 443, "proto": "tcp"},
        {"ts": "2023-11-14T22:13:21.000Z", "uid": "C2", "id_orig_h": "10.0.0.6", "id_orig_p": 5001, "id_resp_h": "1.2.3.5", "id_resp_p": 80, "proto": "tcp"},
    ]
    c = _land(spark, tmp_path, lake, "zeek_conn", {"conn.log": "\n".join(map(json.dumps, conn)) + "\n"})
    assert c.landed == 2
    rows = {r.uid: r for r in delta_io.read(spark, bronze("zeek_conn").path(lake)).collect()}
    assert rows["C1"].id_orig_h == "10.0.0.5" and rows["C2"].id_orig_h == "10.0.0.6" and rows["C2"].id_resp_p == 80


def test_edr_devices_api_and_fdr_aid_master(spark, tmp_path, lake):
    landing = _copy_samples(tmp_path, "edr_hosts", ["edr/crowdstrike_devices_api.jsonl", "edr/crowdstrike_fdr_aid_master.jsonl"])
    s = land_source(spark, SOURCES["edr_hosts"], str(landing), lake, NIGHT, "t")
    assert (s.records_read, s.landed, s.quarantined) == (11, 11, 0)
    df = delta_io.read(spark, bronze("edr_hosts").path(lake))
    assert df.where(F.col("hostname").isNull() | F.col("device_id").isNull()).count() == 0
    assert {r._event_date for r in df.collect()} == {NIGHT}  # a snapshot: as of the landing night


def test_scim_list_response_pages_and_enterprise_extension(spark, tmp_path, lake):
    ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    page = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 2, "Resources": [
        {"id": "u1", "userName": "ann@example.com", "active": True, "title": "Analyst", ext: {"department": "Finance", "manager": {"value": "u9"}}},
        {"id": "u2", "userName": "bob@example.com", "active": "false"},
        {"id": "u3"},  # no userName
    ]}
    s = _land(spark, tmp_path, lake, "scim_users", {"users.json": json.dumps(page)})
    assert (s.records_read, s.landed, s.quarantined) == (3, 2, 1)
    rows = {r.id: r for r in delta_io.read(spark, bronze("scim_users").path(lake)).collect()}
    assert rows["u1"].enterprise.department == "Finance" and rows["u1"].enterprise.manager.value == "u9"
    assert rows["u2"].active is False and rows["u1"]._event_id == f"u1|{NIGHT}"
    assert _reasons(spark, lake, "scim_users") == ["missing required field `userName`"]


def test_aws_iam_authorization_details_become_one_row_per_principal(spark, tmp_path, lake):
    doc = {"UserDetailList": [{"UserName": "svc", "Arn": "arn:aws:iam::1:user/svc", "GroupList": ["g"]}],
           "GroupDetailList": [{"GroupName": "g", "Arn": "arn:aws:iam::1:group/g"}],
           "RoleDetailList": [{"RoleName": "r", "Arn": "arn:aws:iam::1:role/r",
                               "AssumeRolePolicyDocument": {"Statement": [{"Principal": {"AWS": "arn:aws:iam::1:user/svc"}}]}}],
           "Policies": [{"PolicyName": "p", "Arn": "arn:aws:iam::1:policy/p", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True}]}]}
    s = _land(spark, tmp_path, lake, "aws_iam", {"auth.json": json.dumps(doc, indent=2)})
    assert (s.records_read, s.landed) == (4, 4)
    rows = {r.EntryType: r for r in delta_io.read(spark, bronze("aws_iam").path(lake)).collect()}
    assert set(rows) == {"user", "group", "role", "policy"}
    assert json.loads(rows["role"].AssumeRolePolicyDocument)["Statement"][0]["Principal"]["AWS"].endswith("user/svc")


def test_intune_pages_threat_intel_bundles_and_ocsf_class(spark, tmp_path, lake):
    intune = {"value": [{"id": "d1", "deviceName": "LT-1", "isEncrypted": True, "jailBroken": "False", "complianceState": "compliant"}]}
    assert _land(spark, tmp_path, lake, "intune_devices", {"devices.json": json.dumps(intune)}).landed == 1
    bundle = {"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "identity", "id": "identity--1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"},
        {"type": "indicator", "id": "indicator--1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-02T00:00:00Z",
         "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "confidence": 80}]}
    ti = _land(spark, tmp_path, lake, "threat_intel", {"feed.json": json.dumps(bundle)})
    assert ti.landed == 2
    ind = delta_io.read(spark, bronze("threat_intel").path(lake)).where(F.col("type") == "indicator").first()
    assert ind.confidence == 80 and "203.0.113.9" in ind.pattern
    ok = {"metadata": {"uid": "m1"}, "time": 1764000000000, "class_uid": 6005, "activity_id": 99,
          "actor": {"user": {"uid": "u1"}}, "unmapped": {"rows": 5}}
    wrong = {**ok, "metadata": {"uid": "m2"}, "class_uid": 3002}
    da = _land(spark, tmp_path, lake, "data_access", {"a.jsonl": json.dumps(ok) + "\n" + json.dumps(wrong) + "\n"})
    assert (da.landed, da.quarantined) == (1, 1)
    assert _reasons(spark, lake, "data_access") == ["OCSF class_uid 3002 is not Datastore Activity (6005)"]


def test_resource_catalog_csv_validates_enums(spark, tmp_path, lake):
    csv = ("resource_id,name,type,owner_email,sensitivity,access_path,data_classification\n"
           "r1,Payroll,warehouse,fin@example.com,critical,ztna,restricted\n"
           "r2,Wiki,web,it@example.com,Low,network,internal\n"
           "r3,Odd,web,it@example.com,extreme,network,internal\n"
           "r4,Odd2,web,it@example.com,low,vpn,internal\n")
    s = _land(spark, tmp_path, lake, "resource_catalog", {"catalog.csv": csv})
    assert (s.records_read, s.landed, s.quarantined) == (4, 2, 2)
    assert sorted(_reasons(spark, lake, "resource_catalog")) == [
        "access_path 'vpn' is not one of gateway, ztna, service_mesh, network",
        "sensitivity 'extreme' is not one of low, medium, high, critical",
    ]

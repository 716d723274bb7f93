"""Every identity, device and resource resolution rule, on small vendor-shaped records: the link it
makes, case and format differences it must absorb, and the ambiguous cases it must refuse."""

import datetime as dt
import json

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.landing import transform as T
from jobs.silver import devices as D
from jobs.silver import events as V
from jobs.silver import identities as I
from jobs.silver import resources as R
from jobs.silver.common import Candidate, in_cidrs, resolve, short_host
from jobs.silver.config import load
from jobs.sources import SOURCES

NIGHT = dt.date(2026, 11, 3)
CFG = load()
ALICE, BOB = "alice.smith1@example.com", "bob.chen2@example.com"
ALICE_OKTA, BOB_OKTA = "00ualice", "00ubob"
ALICE_OID = "aaaaaaaa-0000-0000-0000-000000000001"
BOB_OID = "bbbbbbbb-0000-0000-0000-000000000002"


def bronze(spark, source: str, records: list[dict]) -> DataFrame:
    """Records as the landing framework would put them in bronze (no Delta involved)."""
    rows = [("mem://" + source, i + 1, json.dumps(r), json.dumps(r), None) for i, r in enumerate(records)]
    raw = spark.createDataFrame(rows, "_source_file string, _line int, _raw string, _record string, _file_error string")
    spec = SOURCES[source]
    rows = T.bronze_rows(T.classify(raw, spec, NIGHT, "t", 400), spec).withColumn("source", F.lit(source))
    return rows.localCheckpoint(eager=True)  # later plans start from rows, not from the parsing expressions


def scim_user(scim_id: str, email: str, okta: str, kind: str = "Employee", active: bool = True, emails: list[str] | None = None) -> dict:
    return {"id": scim_id, "externalId": okta, "userName": email, "userType": kind, "active": active, "title": "Analyst",
            "emails": [{"value": e, "primary": i == 0} for i, e in enumerate(emails or [email])],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Finance", "employeeNumber": "E1"},
            "meta": {"created": "2024-01-01T00:00:00Z"}}


def okta(actor_id: str, login: str, *, device: dict | None = None, event_type: str = "user.session.start", app: str | None = None) -> dict:
    return {"uuid": f"o-{actor_id}-{login}-{event_type}-{app}", "published": "2026-11-03T10:00:00.000Z", "eventType": event_type,
            "actor": {"id": actor_id, "type": "User", "alternateId": login},
            "client": {"ipAddress": "81.2.69.10", "geographicalContext": {"country": "GB", "city": "London"}},
            "outcome": {"result": "SUCCESS"}, "device": device,
            "target": [{"id": "0oa1", "type": "AppInstance", "alternateId": app, "displayName": app}] if app else []}


@pytest.fixture(scope="module")
def org(spark):
    """Alice and Bob in the directory, a service account, IAM users and roles, and what each
    identity source says about them tonight."""
    b: dict[str, DataFrame] = {}
    people_rows = [scim_user("s-alice", ALICE, ALICE_OKTA), scim_user("s-bob", BOB, BOB_OKTA),
                   scim_user("s-svc", "svc-reporting@example.com", "", kind="Service")]
    b["scim_users"] = bronze(spark, "scim_users", people_rows)
    b["okta"] = bronze(spark, "okta", [okta(ALICE_OKTA, ALICE.upper()), okta("00unobody", "ghost@example.com"),
                                       okta("00ubob-second", "Bob.Chen2@Example.com")])
    b["entra_signin"] = bronze(spark, "entra_signin", [{"id": "si1", "createdDateTime": "2026-11-03T10:00:00Z",
                                                         "userPrincipalName": "Alice.Smith1@Example.com", "userId": ALICE_OID.upper(),
                                                         "status": {"errorCode": 0}, "appDisplayName": "Office 365 Exchange Online"}])
    b["intune_devices"] = bronze(spark, "intune_devices", [{"id": "int-1", "deviceName": "LT-B-0", "userPrincipalName": BOB.upper(),
                                                            "userId": BOB_OID}])
    b["windows_security"] = bronze(spark, "windows_security", [
        {"EventID": 4624, "Hostname": "LT-ALI00001-0.corp.example.com", "Channel": "Security", "RecordNumber": 1,
         "@timestamp": "2026-11-03T09:58:00.000Z", "TargetUserName": "Alice.Smith1", "TargetDomainName": "corp",
         "TargetUserSid": "S-1-5-21-1-1001", "LogonType": 2, "IpAddress": "10.10.1.5"}])
    b["cloudtrail"] = bronze(spark, "cloudtrail", [
        {"eventID": "c1", "eventTime": "2026-11-03T10:05:00Z", "eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity",
         "recipientAccountId": "111111111111",
         "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Dev_1/{ALICE}"}}])
    trust_oidc = json.dumps({"Statement": [{"Principal": {"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"}}]})
    trust_saml = json.dumps({"Statement": [{"Principal": {"Federated": "arn:aws:iam::1:saml-provider/AWSSSO_okta"}}]})
    b["aws_iam"] = bronze(spark, "aws_iam", [{
        "UserDetailList": [{"UserName": "svc-reporting", "UserId": "AIDASVC", "Arn": "arn:aws:iam::333333333333:user/svc-reporting"},
                           {"UserName": "legacy-bot", "UserId": "AIDABOT", "Arn": "arn:aws:iam::333333333333:user/legacy-bot"}],
        "RoleDetailList": [{"RoleName": "ci-deployer", "RoleId": "AROACI", "Arn": "arn:aws:iam::111111111111:role/ci-deployer",
                            "AssumeRolePolicyDocument": trust_oidc},
                           {"RoleName": "AWSReservedSSO_Dev_1", "RoleId": "AROASSO", "Arn": "arn:aws:iam::111111111111:role/AWSReservedSSO_Dev_1",
                            "AssumeRolePolicyDocument": trust_saml}]}])
    people = I.directory_people(b["scim_users"])
    wl, svc = I.workloads(b["aws_iam"], people)
    aliases = I.tonight_aliases(b, people, wl, svc, CFG).cache()
    return b, people, wl, aliases


def uid_of(people: DataFrame, email: str) -> str:
    return people.where(F.col("email") == email).first()["user_uid"]


def links(aliases: DataFrame) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r.alias_type, r.alias_value): (r.user_uid, r.rule) for r in aliases.collect()}


def test_directory_of_record_defines_people_and_their_ids(org):
    _, people, _, aliases = org
    got = links(aliases)
    alice = uid_of(people, ALICE)
    assert alice.startswith("usr_") and uid_of(people, BOB) != alice
    assert got[("email", ALICE)] == (alice, "directory_of_record")
    assert got[("okta_id", ALICE_OKTA)] == (alice, "directory_of_record")
    assert got[("scim_id", "s-alice")] == (alice, "directory_of_record")


def test_logins_and_upns_match_emails_whatever_their_case(org):
    _, people, _, aliases = org
    got = links(aliases)
    alice = uid_of(people, ALICE)
    # Entra object id learned from a sign-in whose UPN is typed with capitals; stored lower-case.
    assert got[("entra_object_id", ALICE_OID)] == (alice, "entra_signin_upn")
    # An Okta user id the directory does not list, linked through its login.
    assert got[("okta_id", "00ubob-second")] == (uid_of(people, BOB), "okta_actor_login")
    # An Intune device's primary user teaches Bob's Entra object id.
    assert got[("entra_object_id", BOB_OID)] == (uid_of(people, BOB), "intune_primary_user")
    # An Okta user no directory account backs is never invented.
    assert ("okta_id", "00unobody") not in got


def test_windows_accounts_follow_the_upn_convention_with_their_sid(org):
    _, people, _, aliases = org
    got = links(aliases)
    alice = uid_of(people, ALICE)
    assert got[("windows_account", "CORP\\alice.smith1")] == (alice, "windows_sam_upn_convention")
    assert got[("sid", "S-1-5-21-1-1001")] == (alice, "windows_sam_upn_convention")


def test_aws_principals(org):
    _, people, wl, aliases = org
    got = links(aliases)
    alice = uid_of(people, ALICE)
    arn = f"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Dev_1/{ALICE}"
    assert got[("aws_principal_arn", arn)] == (alice, "aws_sso_session_email")
    svc = uid_of(people, "svc-reporting@example.com")
    assert got[("aws_principal_arn", "arn:aws:iam::333333333333:user/svc-reporting")] == (svc, "iam_user_service_account")
    workloads = {r.arn: r.user_uid for r in wl.collect()}
    # An OIDC-trusted role and an IAM user with no directory account are workloads; an SSO (SAML) role is not an identity.
    assert set(workloads) == {"arn:aws:iam::111111111111:role/ci-deployer", "arn:aws:iam::333333333333:user/legacy-bot"}
    assert all(u.startswith("wl_") for u in workloads.values())
    assert got[("aws_principal_arn", "arn:aws:iam::111111111111:role/ci-deployer")][1] == "iam_workload"


def test_resolver_order_ambiguity_and_missing_identifiers(spark):
    aliases = spark.createDataFrame(
        [("email", "a@x.com", "u1", "r1"), ("okta_id", "o1", "u2", "r2"), ("email", "shared@x.com", "u1", "r1"),
         ("email", "shared@x.com", "u3", "r1")],
        "alias_type string, alias_value string, user_uid string, rule string")
    events = spark.createDataFrame(
        [("s", "e1", "o1", "a@x.com"), ("s", "e2", None, "A@X.COM "), ("s", "e3", None, "shared@x.com"),
         ("s", "e4", "zz", "nobody@x.com"), ("s", "e5", None, None)],
        "source string, _event_id string, okta string, login string")
    out = resolve(events, [Candidate("okta_id", F.col("okta")), Candidate("email", F.lower(F.trim("login")))], aliases, "user")
    got = {r._event_id: (r.user_uid, r.user_resolution) for r in out.collect()}
    assert got["e1"] == ("u2", "r2:okta_id")  # the first candidate wins over a later one naming someone else
    assert got["e2"] == ("u1", "r1:email")  # case and spaces do not matter
    assert got["e3"] == (None, "ambiguous:email")  # an alias naming two identities resolves to neither
    assert got["e4"] == (None, "unresolved")
    assert got["e5"] == (None, "no_identifier")


def test_duplicate_directory_email_is_ambiguous_end_to_end(spark):
    people = I.directory_people(bronze(spark, "scim_users", [
        scim_user("s1", "dup1@example.com", "o1", emails=["dup1@example.com", "shared@example.com"]),
        scim_user("s2", "dup2@example.com", "o2", emails=["dup2@example.com", "shared@example.com"])]))
    empty = {s: bronze(spark, s, []) for s in ("okta", "entra_signin", "intune_devices", "windows_security", "cloudtrail")}
    wl, svc = I.workloads(bronze(spark, "aws_iam", []), people)
    aliases = I.tonight_aliases(empty, people, wl, svc, CFG)
    built = V.okta_authentication(bronze(spark, "okta", [okta("o-unknown", "Shared@Example.com")]))
    out = resolve(built.df, built.users, aliases, "user", entity_col="user_uid").first()
    assert (out.user_uid, out.user_resolution) == (None, "ambiguous:email")


def test_leaver_stays_known_and_dates_roll_forward(spark, org):
    b, people, wl, aliases = org
    prev = spark.createDataFrame([], I.IDENTITIES_SCHEMA)
    empty_life = spark.createDataFrame([], "user_uid string, kind string")
    empty_vouch = spark.createDataFrame([], "user_uid string, source string")
    night1 = I.identities_snapshot(NIGHT, people, wl, aliases, prev, empty_life, empty_vouch, CFG).cache()
    # Night 2: Alice is terminated (active=false); night 3: she is gone from the directory.
    gone = people.where(F.col("email") != ALICE)
    n2_people = people.withColumn("active", F.when(F.col("email") == ALICE, False).otherwise(F.col("active")))
    night2 = I.identities_snapshot(NIGHT + dt.timedelta(days=1), n2_people, wl, aliases, night1, empty_life, empty_vouch, CFG).cache()
    night3 = I.identities_snapshot(NIGHT + dt.timedelta(days=2), gone, wl, aliases, night2, empty_life, empty_vouch, CFG)
    a3 = night3.where(F.col("email") == ALICE).first()
    assert a3 is not None and not a3.in_directory and not a3.active
    assert a3.termination_date == NIGHT + dt.timedelta(days=1)
    assert a3.first_seen_date == NIGHT and a3.last_seen_date == NIGHT + dt.timedelta(days=1)
    assert {(a.alias_type, a.alias_value) for a in a3.aliases} >= {("email", ALICE), ("okta_id", ALICE_OKTA)}



def okta_user(okta_id: str, login: str, last_login: str | None) -> dict:
    """A user object of the Okta Users API (`GET /api/v1/users`)."""
    return {"id": okta_id, "status": "ACTIVE", "created": "2023-01-01T00:00:00.000Z", "lastLogin": last_login,
            "profile": {"login": login, "email": login, "firstName": "A", "lastName": "B"}, "type": {"id": "oty1"}}


def test_identity_provider_last_login_reaches_back_before_the_lake(spark, org):
    """Okta's `lastLogin` resolves by Okta id (or by login), and `prior_login_date` is the last
    sign-in on a day before the night: a sign-in tonight does not hide months of idleness."""
    b, people, wl, aliases = org
    alice, bob = uid_of(people, ALICE), uid_of(people, BOB)
    empty_life = spark.createDataFrame([], "user_uid string, kind string")
    empty_vouch = spark.createDataFrame([], "user_uid string, source string")

    def night(k: int, users: list[dict], prev: DataFrame) -> DataFrame:
        logins = I.idp_last_logins(bronze(spark, "okta_users", users), aliases)
        return I.identities_snapshot(NIGHT + dt.timedelta(days=k), people, wl, aliases, prev, empty_life, empty_vouch, CFG,
                                     logins).cache()

    def row(df: DataFrame, uid: str):
        return df.where(F.col("user_uid") == uid).first()

    # Night 1: Alice last signed in in July (by Okta id); Bob's Okta id is unknown, his login is not.
    n1 = night(0, [okta_user(ALICE_OKTA, "x@example.com", "2026-07-04T14:10:21.116Z"),
                   okta_user("00u-unknown", "Bob.Chen2@Example.com", "2026-11-02T09:00:00.000Z"),
                   okta_user("00unobody", "nobody@example.com", "2026-11-02T09:00:00.000Z")],
               spark.createDataFrame([], I.IDENTITIES_SCHEMA))
    assert row(n1, alice).prior_login_date == dt.date(2026, 7, 4)
    assert row(n1, alice).idp_last_login == dt.datetime(2026, 7, 4, 14, 10, 21, 116000)
    assert row(n1, bob).prior_login_date == dt.date(2026, 11, 2)
    # Night 2: Alice signs in tonight, so Okta's lastLogin is tonight; the July sign-in still stands.
    n2 = night(1, [okta_user(ALICE_OKTA, ALICE, "2026-11-04T15:00:00.000Z")], n1)
    assert row(n2, alice).prior_login_date == dt.date(2026, 7, 4)
    # Night 3: no export at all tonight; yesterday's sign-in is now the prior one.
    n3 = night(2, [], n2)
    assert row(n3, alice).prior_login_date == dt.date(2026, 11, 4)
    assert row(n3, bob).prior_login_date == dt.date(2026, 11, 2)
    # never in Okta's export: unknown, not zero
    assert row(n3, uid_of(people, "svc-reporting@example.com")).prior_login_date is None


# --- devices ---------------------------------------------------------------------------------------

def intune(host: str, serial: str, owner: str, entra_dev: str) -> dict:
    return {"id": f"int-{host}", "deviceName": host, "serialNumber": serial, "userPrincipalName": owner, "azureADDeviceId": entra_dev,
            "operatingSystem": "Windows", "osVersion": "10.0.22631", "complianceState": "compliant", "isEncrypted": True,
            "jailBroken": "False", "wiFiMacAddress": "AABBCCDDEEFF"}


def falcon(aid: str, host: str, serial: str | None, ip: str, last_seen: str = "2026-11-03T00:30:00Z") -> dict:
    return {"device_id": aid, "hostname": host, "serial_number": serial, "local_ip": ip, "last_seen": last_seen, "status": "normal",
            "platform_name": "Windows", "mac_address": "aa-bb-cc-dd-ee-ff"}


def win_logon(rec: int, host: str, logon_type: int, ip: str, workstation: str | None = None) -> dict:
    return {"EventID": 4624, "Hostname": host, "Channel": "Security", "RecordNumber": rec, "@timestamp": "2026-11-03T11:00:00.000Z",
            "TargetUserName": "alice.smith1", "TargetDomainName": "CORP", "LogonType": logon_type, "IpAddress": ip,
            "WorkstationName": workstation}


def zeek(ip: str, n: int) -> dict:
    return {"ts": 1793700000.0 + n, "uid": f"C{n}", "id.orig_h": ip, "id.orig_p": 5000, "id.resp_h": "10.0.0.53", "id.resp_p": 53,
            "query": "example.com", "rcode_name": "NOERROR"}


@pytest.fixture(scope="module")
def fleet(spark):
    inv = D.inventory(
        bronze(spark, "intune_devices", [intune("LT-A-0", "SER1", ALICE, "DEV-1"), intune("LT-B-0", "SER2", BOB, "dev-2"),
                                         intune("LT-NOEDR", "SER3", BOB, "dev-3")]),
        bronze(spark, "edr_hosts", [
            falcon("aid1", "lt-a-0", "ser1", "10.10.1.5"),  # serial match (case-insensitive)
            falcon("aid2", "LT-B-0.corp.example.com", None, "10.10.2.5"),  # no serial: host name match (FQDN, case)
            falcon("aid9", "SRV-ORPHAN", "SER9", "10.10.9.9", "2026-10-01T00:00:00Z"),  # EDR only, stale sensor
        ]),
    ).cache()
    return inv


def test_edr_links_to_mdm_by_serial_then_hostname(fleet):
    rows = {r.intune_id or r.edr_aid: r for r in fleet.collect()}
    assert rows["int-LT-A-0"].edr_aid == "aid1" and rows["int-LT-A-0"].link_rules == ["edr_to_mdm:serial"]
    assert rows["int-LT-B-0"].edr_aid == "aid2" and rows["int-LT-B-0"].link_rules == ["edr_to_mdm:hostname"]
    assert rows["int-LT-NOEDR"].edr_aid is None and rows["int-LT-NOEDR"].managed
    assert rows["aid9"].intune_id is None and not rows["aid9"].managed and rows["aid9"].edr_present
    assert len({r.device_uid for r in rows.values()}) == 4
    assert rows["int-LT-A-0"].macs == ["AABBCCDDEEFF"]  # colon, dash and bare forms are one address


def test_ip_map_ghosts_and_ambiguous_addresses(spark, fleet):
    inv_al = D.inventory_aliases(fleet)
    windows = bronze(spark, "windows_security", [
        win_logon(1, "LT-NOEDR.corp.example.com", 2, "10.10.3.7"),  # windows_local_logon: the host's own address
        win_logon(2, "FS01.corp.example.com", 3, "10.10.4.4", "LT-A-0"),  # network logon names its client workstation
        win_logon(3, "FS01.corp.example.com", 3, "10.10.66.6", "DESKTOP-EVIL"),  # unknown workstation at an unknown address
        win_logon(4, "FS01.corp.example.com", 3, "10.10.7.7", "LT-B-0"),  # two devices claim 10.10.7.7 tonight...
        win_logon(5, "FS01.corp.example.com", 3, "10.10.7.7", "LT-NOEDR"),
    ])
    empty_da = bronze(spark, "data_access", [])
    ips = D.ip_map(NIGHT, fleet, windows, empty_da, inv_al, CFG).cache()
    got = {(r.ip, r.rule) for r in ips.collect()}
    assert ("10.10.1.5", "edr_local_ip") in got
    assert ("10.10.3.7", "windows_local_logon") in got
    assert ("10.10.4.4", "windows_network_logon_client") in got
    dns = bronze(spark, "zeek_dns", [zeek(ip, i) for i, ip in enumerate(["10.10.1.5", "10.10.3.7", "10.10.66.6", "10.10.7.7",
                                                                         "8.8.8.8"])])
    conn = bronze(spark, "zeek_conn", [])
    catalog = R.catalog_aliases(bronze(spark, "resource_catalog", [{"resource_id": "res-fs", "name": "fs01.corp.example.com",
                                                                     "owner_email": "o@example.com", "sensitivity": "high",
                                                                     "access_path": "network"}]))
    cands = D.ghost_candidates(dns, conn, windows, CFG)
    ghost, _ = D.ghosts(NIGHT, cands, inv_al.unionByName(catalog.where(F.col("alias_type") == "hostname")), ips)
    rows = ghost.collect()
    # Exactly one ghost: the unknown workstation, joined with the DNS from its address, with the evidence.
    assert len(rows) == 1
    g = rows[0]
    assert g.hostnames == ["DESKTOP-EVIL"] and g.ips == ["10.10.66.6"] and g.ghost_evidence_count == 2
    assert {e.source for e in g.ghost_evidence} == {"windows_security", "zeek_dns"}
    # The file server is a catalogued resource, public 8.8.8.8 is not ours, and the ambiguous
    # 10.10.7.7 is counted as ambiguous, never guessed into a device or a ghost.
    ip_al = ips.select(F.lit("ip").alias("alias_type"), F.col("ip").alias("alias_value"), F.col("device_uid").alias("entity_uid"), "rule")
    built = V.zeek_dns_activity(dns)
    res = {r.src_ip: r.device_resolution for r in resolve(built.df, built.devices, inv_al.unionByName(ip_al), "device").collect()}
    assert res["10.10.7.7"] == "ambiguous:ip"
    assert res["10.10.1.5"] == "edr_local_ip:ip"


def test_idp_only_devices_are_known_unmanaged_not_ghosts(spark, fleet, org):
    _, _, _, aliases = org
    seen = D.idp_devices(bronze(spark, "okta", [
        okta(ALICE_OKTA, ALICE, device={"id": "guoX", "name": "DESKTOP-HOME1", "managed": False, "disk_encryption_type": "NONE"}),
        okta(ALICE_OKTA, ALICE, device={"id": "guoA", "name": "lt-a-0", "managed": True}, event_type="user.authentication.sso", app="Slack"),
    ]), bronze(spark, "entra_signin", []))
    devices, al = D.idp_only_devices(seen, D.inventory_aliases(fleet), aliases)
    rows = devices.collect()
    assert len(rows) == 1  # the managed laptop matched the inventory by host name
    home = rows[0]
    assert home.hostnames == ["DESKTOP-HOME1"] and home.encrypted is False and home.owner_user_uid is not None


def test_cidr_and_host_normalization(spark):
    df = spark.createDataFrame([("10.1.2.3", "LT-X.corp.example.com"), ("172.20.0.1", "lt-x"), ("8.8.8.8", "10.1.2.3"),
                                ("fe80::1", None)], "ip string, host string")
    got = df.select(in_cidrs(F.col("ip"), CFG.internal_cidrs).alias("internal"), short_host(F.col("host")).alias("h")).collect()
    assert [r.internal for r in got] == [True, True, False, False]
    assert [r.h for r in got] == ["LT-X", "LT-X", None, None]


def test_threat_indicators_respect_validity(spark):
    def ind(i: str, ip: str, valid_from: str, valid_until: str | None = None, revoked: bool = False) -> dict:
        return {"type": "indicator", "id": i, "created": valid_from, "modified": valid_from, "pattern": f"[ipv4-addr:value = '{ip}']",
                "valid_from": valid_from, "valid_until": valid_until, "revoked": revoked}
    stix = bronze(spark, "threat_intel", [{"type": "bundle", "objects": [
        ind("indicator--1", "185.220.101.47", "2026-10-01T00:00:00Z"),
        ind("indicator--2", "45.95.147.9", "2026-08-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        ind("indicator--3", "1.2.3.4", "2026-11-10T00:00:00Z"),
        ind("indicator--4", "5.6.7.8", "2026-10-01T00:00:00Z", revoked=True)]}])
    snap = R.threat_snapshot(NIGHT, stix, spark.createDataFrame([], R.THREAT_DDL))
    got = {r.value: r.active for r in snap.collect()}
    assert got == {"185.220.101.47": True, "45.95.147.9": False, "1.2.3.4": False, "5.6.7.8": False}


def test_uncatalogued_resources_get_stable_keys(spark):
    catalog = bronze(spark, "resource_catalog", [{"resource_id": "RES-Slack", "name": "Slack", "owner_email": "o@example.com",
                                                  "sensitivity": "medium", "access_path": "gateway"},
                                                 {"resource_id": "res-aws-prod", "name": "AWS prod (111111111111)",
                                                  "owner_email": "o@example.com", "sensitivity": "critical", "access_path": "gateway"}])
    ra = R.catalog_aliases(catalog)
    built = V.okta_authentication(bronze(spark, "okta", [okta(ALICE_OKTA, ALICE, event_type="user.authentication.sso", app="SLACK"),
                                                          okta(ALICE_OKTA, ALICE, event_type="user.authentication.sso", app="Mail Sync Pro")]))
    empty_users = spark.createDataFrame([], I.ALIASES_SCHEMA)
    empty_dev = spark.createDataFrame([], "alias_type string, alias_value string, entity_uid string, rule string")
    owners = spark.createDataFrame([], "device_uid string, owner_user_uid string")
    out = {r.service_name: r for r in V.finish(built, V.AUTHENTICATION, empty_users, empty_dev, ra, owners).collect()}
    assert out["SLACK"].resource_uid == "res-slack" and out["SLACK"].resource_in_catalog
    mail = out["Mail Sync Pro"]
    assert mail.resource_uid.startswith("res_") and mail.resource_in_catalog is False and mail.resource_resolution == "uncatalogued"
    assert {r.alias_value for r in ra.where("alias_type = 'aws_account'").collect()} == {"111111111111"}


def test_idp_devices_link_by_entra_device_id_and_datastore_hosts_claim_addresses(spark, fleet, org):
    _, _, _, aliases = org
    inv_al = D.inventory_aliases(fleet)
    # Entra reports the device by its (upper-case) Entra device id and an unrelated display name.
    seen = D.idp_devices(bronze(spark, "okta", []), bronze(spark, "entra_signin", [
        {"id": "si9", "createdDateTime": "2026-11-03T10:00:00Z", "userPrincipalName": ALICE, "userId": ALICE_OID,
         "status": {"errorCode": 0}, "deviceDetail": {"deviceId": "DEV-2", "displayName": "Bob's laptop"}}]))
    devices, _ = D.idp_only_devices(seen, inv_al, aliases)
    assert devices.count() == 0  # matched the Intune device (azureADDeviceId dev-2), so not a device of its own
    store = bronze(spark, "data_access", [{"metadata": {"uid": "da1"}, "time": 1793700000000, "class_uid": 6005,
                                           "actor": {"user": {"uid": "x", "email_addr": ALICE}},
                                           "src_endpoint": {"ip": "10.10.5.5", "hostname": "lt-noedr.corp.example.com"}}])
    ips = D.ip_map(NIGHT, fleet, bronze(spark, "windows_security", []), store, inv_al, CFG)
    assert {(r.ip, r.rule) for r in ips.collect()} >= {("10.10.5.5", "datastore_client_host")}


def test_entitlements_follow_groups_permission_sets_and_trust_chains(spark):
    from jobs.silver import entitlements as E

    users = bronze(spark, "scim_users", [scim_user("s-alice", ALICE, ALICE_OKTA)])
    groups = bronze(spark, "scim_groups", [{"id": "g1", "displayName": "aws-prod-admin", "members": [{"value": "s-alice"}]},
                                           {"id": "g2", "displayName": "it-all", "members": [{"value": "s-alice"}]}])
    held = E.group_entitlements(groups, users, CFG)
    sso = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_abc"
    saml = json.dumps({"Statement": [{"Principal": {"Federated": "arn:aws:iam::111111111111:saml-provider/AWSSSO_okta"}}]})
    iam = bronze(spark, "aws_iam", [{"RoleDetailList": [
        {"RoleName": "AWSReservedSSO_AdministratorAccess_abc", "Arn": sso, "AssumeRolePolicyDocument": saml,
         "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess"}]},
        {"RoleName": "break-glass-admin", "Arn": "arn:aws:iam::111111111111:role/break-glass-admin",
         "AssumeRolePolicyDocument": json.dumps({"Statement": [{"Principal": {"AWS": sso}}]}),
         "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess"}]}]}])
    catalog = R.catalog_aliases(bronze(spark, "resource_catalog", [{"resource_id": "res-aws-prod", "name": "AWS prod (111111111111)",
                                                                     "owner_email": "o@example.com", "sensitivity": "critical",
                                                                     "access_path": "gateway"}]))
    ua = spark.createDataFrame([("email", ALICE, "directory_of_record", "scim_users", "usr_alice")], I.ALIASES_SCHEMA)
    held = held.withColumn("user_uid", F.lit("usr_alice")).unionByName(E.aws_entitlements(iam, held.withColumn("user_uid", F.lit("usr_alice")), ua, catalog, CFG))
    used = spark.createDataFrame([("usr_alice", "res-aws-prod", "AWSReservedSSO_AdministratorAccess_abc")],
                                 "user_uid string, resource_uid string, role_name string")
    snap = E.entitlements_snapshot(NIGHT, held, used, spark.createDataFrame([], E.ENTITLEMENTS_DDL), ua, CFG)
    got = {r.entitlement: r for r in snap.collect()}
    assert got["group:aws-prod-admin"].privileged and got["group:aws-prod-admin"].resource_uid == "res-aws-prod"
    assert got["group:it-all"].resource_uid is None and not got["group:it-all"].privileged
    ps = got["aws_permission_set:AdministratorAccess@res-aws-prod"]
    assert ps.via == "group:aws-prod-admin" and ps.last_used == NIGHT and ps.standing and not ps.just_in_time
    chain = got["aws_role:break-glass-admin"]
    assert chain.rule == "trust_policy_chain" and chain.privileged and chain.via == "trust_policy:AWSReservedSSO_AdministratorAccess_abc"
    assert chain.last_used is None and chain.granted_at == NIGHT and chain.email == ALICE


def test_nested_groups_grant_their_parents_entitlements_and_cycles_end(spark):
    from jobs.silver import entitlements as E

    users = bronze(spark, "scim_users", [scim_user("s-alice", ALICE, ALICE_OKTA)])
    grp = lambda gid, name, *members: {"id": gid, "displayName": name, "members": list(members)}  # noqa: E731
    groups = bronze(spark, "scim_groups", [
        grp("g1", "aws-prod-admin", {"value": "g2", "type": "Group"}),
        grp("g2", "oncall", {"value": "g3", "type": "Group"}, {"value": "g4", "type": "Group"}),
        grp("g3", "sre", {"value": "s-alice", "type": "User"}),
        grp("g4", "loop-a", {"value": "g5", "type": "Group"}),
        grp("g5", "loop-b", {"value": "g4", "type": "Group"}, {"value": "s-alice"}),
    ])
    got = {(r.entitlement, r.via, r.rule) for r in E.group_entitlements(groups, users, CFG).collect()}
    assert ("group:sre", "direct", "scim_group_member") in got
    # Two levels up: sre -> oncall -> aws-prod-admin, which provisions the AWS permission set.
    assert ("group:oncall", "group:sre", "scim_nested_group") in got
    assert ("group:aws-prod-admin", "group:sre", "scim_nested_group") in got
    assert ("aws_permission_set:AdministratorAccess@res-aws-prod", "group:aws-prod-admin", "group_provisions_permission_set") in got
    # The loop-a <-> loop-b cycle ends; alice is in loop-a through loop-b, and in oncall through both.
    assert ("group:loop-a", "group:loop-b", "scim_nested_group") in got
    assert ("group:loop-b", "direct", "scim_group_member") in got  # a direct membership wins over the cycle's
    # No group id ever becomes an identity.
    assert all(not e.startswith("group:g") for e, _, _ in got)

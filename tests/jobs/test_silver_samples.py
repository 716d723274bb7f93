"""The silver transforms on real third-party samples: every event of a silver class comes through,
none crashes the (ANSI) Spark plan, and with no directory loaded nothing is resolved by guesswork."""

import pytest
from pyspark.sql import functions as F

from jobs.landing import transform as T
from jobs.landing.files import list_files, read_records
from jobs.silver import devices as D
from jobs.silver import events as V
from jobs.silver.config import load
from jobs.sources import SOURCES
from tests.conftest import NIGHT, SAMPLES

CFG = load()
FILES = {
    "okta": ["okta/cribl_okta_system_log.jsonl", "okta/panther_fixtures_okta_system_log.jsonl"],
    "cloudtrail": ["cloudtrail/stratus_red_team_detonations.jsonl", "cloudtrail/s3_delivery_format"],
    "entra_signin": ["entra/cribl_graph_signins.jsonl", "entra/panther_fixtures_azure_signin_and_audit.jsonl"],
    "entra_audit": ["entra/panther_fixtures_azure_signin_and_audit.jsonl"],
    # Logons of every type, Kerberos tickets, an account-creating backdoor, and a Winlogbeat capture.
    "windows_security": [f"windows_security/otrf_mordor/{n}.security.json.gz" for n in (
        "defense_evasion__empire_wmic_add_user_backdoor_2020-09-14080546",
        "credential_access__empire_mimikatz_opth_2019-03-19131123.winlogbeat",
        "credential_access__empire_shell_rubeus_asktgt_ptt_2020-09-21223848",
        "credential_access__rdp_interactive_taskmanager_lsass_dump_2020-09-22043748")],
    "zeek_dns": ["zeek/wrccdc2018_dns.json.gz"],
    "edr_hosts": ["edr/crowdstrike_devices_api.jsonl", "edr/crowdstrike_fdr_aid_master.jsonl"],
}


@pytest.fixture(scope="module")
def samples_bronze(spark):
    if not (SAMPLES / "okta").is_dir():
        pytest.skip(f"shared vendor samples not found at {SAMPLES} (set ZTLAKE_SAMPLES)")
    out = {}
    for source, names in FILES.items():
        paths = sorted({p for n in names for p in ([f.path for f in list_files(spark, str(SAMPLES / n))]
                                                    if (SAMPLES / n).is_dir() else [str(SAMPLES / n)])})
        spec = SOURCES[source]
        records = read_records(spark, paths)
        if source == "zeek_dns":  # 53k lines: the first 3,000 exercise every shape at a fraction of the cost
            records = records.orderBy("_source_file", "_line").limit(3000)
        rows = T.bronze_rows(T.classify(records, spec, NIGHT, "t", 100000), spec)
        out[source] = rows.withColumn("source", F.lit(source)).localCheckpoint(eager=True)
    return out


def _empty(spark):
    users = spark.createDataFrame([], "alias_type string, alias_value string, rule string, source string, user_uid string")
    ents = spark.createDataFrame([], "alias_type string, alias_value string, entity_uid string, rule string")
    owners = spark.createDataFrame([], "device_uid string, owner_user_uid string")
    return users, ents, ents, owners


ALLOWED = {"unresolved", "no_identifier", "not_applicable", "no_device_owner", "uncatalogued"}


@pytest.mark.parametrize("table, builders", [
    ("authentication", [("okta", V.okta_authentication), ("entra_signin", V.entra_authentication),
                        ("windows_security", V.windows_authentication)]),
    ("api_activity", [("cloudtrail", V.cloudtrail_api_activity)]),
    ("changes", [("okta", V.okta_changes), ("entra_audit", V.entra_changes), ("windows_security", V.windows_changes),
                 ("cloudtrail", V.cloudtrail_changes)]),
    ("dns_activity", [("zeek_dns", V.zeek_dns_activity)]),
])
def test_sample_events_come_through_unguessed(spark, samples_bronze, table, builders):
    """Every event of the class comes through resolution exactly once, and nothing resolves
    without a directory or inventory."""
    columns = {"authentication": V.AUTHENTICATION, "api_activity": V.API_ACTIVITY, "changes": V.CHANGE,
               "dns_activity": V.DNS_ACTIVITY}[table]
    users, devices, resources, owners = _empty(spark)
    total = 0
    for source, build in builders:
        built = build(samples_bronze[source])
        expected = built.df.count()
        rows = V.finish(built, columns, users, devices, resources, owners).cache()
        assert rows.count() == expected, source  # resolution never drops or duplicates an event
        assert rows.where(F.col("user_uid").isNotNull() | F.col("device_uid").isNotNull()).count() == 0, source
        kinds = {r[0].split(":")[0] for r in rows.select("user_resolution").union(rows.select("device_resolution"))
                 .union(rows.select("resource_resolution")).distinct().collect()}
        assert kinds <= ALLOWED, (source, kinds)
        assert rows.where(F.col("time").isNull() | F.col("_event_id").isNull()).count() == 0
        total += expected
    assert total > 0
    if table == "api_activity":  # every CloudTrail record is API activity
        assert total == samples_bronze["cloudtrail"].count()
    if table == "dns_activity":
        assert total == samples_bronze["zeek_dns"].count()


def test_sample_entra_sign_ins_all_become_authentication(spark, samples_bronze):
    built = V.entra_authentication(samples_bronze["entra_signin"])
    assert built.df.count() == samples_bronze["entra_signin"].count() > 0
    factors = {r.mfa_factor for r in built.df.select("mfa_factor").distinct().collect()}
    assert factors  # real sign-ins name their factors (or null), and none crashes the plan


def test_sample_edr_hosts_become_devices_and_zeek_clients_are_ghosts_without_inventory(spark, samples_bronze):
    spec = SOURCES["intune_devices"]
    no_mdm = T.bronze_rows(T.classify(read_records(spark, []), spec, NIGHT, "t"), spec)
    inv = D.inventory(no_mdm, samples_bronze["edr_hosts"])
    rows = inv.collect()
    assert rows and all(r.edr_present and not r.managed for r in rows)
    assert len({r.device_uid for r in rows}) == len(rows)
    cands = D.ghost_candidates(samples_bronze["zeek_dns"], samples_bronze["zeek_dns"].limit(0), samples_bronze["windows_security"], CFG)
    ips = spark.createDataFrame([], "ip string, device_uid string, rule string, source string, _event_id string, date date")
    ghosts, _ = D.ghosts(NIGHT, cands, D.inventory_aliases(inv), ips)
    # With no inventory for that network, its internal clients are ghosts, each with its evidence.
    g = ghosts.collect()
    assert g and all(x.ghost_evidence_count >= 1 and x.ghost_evidence for x in g)

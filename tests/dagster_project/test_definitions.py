"""The Dagster code location loads, and its public surface changes only deliberately."""

from dagster import AssetKey, DailyPartitionsDefinition

from dagster_project.definitions import defs
from expectations.suites import load_thresholds
from ztlake.tables import NIGHTLY_JOB, NIGHTLY_SCHEDULE

# Renaming an asset (and so its table) is a breaking change: update this list deliberately.
BRONZE_KEYS = [
    f"bronze/{s}"
    for s in (
        "aws_iam", "cloudtrail", "data_access", "edr_hosts", "entra_audit", "entra_signin", "intune_devices", "okta", "okta_users",
        "resource_catalog", "scim_groups", "scim_users", "soc_cases", "threat_intel", "windows_security", "zeek_conn",
        "zeek_dns",
    )
]
SILVER_KEYS = [
    f"silver/{t}"
    for t in (
        "account_change", "api_activity", "authentication", "datastore_activity", "devices", "dns_activity",
        "entitlement_change", "entitlements", "identities", "network_activity", "resources", "threat_indicators",
    )
]
GOLD_KEYS = ["gold/identity_features_daily", "gold/identity_baselines", "gold/device_features_daily", "gold/peer_groups",
             "gold/peer_outliers", "gold/behaviour_scores", "gold/risk_scores", "gold/incidents", "gold/access_review_priorities",
             "gold/blast_radius", "gold/outcome_metrics"]
PUBLIC_ASSET_KEYS = sorted([*BRONZE_KEYS, *SILVER_KEYS, *GOLD_KEYS, "gold/nightly_publication", "reports/leadership_report"])


def test_definitions_load_with_the_public_asset_keys():
    keys = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())
    assert keys == PUBLIC_ASSET_KEYS


def test_nightly_job_is_daily_partitioned_and_runs_in_one_process():
    job = defs.resolve_job_def(NIGHTLY_JOB)
    assert isinstance(job.partitions_def, DailyPartitionsDefinition)
    assert job.executor_def.name == "in_process"  # one process, so one JVM per nightly run


def test_schedule_materializes_yesterdays_partition_at_night():
    schedule = defs.resolve_schedule_def(NIGHTLY_SCHEDULE)
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == NIGHTLY_JOB


def test_every_asset_has_a_business_description_and_its_gate():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and len(node.description) > 20, key
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert checks == {(k, "reconciles") for k in BRONZE_KEYS} | {(k, "joinability_gate") for k in SILVER_KEYS}


def test_publishing_depends_on_every_silver_table_and_gates_block_per_config():
    graph = defs.resolve_asset_graph()
    publish = graph.get(AssetKey(["gold", "nightly_publication"]))
    assert {k.to_user_string() for k in publish.parent_keys} == set(SILVER_KEYS)
    thresholds = load_thresholds()
    blocking = {c.asset_key.path[1]: graph.get_check_spec(c).blocking for c in graph.asset_check_keys if c.asset_key.path[0] == "silver"}
    assert blocking == {t: thresholds.blocking(t) for t in blocking}
    assert blocking["identities"] and blocking["authentication"] and not blocking["resources"]


def test_features_and_models_run_only_after_the_gated_silver_tables():
    graph = defs.resolve_asset_graph()
    def upstream(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(AssetKey.from_user_string(key)).parent_keys}
    assert {"silver/authentication", "silver/identities", "silver/devices", "silver/threat_indicators"} <= upstream(
        "gold/identity_features_daily")
    assert upstream("gold/behaviour_scores") == {"gold/identity_features_daily"}
    assert {"silver/entitlements", "gold/identity_features_daily"} <= upstream("gold/peer_outliers")
    assert {"gold/behaviour_scores", "gold/peer_outliers", "gold/device_features_daily"} <= upstream("gold/risk_scores")


def test_people_facing_tables_follow_the_gated_data_and_the_report_follows_publication():
    graph = defs.resolve_asset_graph()
    def upstream(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(AssetKey.from_user_string(key)).parent_keys}
    assert {"silver/entitlements", "silver/identities", "gold/peer_groups"} <= upstream("gold/access_review_priorities")
    assert {"silver/entitlements", "gold/device_features_daily"} <= upstream("gold/blast_radius")
    assert {"bronze/soc_cases", "gold/risk_scores", "gold/incidents", "gold/blast_radius"} <= upstream("gold/outcome_metrics")
    assert {"gold/outcome_metrics", "gold/nightly_publication", "gold/incidents"} <= upstream("reports/leadership_report")

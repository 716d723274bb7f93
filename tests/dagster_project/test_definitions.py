"""The Dagster code location loads, and its public surface changes only deliberately."""

from dagster import DailyPartitionsDefinition

from dagster_project.definitions import defs
from ztlake.tables import NIGHTLY_JOB, NIGHTLY_SCHEDULE

# Renaming an asset (and so its table) is a breaking change: update this list deliberately.
PUBLIC_ASSET_KEYS = sorted(
    f"bronze/{s}"
    for s in (
        "aws_iam", "cloudtrail", "data_access", "edr_hosts", "entra_audit", "entra_signin", "intune_devices", "okta",
        "resource_catalog", "scim_groups", "scim_users", "threat_intel", "windows_security", "zeek_conn", "zeek_dns",
    )
)


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


def test_every_asset_has_a_business_description_and_blocking_reconciliation_check():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and len(node.description) > 20, key
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert checks == {(k, "reconciles") for k in PUBLIC_ASSET_KEYS if k.startswith("bronze/")}

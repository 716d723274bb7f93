"""Silver IO: read one night's bronze (and the previous night's silver), run the pure transforms,
write the night's Delta partitions. One function per silver table; Dagster assets call these.

Incremental by construction: event tables read only the bronze rows landed tonight
(`_landing_date`), snapshot tables read tonight's snapshot partition plus the latest earlier
partition of their own table (found within a week, else by a scan of partition values).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from jobs.landing import transform as T
from jobs.landing.files import read_records
from jobs.silver import devices as D
from jobs.silver import entitlements as E
from jobs.silver import events as V
from jobs.silver import identities as I
from jobs.silver import resources as R
from jobs.silver.config import SilverConfig
from jobs.sources import SOURCES
from ztlake import delta_io
from ztlake.tables import Table, bronze, silver

EVENT_PARTITION = "event_date"
SNAPSHOT_PARTITION = "date"


@dataclass
class Night:
    spark: SparkSession
    lake: str
    night: dt.date
    cfg: SilverConfig
    _bronze: dict[str, DataFrame] = field(default_factory=dict)

    def bronze(self, source: str) -> DataFrame:
        """Tonight's bronze rows of a source (snapshots: tonight's state), with `source` set."""
        if source not in self._bronze:
            spec = SOURCES[source]
            path = bronze(source).path(self.lake)
            if delta_io.exists(self.spark, path):
                df = delta_io.read(self.spark, path)
                df = df.where(F.col("_event_date") == F.lit(self.night)) if spec.snapshot else df.where(
                    F.col("_landing_date") == F.lit(self.night))
            else:
                empty = read_records(self.spark, [])
                df = T.bronze_rows(T.classify(empty, spec, self.night, "", 2), spec)
            self._bronze[source] = df.withColumn("source", F.lit(source))
        return self._bronze[source]

    def latest_bronze_snapshot(self, source: str) -> DataFrame:
        """The newest snapshot at or before tonight (a catalog exported weekly still applies)."""
        path = bronze(source).path(self.lake)
        if not delta_io.exists(self.spark, path):
            return self.bronze(source)
        latest = _latest_partition(self.spark, path, "_event_date", self.night + dt.timedelta(days=1))
        if latest is None:
            return self.bronze(source)
        return delta_io.read(self.spark, path).where(F.col("_event_date") == F.lit(latest)).withColumn("source", F.lit(source))

    def silver(self, table: Table, partition: str = SNAPSHOT_PARTITION) -> DataFrame:
        return delta_io.read(self.spark, table.path(self.lake)).where(F.col(partition) == F.lit(self.night))

    def previous(self, table: Table, ddl: str | StructType) -> DataFrame:
        """The latest partition of a snapshot table before tonight (empty, with its schema, if none)."""
        path = table.path(self.lake)
        empty = self.spark.createDataFrame([], ddl)
        if not delta_io.exists(self.spark, path):
            return empty
        latest = _latest_partition(self.spark, path, SNAPSHOT_PARTITION, self.night)
        if latest is None:
            return empty
        return with_schema(delta_io.read(self.spark, path).where(F.col(SNAPSHOT_PARTITION) == F.lit(latest)), ddl)


def _latest_partition(spark: SparkSession, path: str, column: str, before: dt.date) -> dt.date | None:
    df = delta_io.read(spark, path)
    recent = df.where((F.col(column) < F.lit(before)) & (F.col(column) >= F.lit(before - dt.timedelta(days=7))))
    found = recent.agg(F.max(column)).first()
    if found and found[0] is not None:
        return found[0]
    found = df.where(F.col(column) < F.lit(before)).agg(F.max(column)).first()
    return found[0] if found else None


def with_schema(df: DataFrame, ddl: str | StructType) -> DataFrame:
    """`df` plus each column of the declared schema it lacks, as null: a column added to a table's
    definition after a partition was written reads as unknown."""
    schema = ddl if isinstance(ddl, StructType) else StructType.fromDDL(ddl)
    assert isinstance(schema, StructType)
    return df.select("*", *[F.lit(None).cast(f.dataType).alias(f.name) for f in schema.fields if f.name not in df.columns])


def conform(df: DataFrame, ddl: str | StructType) -> DataFrame:
    """Cast to the declared schema, in its column order (a table's schema is declared once)."""
    schema = ddl if isinstance(ddl, StructType) else StructType.fromDDL(ddl)
    assert isinstance(schema, StructType)
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


def write_snapshot(n: Night, table: Table, df: DataFrame) -> None:
    delta_io.replace_where(n.spark, df, table.path(n.lake), f"{SNAPSHOT_PARTITION} = {delta_io.lit_date(n.night)}",
                           [SNAPSHOT_PARTITION])


def write_events(n: Night, table: Table, df: DataFrame) -> None:
    """Tonight's landed events, partitioned by event date: a rerun replaces tonight's rows."""
    delta_io.replace_where(n.spark, df, table.path(n.lake), f"_landing_date = {delta_io.lit_date(n.night)}", [EVENT_PARTITION])


# --- snapshots -----------------------------------------------------------------------------------

IDENTITY_SOURCES = ("scim_users", "okta", "entra_signin", "entra_audit", "intune_devices", "windows_security", "cloudtrail", "aws_iam",
                    "okta_users")


def build_identities(n: Night) -> DataFrame:
    b = {s: n.bronze(s) for s in IDENTITY_SOURCES}
    people = I.directory_people(b["scim_users"])
    wl, svc = I.workloads(b["aws_iam"], people)
    prev = n.previous(silver("identities"), I.IDENTITIES_SCHEMA)
    aliases = I.all_aliases(I.tonight_aliases(b, people, wl, svc, n.cfg), prev).localCheckpoint()
    snap = I.identities_snapshot(n.night, people, wl, aliases, prev, I.lifecycle_targets(b, aliases), I.vouching(b, aliases), n.cfg,
                                 I.idp_last_logins(b["okta_users"], aliases))
    out = conform(snap, I.IDENTITIES_SCHEMA)
    write_snapshot(n, silver("identities"), out)
    return n.silver(silver("identities"))


def user_aliases(n: Night) -> DataFrame:
    return I.previous_aliases(n.silver(silver("identities")))


def resource_aliases(n: Night) -> DataFrame:
    return R.catalog_aliases(n.latest_bronze_snapshot("resource_catalog"))


def build_devices(n: Night) -> DataFrame:
    ua = user_aliases(n).localCheckpoint()
    inv = D.inventory(n.bronze("intune_devices"), n.bronze("edr_hosts")).localCheckpoint()
    inv_al = D.inventory_aliases(inv)
    idp, idp_al = D.idp_only_devices(D.idp_devices(n.bronze("okta"), n.bronze("entra_signin")), inv_al, ua)
    known = inv_al.unionByName(idp_al)
    ips = D.ip_map(n.night, inv, n.bronze("windows_security"), n.bronze("data_access"), known, n.cfg).localCheckpoint()
    servers = resource_aliases(n).where(F.col("alias_type") == "hostname")
    cands = D.ghost_candidates(n.bronze("zeek_dns"), n.bronze("zeek_conn"), n.bronze("windows_security"), n.cfg)
    # Only MDM/EDR devices (and catalogued servers) explain traffic: an IdP-only device on the LAN is a ghost.
    ghost, ghost_al = D.ghosts(n.night, cands, inv_al.unionByName(servers), ips)
    ghost_ips = ghost_al.where(F.col("alias_type") == "ip").select(
        F.lit(n.night).alias("date"), F.col("alias_value").alias("ip"), F.col("entity_uid").alias("device_uid"), "rule",
        F.lit(None).cast("string").alias("source"), F.lit(None).cast("string").alias("_event_id"))
    all_ips = conform(ips.unionByName(ghost_ips), D.IP_MAP_DDL)
    prev = n.previous(silver("devices"), D.DEVICES_DDL)
    snap = D.devices_snapshot(n.night, inv, idp, ghost, all_ips, prev, ua, n.cfg)
    write_snapshot(n, silver("device_ip_map"), all_ips)
    write_snapshot(n, silver("devices"), conform(snap, D.DEVICES_DDL))
    return n.silver(silver("devices"))


def device_aliases(n: Night) -> DataFrame:
    """Every identifier naming a device tonight, from tonight's devices snapshot (IPs: tonight's map)."""
    devs = n.silver(silver("devices")).where(F.col("seen_tonight"))
    def part(alias_type: str, col: str, rule: str | None = None, array: bool = True) -> DataFrame:
        value = F.explode(col) if array else F.col(col)
        rule_col = F.lit(rule) if rule else F.when(F.col("ghost"), F.lit("ghost")).otherwise(F.lit(alias_type))
        return devs.select(F.lit(alias_type).alias("alias_type"), value.alias("alias_value"), F.col("device_uid").alias("entity_uid"),
                           rule_col.alias("rule"))
    ip = n.silver(silver("device_ip_map")).select(F.lit("ip").alias("alias_type"), F.col("ip").alias("alias_value"),
                                                  F.col("device_uid").alias("entity_uid"), "rule")
    out = (part("hostname", "hostnames").unionByName(part("serial", "serials")).unionByName(part("mac", "macs"))
           .unionByName(part("entra_device_id", "entra_device_ids")).unionByName(part("okta_device_id", "okta_device_ids"))
           .unionByName(part("intune_id", "intune_id", array=False)).unionByName(part("edr_aid", "edr_aid", array=False))
           .unionByName(ip))
    return out.where(F.col("alias_value").isNotNull()).distinct()


# --- events ----------------------------------------------------------------------------------------

EVENT_TABLES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    # table -> (columns, ((source, builder name), ...))
    "authentication": (V.AUTHENTICATION, (("okta", "okta_authentication"), ("entra_signin", "entra_authentication"),
                                          ("windows_security", "windows_authentication"))),
    "api_activity": (V.API_ACTIVITY, (("cloudtrail", "cloudtrail_api_activity"),)),
    "account_change": (V.CHANGE, (("okta", "okta_changes"), ("entra_audit", "entra_changes"),
                                  ("windows_security", "windows_changes"), ("cloudtrail", "cloudtrail_changes"))),
    "entitlement_change": (V.CHANGE, (("okta", "okta_changes"), ("entra_audit", "entra_changes"),
                                      ("windows_security", "windows_changes"), ("cloudtrail", "cloudtrail_changes"))),
    "dns_activity": (V.DNS_ACTIVITY, (("zeek_dns", "zeek_dns_activity"),)),
    "network_activity": (V.NETWORK_ACTIVITY, (("zeek_conn", "zeek_network_activity"),)),
    "datastore_activity": (V.DATASTORE_ACTIVITY, (("data_access", "datastore_activity"),)),
}
CHANGE_SPLIT = {"account_change": "account", "entitlement_change": "entitlement"}


def event_sources(table: str) -> tuple[str, ...]:
    return tuple(s for s, _ in EVENT_TABLES[table][1])


def build_events(n: Night, table: str) -> DataFrame:
    columns, builders = EVENT_TABLES[table]
    ua = user_aliases(n).localCheckpoint()
    da = device_aliases(n).localCheckpoint()
    ra = resource_aliases(n).localCheckpoint()
    owners = n.silver(silver("devices")).select("device_uid", "owner_user_uid")
    out: DataFrame | None = None
    for source, builder in builders:
        built = getattr(V, builder)(n.bronze(source))
        rows = V.finish(built, columns, ua, da, ra, owners)
        if table in CHANGE_SPLIT:
            rows = V.split_changes(rows, CHANGE_SPLIT[table])
        out = rows if out is None else out.unionByName(rows)
    assert out is not None
    write_events(n, silver(table), out.withColumn("_config_version", F.lit(n.cfg.version)))
    return delta_io.read(n.spark, silver(table).path(n.lake)).where(F.col("_landing_date") == F.lit(n.night))


# --- entitlements, resources, threat indicators -----------------------------------------------------

def tonight_events(n: Night, table: str) -> DataFrame:
    path = silver(table).path(n.lake)
    if not delta_io.exists(n.spark, path):
        raise FileNotFoundError(f"silver table {table} is missing at {path}: materialize it first")
    return delta_io.read(n.spark, path).where(F.col("_landing_date") == F.lit(n.night))


def build_entitlements(n: Night) -> DataFrame:
    ua = user_aliases(n).localCheckpoint()
    ra = resource_aliases(n)
    groups = E.group_entitlements(n.bronze("scim_groups"), n.bronze("scim_users"), n.cfg).localCheckpoint()
    held = groups.unionByName(E.aws_entitlements(n.bronze("aws_iam"), groups, ua, ra, n.cfg))
    used = E.usage(tonight_events(n, "authentication"), tonight_events(n, "api_activity"), tonight_events(n, "datastore_activity"))
    prev = n.previous(silver("entitlements"), E.ENTITLEMENTS_DDL)
    snap = E.entitlements_snapshot(n.night, held, used, prev, ua, n.cfg)
    write_snapshot(n, silver("entitlements"), conform(snap, E.ENTITLEMENTS_DDL))
    return n.silver(silver("entitlements"))


RESOURCE_EVENT_TABLES = ("authentication", "api_activity", "account_change", "entitlement_change", "datastore_activity")


def build_resources(n: Night) -> DataFrame:
    seen = None
    for table in RESOURCE_EVENT_TABLES:
        part = tonight_events(n, table).where(F.col("resource_uid").isNotNull()).select(
            "resource_uid", F.lit(None).cast("string").alias("name"), F.lit(None).cast("string").alias("type"), F.lit(table).alias("table"))
        seen = part if seen is None else seen.unionByName(part)
    assert seen is not None
    prev = n.previous(silver("resources"), R.RESOURCES_DDL)
    snap = R.resources_snapshot(n.night, n.latest_bronze_snapshot("resource_catalog"), seen.distinct(), prev, n.cfg)
    write_snapshot(n, silver("resources"), conform(snap, R.RESOURCES_DDL))
    return n.silver(silver("resources"))


def build_threat_indicators(n: Night) -> DataFrame:
    prev = n.previous(silver("threat_indicators"), R.THREAT_DDL)
    snap = R.threat_snapshot(n.night, n.bronze("threat_intel"), prev)
    write_snapshot(n, silver("threat_indicators"), conform(snap, R.THREAT_DDL))
    return n.silver(silver("threat_indicators"))

"""Silver IO: read one night's bronze (and the previous night's silver), run the pure transforms,
write the night's Delta partitions. One function per silver table; Dagster assets call these.

Incremental by construction: event tables read only the bronze rows landed tonight
(`_landing_date`), snapshot tables read tonight's snapshot partition plus the latest earlier
partition of their own table (found within a week, else by a scan of partition values).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

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
from ztlake.tables import SILVER_EVENT_TABLES, Table, bronze, silver

EVENT_PARTITION = "event_date"
SNAPSHOT_PARTITION = "date"


@dataclass
class Night:
    """One night of one lake, shared by every layer of a run.

    `frames` holds tonight's rows of the tables this run already built and materialized (a layer
    registers them with `keep`), so later layers read those rows instead of scanning Delta again;
    `memo` holds what a run reads once (the policy in force, say)."""

    spark: SparkSession
    lake: str
    night: dt.date
    cfg: SilverConfig
    _bronze: dict[str, DataFrame] = field(default_factory=dict)
    frames: dict[Table, DataFrame] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)

    def keep(self, table: Table, df: DataFrame) -> DataFrame:
        """Register tonight's materialized rows of `table` (as written) for the rest of the run."""
        self.frames[table] = df
        return df

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
                df = T.bronze_rows(T.empty_classified(read_records(self.spark, []), spec, self.night), spec)
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
        """Tonight's partition of a snapshot table (of any layer)."""
        if table in self.frames:
            return self.frames[table]
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


def resource_aliases(n: Night) -> DataFrame:
    return R.catalog_aliases(n.latest_bronze_snapshot("resource_catalog"))


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


# --- entitlements, resources, threat indicators -----------------------------------------------------

def tonight_events(n: Night, table: str) -> DataFrame:
    """Tonight's landed rows of a silver event table."""
    if silver(table) in n.frames:
        return n.frames[silver(table)]
    path = silver(table).path(n.lake)
    if not delta_io.exists(n.spark, path):
        raise FileNotFoundError(f"silver table {table} is missing at {path}: materialize it first")
    return delta_io.read(n.spark, path).where(F.col("_landing_date") == F.lit(n.night))


RESOURCE_EVENT_TABLES = ("authentication", "api_activity", "account_change", "entitlement_change", "datastore_activity")


# --- the whole layer, as one plan ---------------------------------------------------------------------

# What each silver table is built from, among the silver tables: a table whose blocking gate failed
# stops every table that depends on it (and so everything downstream of those).
SILVER_DEPENDS: dict[str, tuple[str, ...]] = {
    "threat_indicators": (),
    "identities": (),
    "devices": ("identities",),
    **{t: ("identities", "devices") for t in EVENT_TABLES},
    "entitlements": ("identities", "authentication", "api_activity", "datastore_activity"),
    "resources": RESOURCE_EVENT_TABLES,
}
WRITERS = 2  # silver tables written side by side (each to its own table)
SILVER_ORDER = ("threat_indicators", "identities", "devices", *EVENT_TABLES, "entitlements", "resources")


def materialize(df: DataFrame) -> DataFrame:
    """Materialize once: the write, the gate, the metadata and every dependent table read these rows."""
    return df.localCheckpoint(eager=True)


def build_silver(n: Night, selected: Collection[str], gate: Callable[[str, DataFrame], bool]) -> dict[str, DataFrame]:
    """Build, write and gate the night's silver tables in dependency order, sharing every frame.

    `gate(table, rows)` validates a table's rows and returns False when its blocking gate failed;
    the tables that depend on it are then not built. Tables not in `selected` are read from the
    lake (an earlier run built them). Writes to different tables run beside the builds and gates
    (on a small pool); all are done when this returns. Returns the rows of each table built tonight."""
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="silver-write") as pool:
        writes: list[Future[None]] = []
        built = _build_silver(n, selected, gate, lambda write, df: writes.append(pool.submit(write, df)))
        for w in writes:
            w.result()  # every table is written before the layer reports it
    return built


def _build_silver(n: Night, selected: Collection[str], gate: Callable[[str, DataFrame], bool],
                  submit: Callable[[Callable[[DataFrame], None], DataFrame], None]) -> dict[str, DataFrame]:
    built: dict[str, DataFrame] = {}
    stopped: set[str] = set()

    def rows(table: str) -> DataFrame:
        if table in built:
            return built[table]
        if table in SILVER_EVENT_TABLES:
            return tonight_events(n, table)
        return n.silver(silver(table))

    def publish(table: str, df: DataFrame, write: Callable[[DataFrame], None]) -> None:
        df = materialize(df)
        submit(write, df)  # the write overlaps the gate and the next table's build
        built[table] = n.keep(silver(table), df)
        if not gate(table, df):
            stopped.add(table)

    def wanted(table: str) -> bool:
        return table in selected and not any(d in stopped or (d in selected and d not in built) for d in SILVER_DEPENDS[table])

    if wanted("threat_indicators"):
        prev = n.previous(silver("threat_indicators"), R.THREAT_DDL)
        snap = conform(R.threat_snapshot(n.night, n.bronze("threat_intel"), prev), R.THREAT_DDL)
        publish("threat_indicators", snap, lambda df: write_snapshot(n, silver("threat_indicators"), df))
    if wanted("identities"):
        publish("identities", _identities(n), lambda df: write_snapshot(n, silver("identities"), df))
    # The catalog's aliases: read once, used by devices (servers), the event tables and entitlements.
    ra = resource_aliases(n).localCheckpoint() if any(wanted(t) for t in ("devices", *EVENT_TABLES, "entitlements")) else None
    ua = I.previous_aliases(rows("identities")).localCheckpoint() if any(
        wanted(t) for t in ("devices", *EVENT_TABLES, "entitlements")) else None
    if wanted("devices"):
        assert ua is not None
        assert ra is not None
        devices, ips = _devices(n, ua, ra)
        ips = materialize(ips)
        submit(lambda df: write_snapshot(n, silver("device_ip_map"), df), ips)
        built["device_ip_map"] = n.keep(silver("device_ip_map"), ips)
        publish("devices", devices, lambda df: write_snapshot(n, silver("devices"), df))
    events = [t for t in EVENT_TABLES if wanted(t)]
    if events:
        assert ua is not None
        devs = rows("devices")
        ips = built.get("device_ip_map") or n.silver(silver("device_ip_map"))
        assert ra is not None
        shared = (ua, _device_aliases(devs, ips).localCheckpoint(), ra,
                  devs.select("device_uid", "owner_user_uid"))
        changes = None
        if any(t in CHANGE_SPLIT for t in events):
            # The account and entitlement change tables come from the same four builders: run them once.
            changes = materialize(_event_rows(n, EVENT_TABLES["account_change"], *shared))
        for table in events:
            columns, builders = EVENT_TABLES[table]
            df = V.split_changes(changes, CHANGE_SPLIT[table]) if changes is not None and table in CHANGE_SPLIT else \
                _event_rows(n, (columns, builders), *shared)
            publish(table, df.withColumn("_config_version", F.lit(n.cfg.version)),
                    lambda df, t=table: write_events(n, silver(t), df))  # type: ignore[misc]
    if wanted("entitlements"):
        assert ua is not None
        assert ra is not None
        publish("entitlements", _entitlements(n, ua, ra, rows("authentication"), rows("api_activity"), rows("datastore_activity")),
                lambda df: write_snapshot(n, silver("entitlements"), df))
    if wanted("resources"):
        seen = None
        for table in RESOURCE_EVENT_TABLES:
            part = rows(table).where(F.col("resource_uid").isNotNull()).select(
                "resource_uid", F.lit(None).cast("string").alias("name"), F.lit(None).cast("string").alias("type"),
                F.lit(table).alias("table"))
            seen = part if seen is None else seen.unionByName(part)
        assert seen is not None
        prev = n.previous(silver("resources"), R.RESOURCES_DDL)
        snap = R.resources_snapshot(n.night, n.latest_bronze_snapshot("resource_catalog"), seen.distinct(), prev, n.cfg)
        publish("resources", conform(snap, R.RESOURCES_DDL), lambda df: write_snapshot(n, silver("resources"), df))
    built.pop("device_ip_map", None)
    return built


def _identities(n: Night) -> DataFrame:
    b = {s: n.bronze(s) for s in IDENTITY_SOURCES}
    people = I.directory_people(b["scim_users"])
    wl, svc = I.workloads(b["aws_iam"], people)
    prev = n.previous(silver("identities"), I.IDENTITIES_SCHEMA)
    aliases = I.all_aliases(I.tonight_aliases(b, people, wl, svc, n.cfg), prev).localCheckpoint()
    snap = I.identities_snapshot(n.night, people, wl, aliases, prev, I.lifecycle_targets(b, aliases), I.vouching(b, aliases), n.cfg,
                                 I.idp_last_logins(b["okta_users"], aliases))
    return conform(snap, I.IDENTITIES_SCHEMA)


def _devices(n: Night, ua: DataFrame, ra: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Tonight's devices snapshot and the IP map (written to silver/device_ip_map)."""
    inv = D.inventory(n.bronze("intune_devices"), n.bronze("edr_hosts")).localCheckpoint()
    inv_al = D.inventory_aliases(inv)
    idp, idp_al = D.idp_only_devices(D.idp_devices(n.bronze("okta"), n.bronze("entra_signin")), inv_al, ua)
    known = inv_al.unionByName(idp_al)
    ips = D.ip_map(n.night, inv, n.bronze("windows_security"), n.bronze("data_access"), known, n.cfg).localCheckpoint()
    servers = ra.where(F.col("alias_type") == "hostname")
    cands = D.ghost_candidates(n.bronze("zeek_dns"), n.bronze("zeek_conn"), n.bronze("windows_security"), n.cfg)
    # Only MDM/EDR devices (and catalogued servers) explain traffic: an IdP-only device on the LAN is a ghost.
    ghost, ghost_al = D.ghosts(n.night, cands, inv_al.unionByName(servers), ips)
    ghost_ips = ghost_al.where(F.col("alias_type") == "ip").select(
        F.lit(n.night).alias("date"), F.col("alias_value").alias("ip"), F.col("entity_uid").alias("device_uid"), "rule",
        F.lit(None).cast("string").alias("source"), F.lit(None).cast("string").alias("_event_id"))
    all_ips = conform(ips.unionByName(ghost_ips), D.IP_MAP_DDL)
    prev = n.previous(silver("devices"), D.DEVICES_DDL)
    snap = D.devices_snapshot(n.night, inv, idp, ghost, all_ips, prev, ua, n.cfg)
    return conform(snap, D.DEVICES_DDL), all_ips


def _device_aliases(devices: DataFrame, ip_map: DataFrame) -> DataFrame:
    """Every identifier naming a device tonight, from tonight's devices snapshot (IPs: tonight's map)."""
    devs = devices.where(F.col("seen_tonight"))

    def part(alias_type: str, col: str, rule: str | None = None, array: bool = True) -> DataFrame:
        value = F.explode(col) if array else F.col(col)
        rule_col = F.lit(rule) if rule else F.when(F.col("ghost"), F.lit("ghost")).otherwise(F.lit(alias_type))
        return devs.select(F.lit(alias_type).alias("alias_type"), value.alias("alias_value"), F.col("device_uid").alias("entity_uid"),
                           rule_col.alias("rule"))
    ip = ip_map.select(F.lit("ip").alias("alias_type"), F.col("ip").alias("alias_value"), F.col("device_uid").alias("entity_uid"),
                       "rule")
    out = (part("hostname", "hostnames").unionByName(part("serial", "serials")).unionByName(part("mac", "macs"))
           .unionByName(part("entra_device_id", "entra_device_ids")).unionByName(part("okta_device_id", "okta_device_ids"))
           .unionByName(part("intune_id", "intune_id", array=False)).unionByName(part("edr_aid", "edr_aid", array=False))
           .unionByName(ip))
    return out.where(F.col("alias_value").isNotNull()).distinct()


def _event_rows(n: Night, table_def: tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ua: DataFrame, da: DataFrame,
                ra: DataFrame, owners: DataFrame) -> DataFrame:
    columns, builders = table_def
    out: DataFrame | None = None
    for source, builder in builders:
        rows = V.finish(getattr(V, builder)(n.bronze(source)), columns, ua, da, ra, owners)
        out = rows if out is None else out.unionByName(rows)
    assert out is not None
    return out


def _entitlements(n: Night, ua: DataFrame, ra: DataFrame, auth: DataFrame, api: DataFrame, store: DataFrame) -> DataFrame:
    groups = E.group_entitlements(n.bronze("scim_groups"), n.bronze("scim_users"), n.cfg).localCheckpoint()
    held = groups.unionByName(E.aws_entitlements(n.bronze("aws_iam"), groups, ua, ra, n.cfg))
    used = E.usage(auth, api, store)
    prev = n.previous(silver("entitlements"), E.ENTITLEMENTS_DDL)
    return conform(E.entitlements_snapshot(n.night, held, used, prev, ua, n.cfg), E.ENTITLEMENTS_DDL)

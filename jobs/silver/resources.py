"""Resources (the catalog, plus what activity touches that the catalog lacks) and the threat
indicators active on each date."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver.common import norm_text, short_host, stable_key
from jobs.silver.config import SilverConfig

RESOURCES_DDL = (
    "date date, resource_uid string, name string, type string, owner_email string, sensitivity string, access_path string, "
    "data_classification string, in_catalog boolean, first_seen_date date, last_seen_date date, seen_in array<string>, "
    "_config_version string"
)
RESOURCE_COLUMNS = (
    "date", "resource_uid", "name", "type", "owner_email", "sensitivity", "access_path", "data_classification",
    "in_catalog", "first_seen_date", "last_seen_date", "seen_in", "_config_version",
)


def catalog_aliases(catalog: DataFrame) -> DataFrame:
    """(alias_type, alias_value, entity_uid, rule): a catalog entry is named by its id, its name, the
    host its name is (`fs01.corp.example.com` -> FS01), and the cloud account id in its name."""
    rid = F.lower(F.trim("resource_id"))

    def part(alias_type: str, value: Column, rule: str) -> DataFrame:
        return catalog.select(F.lit(alias_type).alias("alias_type"), value.alias("alias_value"),
                              rid.alias("entity_uid"), F.lit(rule).alias("rule")).where(F.col("alias_value").isNotNull())

    name = norm_text(F.col("name"))
    hostlike = name.rlike(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
    return (
        part("resource_id", rid, "catalog_id")
        .unionByName(part("name", F.lower(name), "catalog_name"))
        .unionByName(part("hostname", F.when(hostlike, short_host(name)), "catalog_host"))
        .unionByName(part("aws_account", F.nullif(F.regexp_extract(name, r"\((\d{12})\)", 1), F.lit("")), "catalog_cloud_account"))
        .distinct()
    )


def uncatalogued_uid(kind: Column, value: Column) -> Column:
    """The key of a resource activity names but the catalog lacks: stable across nights."""
    return stable_key("res", kind, F.lower(value))


def resources_snapshot(night: dt.date, catalog: DataFrame, seen: DataFrame, prev: DataFrame, cfg: SilverConfig) -> DataFrame:
    """Tonight's catalog, plus every resource tonight's activity named that the catalog lacks
    (`in_catalog = false`), plus what earlier nights knew. `seen` is (resource_uid, name, type, table)."""
    d = F.lit(night)
    lower = lambda c: F.lower(F.trim(c))  # noqa: E731
    cat = catalog.select(
        lower("resource_id").alias("resource_uid"), norm_text(F.col("name")).alias("name"), lower("type").alias("type"),
        F.lower(norm_text(F.col("owner_email"))).alias("owner_email"), lower("sensitivity").alias("sensitivity"),
        lower("access_path").alias("access_path"), lower("data_classification").alias("data_classification"),
        F.lit(True).alias("in_catalog"),
    ).dropDuplicates(["resource_uid"])
    used = seen.groupBy("resource_uid").agg(
        F.first("name", ignorenulls=True).alias("s_name"), F.first("type", ignorenulls=True).alias("s_type"),
        F.array_sort(F.collect_set("table")).alias("seen_in"),
    )
    tonight = cat.join(used, "resource_uid", "full_outer").select(
        "resource_uid", F.coalesce("name", "s_name").alias("name"), F.coalesce("type", "s_type").alias("type"),
        "owner_email", "sensitivity", "access_path", "data_classification",
        F.coalesce("in_catalog", F.lit(False)).alias("in_catalog"),
        F.coalesce("seen_in", F.array().cast("array<string>")).alias("seen_in"),
    )
    p = prev.select(*[F.col(c).alias("p_" + c) for c in prev.columns])
    j = tonight.withColumn("_here", F.lit(True)).join(p, tonight["resource_uid"] == p["p_resource_uid"], "full_outer")
    here = F.col("_here").isNotNull()
    cols = ("name", "type", "owner_email", "sensitivity", "access_path", "data_classification", "in_catalog", "seen_in")
    return j.select(
        d.alias("date"), F.coalesce("resource_uid", "p_resource_uid").alias("resource_uid"),
        *[F.when(here, F.col(c)).otherwise(F.col("p_" + c)).alias(c) for c in cols],
        F.coalesce("p_first_seen_date", d).alias("first_seen_date"),
        F.when(here, d).otherwise(F.col("p_last_seen_date")).alias("last_seen_date"),
        F.lit(cfg.version).alias("_config_version"),
    ).select(*RESOURCE_COLUMNS)


# STIX comparison expressions this product matches against telemetry.
INDICATOR_PATTERN = r"(ipv4-addr|ipv6-addr|domain-name|url|email-addr):value\s*=\s*'([^']+)'"
THREAT_DDL = (
    "date date, indicator_uid string, indicator_type string, value string, name string, labels array<string>, confidence int, "
    "valid_from timestamp, valid_until timestamp, revoked boolean, active boolean, modified timestamp, pattern string, "
    "_event_id string"
)
THREAT_COLUMNS = (
    "date", "indicator_uid", "indicator_type", "value", "name", "labels", "confidence", "valid_from", "valid_until",
    "revoked", "active", "modified", "pattern", "_event_id",
)


def threat_snapshot(night: dt.date, stix: DataFrame, prev: DataFrame) -> DataFrame:
    """Every indicator known by tonight (its latest version), with `active` on this date: valid
    from before the night's end, not yet expired, not revoked. One row per (indicator, observable)."""
    start = F.lit(dt.datetime.combine(night, dt.time())).cast("timestamp")
    end = F.lit(dt.datetime.combine(night + dt.timedelta(days=1), dt.time())).cast("timestamp")
    ind = stix.where(F.lower("type") == "indicator").select(
        F.col("id").alias("indicator_uid"), "name", "labels", "confidence", "pattern", "_event_id",
        F.try_to_timestamp("valid_from").alias("valid_from"), F.try_to_timestamp("valid_until").alias("valid_until"),
        F.coalesce("revoked", F.lit(False)).alias("revoked"), F.try_to_timestamp("modified").alias("modified"),
    )
    obs = ind.select("*", F.explode(F.regexp_extract_all("pattern", F.lit(INDICATOR_PATTERN), 0)).alias("cmp")).select(
        "*", F.regexp_extract("cmp", INDICATOR_PATTERN, 1).alias("indicator_type"),
        F.lower(F.regexp_extract("cmp", INDICATOR_PATTERN, 2)).alias("value"),
    ).drop("cmp")
    known = prev.drop("date", "active")
    both = obs.select(*known.columns).unionByName(known)
    latest = both.groupBy("indicator_uid", "indicator_type", "value").agg(
        F.max_by(F.struct(*[c for c in known.columns if c not in ("indicator_uid", "indicator_type", "value")]), "modified").alias("v")
    ).select("indicator_uid", "indicator_type", "value", "v.*")
    active = (F.col("valid_from").isNull() | (F.col("valid_from") < end)) & (
        F.col("valid_until").isNull() | (F.col("valid_until") > start)) & ~F.col("revoked")
    return latest.select(F.lit(night).alias("date"), "*", active.alias("active")).select(*THREAT_COLUMNS)

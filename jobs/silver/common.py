"""Column helpers shared by every silver transform: normalization of identifiers, IPv4 ranges,
hashing into stable keys, and the resolver that links events to entities through alias tables.

Everything here is pure: Columns and DataFrames in, Columns and DataFrames out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Columns every silver event row carries from bronze (lineage).
LINEAGE = ("source", "_event_id", "_landing_date")


def norm_email(c: Column) -> Column:
    """Emails, UPNs and logins compare case-insensitively, trimmed; empty is null."""
    v = F.lower(F.trim(c))
    return F.when(F.instr(v, "@") > 1, v)


def norm_text(c: Column) -> Column:
    v = F.trim(c)
    return F.when((v != "") & (v != "-") & (F.lower(v) != "null"), v)


def short_host(c: Column) -> Column:
    """`LT-ABC00012-0.corp.example.com` and `lt-abc00012-0` are one host: upper-cased first label.
    IP addresses are not host names."""
    v = norm_text(c)
    label = F.upper(F.split(v, r"\.").getItem(0))
    return F.when(v.isNotNull() & ~v.rlike(r"^\d{1,3}(\.\d{1,3}){3}$") & ~v.contains(":"), label)


def norm_mac(c: Column) -> Column:
    """`aa:bb:cc:dd:ee:ff`, `AA-BB-…` and `AABBCC…` are one address: 12 upper-case hex digits."""
    v = F.upper(F.regexp_replace(c, r"[^0-9A-Fa-f]", ""))
    return F.when(F.length(v) == 12, v)


def norm_serial(c: Column) -> Column:
    v = F.upper(norm_text(c))
    return F.when(v.isNotNull() & ~v.isin("0", "UNKNOWN", "DEFAULT STRING", "TO BE FILLED BY O.E.M."), v)


def ipv4_long(c: Column) -> Column:
    parts = F.split(c, r"\.")
    ok = c.rlike(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
    value = F.lit(0).cast("long")
    for i in range(4):
        value = value * 256 + F.try_element_at(parts, F.lit(i + 1)).try_cast("long")
    return F.when(ok, value)


def in_cidrs(ip: Column, cidrs: Sequence[str]) -> Column:
    """True when an IPv4 address lies in one of `cidrs` (false for IPv6 and junk)."""
    n = ipv4_long(F.trim(ip))
    cond = F.lit(False)
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.version != 4:
            continue
        cond = cond | n.between(int(net.network_address), int(net.broadcast_address))
    return F.coalesce(cond & n.isNotNull(), F.lit(False))


def stable_key(prefix: str, *parts: Column) -> Column:
    """A short, stable, opaque key from normalized parts: `<prefix>_<16 hex>`."""
    return F.concat(F.lit(prefix + "_"), F.substring(F.sha2(F.concat_ws("|", *parts), 256), 1, 16))


@dataclass(frozen=True)
class Candidate:
    """One way an event may name an entity: the alias type it would match, and its value."""

    alias_type: str
    value: Column


def resolve(
    events: DataFrame,
    candidates: Sequence[Candidate],
    aliases: DataFrame,
    prefix: str,
    key: Sequence[str] = ("source", "_event_id"),
    entity_col: str = "entity_uid",
) -> DataFrame:
    """Link each event to an entity through `aliases` (alias_type, alias_value, entity_uid, rule).

    Candidates are tried in order; the first one whose alias names exactly one entity wins and
    its rule is recorded in `<prefix>_resolution`. An alias naming several entities is ambiguous:
    it never wins, and when nothing else does the event says `ambiguous:<alias_type>`. Events
    naming nothing that matches say `unresolved`, and those naming nothing at all say
    `no_identifier`. Nothing is guessed.
    """
    key = list(key)
    # `events` is read twice below (its candidates, then the join back): materialize it, or every
    # resolve chained after another doubles the plan of everything before it.
    events = events.localCheckpoint()
    if entity_col not in aliases.columns:
        aliases = aliases.withColumnRenamed("user_uid", entity_col)
    if not candidates:
        return events.withColumn(f"{prefix}_uid", F.lit(None).cast("string")).withColumn(
            f"{prefix}_resolution", F.lit("not_applicable")
        )
    tried = F.array(
        *[
            F.struct(F.lit(i).alias("priority"), F.lit(c.alias_type).alias("alias_type"), c.value.cast("string").alias("alias_value"))
            for i, c in enumerate(candidates)
        ]
    )
    cand = (
        events.select(*key, F.explode(tried).alias("c"))
        .select(*key, "c.*")
        .where(F.col("alias_value").isNotNull())
    )
    per_alias = aliases.groupBy("alias_type", "alias_value").agg(
        F.countDistinct(entity_col).alias("n_entities"),
        F.min(entity_col).alias("entity"),
        F.min("rule").alias("rule"),
    )
    matched = cand.join(per_alias, ["alias_type", "alias_value"], "left")
    ranked = matched.groupBy(*key).agg(
        F.min_by(
            F.struct("entity", "rule", "alias_type"),
            F.when(F.col("n_entities") == 1, F.col("priority")),
        ).alias("won"),
        F.min_by("alias_type", F.when(F.col("n_entities") > 1, F.col("priority"))).alias("ambiguous_type"),
    )
    won = F.col("won")
    won_ok = won.isNotNull() & won.getField("entity").isNotNull()
    out = events.join(ranked, key, "left")
    return out.select(
        *[F.col(c) for c in events.columns],
        F.when(won_ok, won.getField("entity")).alias(f"{prefix}_uid"),
        F.when(won_ok, F.concat(won.getField("rule"), F.lit(":"), won.getField("alias_type")))
        .when(F.col("ambiguous_type").isNotNull(), F.concat(F.lit("ambiguous:"), F.col("ambiguous_type")))
        .when(~F.exists(tried, lambda c: c.getField("alias_value").isNotNull()), F.lit("no_identifier"))
        .otherwise(F.lit("unresolved"))
        .alias(f"{prefix}_resolution"),
    )

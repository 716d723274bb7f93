"""Device reconciliation: one row per real device across Intune, CrowdStrike, Entra, Okta and
Windows, an IP-to-device map for the night, and ghost devices.

| rule | links |
|---|---|
| `serial` | an EDR host to the Intune device with the same serial number |
| `hostname` | an EDR host (no serial match) or an IdP device to the inventory device with that host name |
| `entra_device_id` | an Entra sign-in's `deviceDetail.deviceId` to the Intune device's `azureADDeviceId` |
| `idp_only` | a device the identity provider reports (Okta `device`, Entra `deviceDetail`) that no MDM or EDR knows |
| `edr_local_ip` | an internal IP to the device whose EDR sensor reported it that night |
| `windows_local_logon` | an internal IP to the host that logged an interactive logon from it (logon types 2, 7, 11) |
| `windows_network_logon_client` | an internal IP to the workstation a network logon (type 3) names |
| `datastore_client_host` | an internal IP to the host a data-access event names with it |
| `ghost` | an internal IP or host name seen in DNS, network or Windows authentication traffic that matches no MDM or EDR record (nor a catalogued server) |

The device key is derived from its strongest identifier, in order: serial number, Entra device id,
EDR agent id, Intune id, Okta device id, host name. The IP map is valid for one night (DHCP leases
change between days): an address that maps to two devices in one night is ambiguous and resolves
to neither.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType
from pyspark.sql.window import Window

from jobs.silver.common import (
    Candidate,
    in_cidrs,
    norm_email,
    norm_mac,
    norm_serial,
    norm_text,
    resolve,
    short_host,
    stable_key,
)
from jobs.silver.config import SilverConfig

EVIDENCE = StructType(
    [StructField("source", StringType()), StructField("_event_id", StringType()), StructField("observed", StringType()),
     StructField("value", StringType())]
)
DESKTOP_OS = ("windows", "macos", "mac", "linux")
LOCAL_LOGON_TYPES = (2, 7, 11)
MAX_EVIDENCE = 50


def _arr(*cols: Column) -> Column:
    return F.array_distinct(F.filter(F.array(*cols), lambda x: x.isNotNull()))


def _empty() -> Column:
    return F.array().cast(ArrayType(StringType()))


def inventory(intune: DataFrame, edr: DataFrame) -> DataFrame:
    """MDM and EDR records of tonight merged into devices (one row per device)."""
    mdm = intune.select(
        F.col("id").alias("intune_id"),
        short_host(F.col("deviceName")).alias("m_host"),
        norm_serial(F.col("serialNumber")).alias("m_serial"),
        F.lower(norm_text(F.col("azureADDeviceId"))).alias("entra_device_id"),
        _arr(norm_mac(F.col("wiFiMacAddress")), norm_mac(F.col("ethernetMacAddress"))).alias("m_macs"),
        norm_text(F.col("operatingSystem")).alias("m_os"),
        norm_text(F.col("osVersion")).alias("m_os_version"),
        (F.lower(F.col("complianceState")) == "compliant").alias("compliant"),
        F.col("isEncrypted").alias("m_encrypted"),
        (F.lower(F.col("jailBroken")) == "true").alias("m_jailbroken"),
        norm_email(F.coalesce(F.col("userPrincipalName"), F.col("emailAddress"))).alias("owner_upn"),
        F.lower(norm_text(F.col("userId"))).alias("owner_entra_id"),
    ).dropDuplicates(["intune_id"])
    latest = F.max_by(F.struct(*[F.col(c) for c in edr.columns]), F.col("last_seen"))
    sensors = edr.groupBy("device_id").agg(latest.alias("e")).select(
        F.col("device_id").alias("edr_aid"),
        short_host(F.col("e.hostname")).alias("e_host"),
        norm_serial(F.col("e.serial_number")).alias("e_serial"),
        norm_mac(F.col("e.mac_address")).alias("e_mac"),
        norm_text(F.col("e.local_ip")).alias("e_ip"),
        norm_text(F.col("e.platform_name")).alias("e_os"),
        norm_text(F.col("e.os_version")).alias("e_os_version"),
        F.coalesce(F.try_to_timestamp("e.last_seen"), F.timestamp_seconds(F.col("e.last_seen").try_cast("double"))).alias("edr_last_seen"),
        F.lower(F.coalesce(F.col("e.status"), F.lit("normal"))).alias("edr_status"),
        F.lower(F.coalesce(F.col("e.reduced_functionality_mode"), F.lit("no"))).alias("edr_rfm"),
    )
    # EDR -> MDM by serial, then (for sensors with no serial match) by a host name that names one MDM device.
    by_serial = sensors.join(mdm.select("intune_id", F.col("m_serial").alias("e_serial")).where(F.col("e_serial").isNotNull()),
                             "e_serial", "left").withColumn("edr_rule", F.when(F.col("intune_id").isNotNull(), F.lit("serial")))
    unique_hosts = mdm.groupBy("m_host").agg(F.count("*").alias("n"), F.first("intune_id").alias("h_intune")).where("n = 1")
    by_host = by_serial.join(unique_hosts, by_serial["e_host"] == unique_hosts["m_host"], "left").select(
        *[by_serial[c] for c in by_serial.columns if c not in ("intune_id", "edr_rule")],
        F.coalesce(by_serial["intune_id"], F.col("h_intune")).alias("intune_id"),
        F.coalesce(by_serial["edr_rule"], F.when(F.col("h_intune").isNotNull(), F.lit("hostname"))).alias("edr_rule"),
    )
    # A sensor matched to an MDM device already claimed by another sensor: keep the latest one.
    by_host = by_host.withColumn(
        "_n", F.row_number().over(
            Window.partitionBy(F.coalesce("intune_id", "edr_aid"))
            .orderBy(F.desc_nulls_last("edr_last_seen"), "edr_aid"))
    ).where("_n = 1").drop("_n")
    merged = mdm.join(by_host, "intune_id", "full_outer")
    serial = F.coalesce("m_serial", "e_serial")
    anchor = F.coalesce(
        F.concat(F.lit("serial:"), serial), F.concat(F.lit("entra:"), F.col("entra_device_id")),
        F.concat(F.lit("aid:"), F.col("edr_aid")), F.concat(F.lit("intune:"), F.col("intune_id")),
    )
    return merged.select(
        stable_key("dev", anchor).alias("device_uid"),
        "intune_id", "edr_aid", "entra_device_id",
        _arr(F.col("m_host"), F.col("e_host")).alias("hostnames"),
        _arr(F.col("m_serial"), F.col("e_serial")).alias("serials"),
        F.array_distinct(F.concat(F.coalesce("m_macs", _empty()), _arr(F.col("e_mac")))).alias("macs"),
        F.col("e_ip").alias("edr_ip"),
        F.coalesce("m_os", "e_os").alias("os"),
        F.coalesce("m_os_version", "e_os_version").alias("os_version"),
        F.col("intune_id").isNotNull().alias("managed"),
        F.col("compliant"),
        F.col("m_encrypted").alias("encrypted"),
        F.col("m_jailbroken").alias("jailbroken"),
        F.col("edr_aid").isNotNull().alias("edr_present"),
        "edr_last_seen", "edr_status", "edr_rfm", "owner_upn", "owner_entra_id",
        _arr(F.when(F.col("intune_id").isNotNull(), F.lit("intune_devices")),
             F.when(F.col("edr_aid").isNotNull(), F.lit("edr_hosts"))).alias("sources"),
        _arr(F.when(F.col("intune_id").isNotNull() & F.col("edr_aid").isNotNull(), F.concat(F.lit("edr_to_mdm:"), F.col("edr_rule")))
             ).alias("link_rules"),
    )


def inventory_aliases(inv: DataFrame) -> DataFrame:
    """(alias_type, alias_value, entity_uid, rule) for every identifier of an inventory device."""
    def part(alias_type: str, value: Column, rule: str) -> DataFrame:
        return inv.select(F.lit(alias_type).alias("alias_type"), value.alias("alias_value"),
                          F.col("device_uid").alias("entity_uid"), F.lit(rule).alias("rule")).where(F.col("alias_value").isNotNull())
    return (
        part("hostname", F.explode_outer("hostnames"), "hostname")
        .unionByName(part("serial", F.explode_outer("serials"), "serial"))
        .unionByName(part("mac", F.explode_outer("macs"), "mac"))
        .unionByName(part("entra_device_id", F.col("entra_device_id"), "entra_device_id"))
        .unionByName(part("intune_id", F.col("intune_id"), "intune_id"))
        .unionByName(part("edr_aid", F.col("edr_aid"), "edr_aid"))
        .distinct()
    )


def idp_devices(okta: DataFrame, entra: DataFrame) -> DataFrame:
    """Devices the identity providers report with a sign-in: (source, _event_id, host, ids, posture, user)."""
    o = okta.where(F.col("device").isNotNull()).select(
        "source", "_event_id", short_host(F.col("device.name")).alias("host"),
        norm_text(F.col("device.id")).alias("okta_device_id"), F.lit(None).cast("string").alias("entra_device_id"),
        norm_text(F.col("device.os_platform")).alias("os"), F.col("device.managed").alias("idp_managed"),
        (F.upper(F.col("device.disk_encryption_type")) != "NONE").alias("encrypted"), F.col("device.jailbreak").alias("jailbroken"),
        norm_text(F.col("actor.id")).alias("okta_user"), norm_email(F.col("actor.alternateId")).alias("login"),
    )
    e = entra.select(
        "source", "_event_id", short_host(F.col("deviceDetail.displayName")).alias("host"),
        F.lit(None).cast("string").alias("okta_device_id"), F.lower(norm_text(F.col("deviceDetail.deviceId"))).alias("entra_device_id"),
        norm_text(F.col("deviceDetail.operatingSystem")).alias("os"), F.col("deviceDetail.isManaged").alias("idp_managed"),
        F.lit(None).cast("boolean").alias("encrypted"), F.lit(None).cast("boolean").alias("jailbroken"),
        F.lit(None).cast("string").alias("okta_user"), norm_email(F.col("userPrincipalName")).alias("login"),
    )
    return o.unionByName(e).where(F.col("host").isNotNull() | F.col("okta_device_id").isNotNull() | F.col("entra_device_id").isNotNull())


def idp_only_devices(seen: DataFrame, inv_aliases: DataFrame, user_aliases: DataFrame) -> tuple[DataFrame, DataFrame]:
    """IdP-reported devices that match no inventory device become devices of their own
    (`idp_only`: not managed, no EDR). Returns (devices, their aliases)."""
    keyed = seen.withColumn("_k", F.sha2(F.concat_ws("|", "source", "_event_id"), 256))
    linked = resolve(
        keyed.select("_k", "source", "_event_id", "host", "okta_device_id", "entra_device_id"),
        [Candidate("entra_device_id", F.col("entra_device_id")), Candidate("hostname", F.col("host"))],
        inv_aliases, "dev", key=("_k",),
    )
    lone = keyed.join(linked.where(F.col("dev_uid").isNull()).select("_k"), "_k")
    lone = lone.withColumn(
        "device_uid",
        stable_key("dev", F.coalesce(F.concat(F.lit("host:"), F.col("host")), F.concat(F.lit("okta:"), F.col("okta_device_id")),
                                     F.concat(F.lit("entra:"), F.col("entra_device_id")))),
    )
    users = resolve(
        lone.select("_k", "okta_user", "login"),
        [Candidate("okta_id", F.col("okta_user")), Candidate("email", F.col("login"))], user_aliases, "user", key=("_k",),
    )
    lone = lone.join(users.select("_k", "user_uid"), "_k", "left")
    devices = lone.groupBy("device_uid").agg(
        F.array_sort(F.collect_set("host")).alias("hostnames"),
        F.first("os", ignorenulls=True).alias("os"),
        F.min("encrypted").alias("encrypted"),
        F.max("jailbroken").alias("jailbroken"),
        F.array_sort(F.collect_set("okta_device_id")).alias("okta_device_ids"),
        F.array_sort(F.collect_set("entra_device_id")).alias("idp_entra_ids"),
        F.array_sort(F.collect_set("source")).alias("sources"),
        F.collect_set("user_uid").alias("users"),
    ).withColumn("owner_user_uid", F.when(F.size("users") == 1, F.try_element_at("users", F.lit(1)))).drop("users")

    def part(alias_type: str, value: Column) -> DataFrame:
        return devices.select(F.lit(alias_type).alias("alias_type"), value.alias("alias_value"),
                              F.col("device_uid").alias("entity_uid"), F.lit("idp_only").alias("rule")).where(F.col("alias_value").isNotNull())

    aliases = part("hostname", F.explode_outer("hostnames")).unionByName(part("okta_device_id", F.explode_outer("okta_device_ids"))).unionByName(
        part("entra_device_id", F.explode_outer("idp_entra_ids")))
    return devices, aliases


def ip_map(night: dt.date, inv: DataFrame, windows: DataFrame, data_access: DataFrame, dev_aliases: DataFrame,
           cfg: SilverConfig) -> DataFrame:
    """(date, ip, device_uid, rule, source, _event_id) for every internal address tonight's
    telemetry ties to a known device."""
    internal = lambda c: in_cidrs(c, cfg.internal_cidrs)  # noqa: E731
    edr = inv.where(F.col("edr_ip").isNotNull() & internal(F.col("edr_ip"))).select(
        F.col("edr_ip").alias("ip"), "device_uid", F.lit("edr_local_ip").alias("rule"), F.lit("edr_hosts").alias("source"),
        F.lit(None).cast("string").alias("_event_id"),
    )
    logon = windows.where(F.col("EventID").isin(4624, 4625))
    local = logon.where(F.col("LogonType").isin(*LOCAL_LOGON_TYPES)).select(
        "source", "_event_id", F.trim("IpAddress").alias("ip"), short_host(F.col("Hostname")).alias("host"),
        F.lit("windows_local_logon").alias("rule"),
    )
    network = logon.where(F.col("LogonType") == 3).select(
        "source", "_event_id", F.trim("IpAddress").alias("ip"), short_host(F.col("WorkstationName")).alias("host"),
        F.lit("windows_network_logon_client").alias("rule"),
    )
    store = data_access.select(
        "source", "_event_id", F.trim("src_endpoint.ip").alias("ip"), short_host(F.col("src_endpoint.hostname")).alias("host"),
        F.lit("datastore_client_host").alias("rule"),
    )
    claims = local.unionByName(network).unionByName(store).where(internal(F.col("ip")) & F.col("host").isNotNull())
    claims = resolve(claims.withColumn("_k", F.sha2(F.concat_ws("|", "source", "_event_id", "rule"), 256)),
                     [Candidate("hostname", F.col("host"))], dev_aliases, "dev", key=("_k",))
    by_host = claims.where(F.col("dev_uid").isNotNull()).select("ip", F.col("dev_uid").alias("device_uid"), "rule", "source", "_event_id")
    both = edr.unionByName(by_host)
    w = Window.partitionBy("ip", "device_uid").orderBy("rule", "_event_id")
    return both.withColumn("_n", F.row_number().over(w)).where("_n = 1").drop("_n").withColumn("date", F.lit(night))


def ghost_candidates(dns: DataFrame, conn: DataFrame, windows: DataFrame, cfg: SilverConfig) -> DataFrame:
    """Client addresses and host names seen in DNS, network and Windows authentication traffic:
    (source, _event_id, ip, host, observed)."""
    internal = lambda c: in_cidrs(c, cfg.internal_cidrs)  # noqa: E731
    z = [
        df.select("source", "_event_id", F.trim("id_orig_h").alias("ip"), F.lit(None).cast("string").alias("host"),
                  F.lit(observed).alias("observed"))
        for df, observed in ((dns, "dns query from"), (conn, "connection from"))
    ]
    logon = windows.where(F.col("EventID").isin(4624, 4625, 4768, 4769, 4776))
    net = logon.where(F.coalesce(F.col("LogonType"), F.lit(3)) == 3).select(
        "source", "_event_id", F.trim("IpAddress").alias("ip"),
        short_host(F.coalesce(F.col("WorkstationName"), F.col("Workstation"))).alias("host"),
        F.concat(F.lit("windows "), F.col("EventID").cast("string"), F.lit(" client")).alias("observed"),
    )
    local = logon.where(F.col("LogonType").isin(*LOCAL_LOGON_TYPES)).select(
        "source", "_event_id", F.lit(None).cast("string").alias("ip"), short_host(F.col("Hostname")).alias("host"),
        F.concat(F.lit("windows "), F.col("EventID").cast("string"), F.lit(" local logon host")).alias("observed"),
    )
    out = z[0].unionByName(z[1]).unionByName(net).unionByName(local)
    return out.withColumn("ip", F.when(internal(F.col("ip")), F.col("ip"))).where(F.col("ip").isNotNull() | F.col("host").isNotNull())


def ghosts(night: dt.date, candidates: DataFrame, known_aliases: DataFrame, ips: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Candidates whose host and address match no MDM or EDR device (nor a catalogued server)
    become ghost devices, one per host name (or per address when no host name is seen with it).
    Returns (ghost devices, their aliases incl. the night's IP claims)."""
    ip_alias = ips.select(F.lit("ip").alias("alias_type"), F.col("ip").alias("alias_value"),
                          F.col("device_uid").alias("entity_uid"), "rule")
    keyed = candidates.withColumn("_k", F.sha2(F.concat_ws("|", "source", "_event_id", "observed"), 256))
    res = resolve(keyed, [Candidate("hostname", F.col("host")), Candidate("ip", F.col("ip"))],
                  known_aliases.unionByName(ip_alias), "dev", key=("_k",))
    # A candidate is explained when its host or address resolves, or is ambiguous among known devices.
    unknown = res.where(F.col("dev_uid").isNull() & ~F.col("dev_resolution").startswith("ambiguous"))
    host_of_ip = unknown.where(F.col("host").isNotNull() & F.col("ip").isNotNull()).groupBy("ip").agg(F.min("host").alias("ip_host"))
    unknown = unknown.join(host_of_ip, "ip", "left").withColumn("gkey", F.coalesce("host", "ip_host", "ip"))
    g = unknown.groupBy("gkey").agg(
        F.array_sort(F.collect_set("host")).alias("hostnames"),
        F.array_sort(F.collect_set("ip")).alias("ips"),
        F.count("*").alias("ghost_evidence_count"),
        F.slice(F.array_sort(F.collect_list(F.struct("source", "_event_id", "observed",
                                                     F.coalesce("host", "ip").alias("value")))), 1, MAX_EVIDENCE).alias("ghost_evidence"),
    ).withColumn("device_uid", stable_key("ghost", F.col("gkey")))
    aliases = g.select(F.lit("hostname").alias("alias_type"), F.explode("hostnames").alias("alias_value"), F.col("device_uid").alias("entity_uid"),
                       F.lit("ghost").alias("rule")).unionByName(
        g.select(F.lit("ip").alias("alias_type"), F.explode("ips").alias("alias_value"), F.col("device_uid").alias("entity_uid"),
                 F.lit("ghost").alias("rule")))
    return g.drop("gkey").withColumn("date", F.lit(night)), aliases


def devices_snapshot(
    night: dt.date, inv: DataFrame, idp_only: DataFrame, ghost: DataFrame, ips: DataFrame, prev: DataFrame,
    user_aliases: DataFrame, cfg: SilverConfig,
) -> DataFrame:
    d = F.lit(night)
    owners = resolve(
        inv.select("device_uid", "owner_upn", "owner_entra_id").withColumn("source", F.lit("intune_devices")).withColumn("_event_id", F.col("device_uid")),
        [Candidate("entra_object_id", F.col("owner_entra_id")), Candidate("email", F.col("owner_upn"))], user_aliases, "user",
    ).select("device_uid", F.col("user_uid").alias("owner_user_uid"))
    healthy_since = F.lit(night - dt.timedelta(days=cfg.edr_healthy_within_days))
    tonight_ips = ips.groupBy("device_uid").agg(F.array_sort(F.collect_set("ip")).alias("ips"),
                                               F.array_sort(F.collect_set(F.concat(F.lit("ip:"), F.col("rule")))).alias("ip_rules"))
    managed = inv.join(owners, "device_uid", "left").join(tonight_ips, "device_uid", "left").select(
        "device_uid", F.lit(False).alias("ghost"), "managed", "compliant", "encrypted", "jailbroken", "edr_present",
        (F.col("edr_present") & (F.to_date("edr_last_seen") >= healthy_since) & (F.col("edr_status") == "normal")
         & (F.col("edr_rfm") != "yes")).alias("edr_healthy"),
        "edr_last_seen", "os", "os_version", "owner_user_uid", "hostnames", "serials", "macs",
        F.coalesce("ips", _empty()).alias("ips"), _arr(F.col("entra_device_id")).alias("entra_device_ids"),
        "intune_id", "edr_aid", _empty().alias("okta_device_ids"), "sources",
        F.array_distinct(F.concat("link_rules", F.coalesce("ip_rules", _empty()))).alias("link_rules"),
    )
    idp = idp_only.join(tonight_ips, "device_uid", "left").select(
        "device_uid", F.lit(False).alias("ghost"), F.lit(False).alias("managed"), F.lit(None).cast("boolean").alias("compliant"),
        "encrypted", "jailbroken", F.lit(False).alias("edr_present"), F.lit(False).alias("edr_healthy"),
        F.lit(None).cast("timestamp").alias("edr_last_seen"), "os", F.lit(None).cast("string").alias("os_version"),
        "owner_user_uid", "hostnames", _empty().alias("serials"), _empty().alias("macs"), F.coalesce("ips", _empty()).alias("ips"),
        F.col("idp_entra_ids").alias("entra_device_ids"), F.lit(None).cast("string").alias("intune_id"),
        F.lit(None).cast("string").alias("edr_aid"), "okta_device_ids", "sources", F.array(F.lit("idp_only")).alias("link_rules"),
    )
    gh = ghost.select(
        "device_uid", F.lit(True).alias("ghost"), F.lit(False).alias("managed"), F.lit(None).cast("boolean").alias("compliant"),
        F.lit(None).cast("boolean").alias("encrypted"), F.lit(None).cast("boolean").alias("jailbroken"), F.lit(False).alias("edr_present"),
        F.lit(False).alias("edr_healthy"), F.lit(None).cast("timestamp").alias("edr_last_seen"), F.lit(None).cast("string").alias("os"),
        F.lit(None).cast("string").alias("os_version"), F.lit(None).cast("string").alias("owner_user_uid"), "hostnames",
        _empty().alias("serials"), _empty().alias("macs"), "ips", _empty().alias("entra_device_ids"),
        F.lit(None).cast("string").alias("intune_id"), F.lit(None).cast("string").alias("edr_aid"), _empty().alias("okta_device_ids"),
        F.array_sort(F.array_distinct(F.transform("ghost_evidence", lambda e: e.getField("source")))).alias("sources"),
        F.array(F.lit("ghost")).alias("link_rules"), "ghost_evidence", "ghost_evidence_count",
    )
    no_evidence = F.array().cast(ArrayType(EVIDENCE))
    tonight = (
        managed.withColumn("ghost_evidence", no_evidence).withColumn("ghost_evidence_count", F.lit(0).cast("long"))
        .unionByName(idp.withColumn("ghost_evidence", no_evidence).withColumn("ghost_evidence_count", F.lit(0).cast("long")))
        .unionByName(gh)
        .dropDuplicates(["device_uid"])
    )
    fam = F.lower(F.coalesce("os", F.lit("")))
    newest = tonight.where(F.col("os_version").isNotNull()).groupBy(fam.alias("fam")).agg(
        F.max(F.transform(F.split("os_version", r"\."), lambda x: F.lpad(x, 8, "0"))).alias("newest"))
    tonight = tonight.withColumn("fam", fam).join(newest, "fam", "left").withColumn(
        "os_version_behind",
        F.when(F.col("os_version").isNotNull(), F.transform(F.split("os_version", r"\."), lambda x: F.lpad(x, 8, "0")) < F.col("newest")),
    ).drop("fam", "newest")
    p = prev.where(~F.col("ghost")).select(*[F.col(c).alias("p_" + c) for c in prev.columns])
    j = tonight.withColumn("seen_tonight", F.lit(True)).join(p, tonight["device_uid"] == p["p_device_uid"], "full_outer")
    here = F.col("seen_tonight").isNotNull()
    cols = [c for c in tonight.columns if c != "device_uid"]
    owner_email = user_aliases.where(F.col("alias_type") == "email").groupBy("user_uid").agg(F.min("alias_value").alias("owner_email"))
    out = j.select(
        d.alias("date"),
        F.coalesce("device_uid", "p_device_uid").alias("device_uid"),
        *[F.when(here, F.col(c)).otherwise(F.col("p_" + c)).alias(c) for c in cols],
        F.lit(None).cast("int").alias("patch_age_days"),
        here.alias("seen_tonight"),
        F.coalesce(F.col("p_first_seen_date"), d).alias("first_seen_date"),
        F.when(here, d).otherwise(F.col("p_last_seen_date")).alias("last_seen_date"),
        F.lit(cfg.version).alias("_config_version"),
    )
    out = out.join(owner_email, out["owner_user_uid"] == owner_email["user_uid"], "left").drop("user_uid")
    return out.select(*DEVICE_COLUMNS)


DEVICES_DDL = (
    "date date, device_uid string, ghost boolean, managed boolean, compliant boolean, encrypted boolean, jailbroken boolean, "
    "edr_present boolean, edr_healthy boolean, edr_last_seen timestamp, os string, os_version string, os_version_behind boolean, "
    "patch_age_days int, owner_user_uid string, owner_email string, hostnames array<string>, serials array<string>, "
    "macs array<string>, ips array<string>, entra_device_ids array<string>, intune_id string, edr_aid string, "
    "okta_device_ids array<string>, sources array<string>, link_rules array<string>, "
    "ghost_evidence array<struct<source:string,_event_id:string,observed:string,value:string>>, ghost_evidence_count bigint, "
    "seen_tonight boolean, first_seen_date date, last_seen_date date, _config_version string"
)
IP_MAP_DDL = "date date, ip string, device_uid string, rule string, source string, _event_id string"
DEVICE_COLUMNS = (
    "date", "device_uid", "ghost", "managed", "compliant", "encrypted", "jailbroken", "edr_present", "edr_healthy",
    "edr_last_seen", "os", "os_version", "os_version_behind", "patch_age_days", "owner_user_uid", "owner_email", "hostnames",
    "serials", "macs", "ips", "entra_device_ids", "intune_id", "edr_aid", "okta_device_ids", "sources", "link_rules",
    "ghost_evidence", "ghost_evidence_count", "seen_tonight", "first_seen_date", "last_seen_date", "_config_version",
)


def device_aliases(inv_aliases: DataFrame, idp_aliases: DataFrame, ghost_aliases: DataFrame, ips: DataFrame) -> DataFrame:
    """Every identifier that names a device tonight (IPs for this night only)."""
    ip_alias = ips.select(F.lit("ip").alias("alias_type"), F.col("ip").alias("alias_value"), F.col("device_uid").alias("entity_uid"), "rule")
    return inv_aliases.unionByName(idp_aliases).unionByName(ghost_aliases).unionByName(ip_alias).distinct()

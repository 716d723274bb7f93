"""A tiny hand-built org written as silver Delta tables (only the columns features read), so every
feature value below can be worked out by hand.

Five people: alice and erin (Finance analysts), bob (Finance accountant), carol (IT admin), dave (HR,
terminated on night 2). Every night each of them does the same routine. Night 3 adds the episodes:
  * alice signs in from Singapore 50 minutes after London, on an unmanaged new laptop (dev-x), from
    a known-bad IP, and exports 2.4 GB; an earlier sign-in comes from an IP whose indicator expired;
  * bob's first sign-in is in New York 50 minutes after his last (London, 23:50 the night before),
    and he opens the payroll app, which no Finance peer has used;
  * dave, terminated the day before, signs in; carol is not active;
  * erin (the seed's worked example) signs in from a new laptop with no MDM and no EDR record and
    tries a 2.4 GB BI export from it.
The identity provider (Okta's `lastLogin`, silver `prior_login_date`) knows two things the lake does
not: carol last signed in on 2026-06-01 before night 1, and she signed in on night 3 through a path
the lake does not see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from jobs.silver.build import EVENT_PARTITION, conform
from jobs.silver.devices import DEVICES_DDL
from jobs.silver.entitlements import ENTITLEMENTS_DDL
from ztlake import delta_io
from ztlake.tables import silver

NIGHTS = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(5)]
N3 = NIGHTS[2]
LONDON, SINGAPORE, NEW_YORK = (51.507, -0.128, "GB"), (1.352, 103.82, "SG"), (40.713, -74.006, "US")
BAD_IP, EXPIRED_IP = "203.0.113.66", "198.51.100.9"
PEOPLE = {  # email: (department, title, device)
    "alice@example.com": ("Finance", "Financial Analyst", "dev-a"),
    "bob@example.com": ("Finance", "Accountant", "dev-b"),
    "carol@example.com": ("IT", "IT Administrator", "dev-c"),
    "dave@example.com": ("HR", "HR Partner", "dev-d"),
    "erin@example.com": ("Finance", "Financial Analyst", "dev-e"),
}
EXPORTERS = ("alice@example.com", "erin@example.com")
ROUTINE_EXPORT_BYTES = 1_000_000
BIG_EXPORT_BYTES = 2_400_000_000
WORKED_EXAMPLE_EXPORT = "ds-erin-big-export"
CAROL_LAST_LOGIN_BEFORE = dt.date(2026, 6, 1)
ADMIN_ROLE = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_abc/carol@example.com"

AUTH = ("user_uid string, time timestamp, device_uid string, resource_uid string, src_ip string, src_country string, "
        "src_lat double, src_lon double, activity_id int, status string, is_mfa boolean, mfa_factor string, "
        "is_phishing_resistant boolean, _event_id string, _landing_date date, event_date date")
API = ("user_uid string, time timestamp, device_uid string, resource_uid string, src_ip string, api_operation string, "
       "api_service string, error_code string, is_read_only boolean, assumed_role_arn string, principal_arn string, "
       "session_created timestamp, is_long_lived_key boolean, _event_id string, _landing_date date, event_date date")
STORE = ("user_uid string, time timestamp, device_uid string, resource_uid string, src_ip string, activity_name string, "
         "status string, rows bigint, bytes bigint, _event_id string, _landing_date date, event_date date")


def uid(email: str) -> str:
    return "usr_" + email.split("@")[0]


def at(night: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(night, dt.time(hh, mm))


def _auth(email: str, t: dt.datetime, where: tuple[float, float, str], device: str, ip: str = "81.2.69.10",
          night: dt.date | None = None, n: int = 0) -> tuple[object, ...]:
    night = night or t.date()
    return (uid(email), t, device, "res-okta", ip, where[2], where[0], where[1], 1, "Success", False, None, None,
            f"auth-{email}-{t.isoformat()}-{n}", night, t.date())


def events(night: dt.date) -> Iterator[tuple[str, tuple[object, ...]]]:
    """(table, row) of one night."""
    for email, (dept, _, dev) in PEOPLE.items():
        if email == "dave@example.com" and night > NIGHTS[1] and night != N3:
            continue  # gone after termination, except the night-3 episode
        if email == "carol@example.com" and night == N3:
            continue  # idle on night 3
        yield "authentication", _auth(email, at(night, 9), LONDON, dev)
        if dept == "Finance":
            yield "datastore_activity", (uid(email), at(night, 10), dev, "res-bi", "10.0.0.5", "Query", "Success", 1000, 50_000,
                                         f"ds-{email}-{night}-q", night, night)
        if email in EXPORTERS:
            yield "datastore_activity", (uid(email), at(night, 11), dev, "res-bi", "10.0.0.5", "Export", "Success", 100,
                                         ROUTINE_EXPORT_BYTES, f"ds-{email}-{night}-e", night, night)
        if email == "carol@example.com":
            yield "api_activity", (uid(email), at(night, 8, 5), None, "res-aws-prod", "81.2.69.11", "AssumeRoleWithSAML",
                                   "sts.amazonaws.com", None, False, ADMIN_ROLE, None, at(night, 8), False,
                                   f"api-{night}-1", night, night)
            yield "api_activity", (uid(email), at(night, 8, 10), None, "res-aws-prod", "81.2.69.11", "ListUsers",
                                   "iam.amazonaws.com", None, True, ADMIN_ROLE, None, at(night, 8), False, f"api-{night}-2", night, night)
    if night == NIGHTS[1]:
        yield "authentication", _auth("bob@example.com", at(night, 23, 50), LONDON, "dev-b")
    if night == N3:
        a = "alice@example.com"
        yield "authentication", _auth(a, at(night, 8, 30), LONDON, "dev-a", ip=EXPIRED_IP)
        yield "authentication", _auth(a, at(night, 9, 50), SINGAPORE, "dev-x", ip=BAD_IP)
        yield "datastore_activity", (uid(a), at(night, 10, 5), "dev-x", "res-bi", "10.9.9.9", "Export", "Success", 2_400_000,
                                     BIG_EXPORT_BYTES, f"ds-{a}-{night}-big", night, night)
        yield "authentication", _auth("bob@example.com", at(night, 0, 40), NEW_YORK, "dev-b")
        yield "datastore_activity", (uid("bob@example.com"), at(night, 11), "dev-b", "res-payroll", "10.0.0.6", "Query", "Success",
                                     10, 900, f"ds-bob-{night}-payroll", night, night)
        # The seed's worked example: erin signs in from a new laptop with no MDM record and no EDR,
        # then tries a large BI export from it.
        e = "erin@example.com"
        yield "authentication", _auth(e, at(night, 14), LONDON, "dev-y")
        yield "datastore_activity", (uid(e), at(night, 14, 20), "dev-y", "res-bi", "10.9.9.8", "Export", "Success", 3_000_000,
                                     BIG_EXPORT_BYTES, WORKED_EXAMPLE_EXPORT, night, night)


def write_night(spark: SparkSession, lake: str, night: dt.date) -> None:
    rows: dict[str, list[tuple[object, ...]]] = {"authentication": [], "api_activity": [], "datastore_activity": []}
    for table, row in events(night):
        rows[table].append(row)
    for table, ddl in (("authentication", AUTH), ("api_activity", API), ("datastore_activity", STORE)):
        df = spark.createDataFrame(rows[table], ddl)
        delta_io.replace_where(spark, df, silver(table).path(lake), f"_landing_date = {delta_io.lit_date(night)}", [EVENT_PARTITION])
    def prior_login(e: str) -> dt.date | None:
        if e != "carol@example.com":
            return None
        return {NIGHTS[0]: CAROL_LAST_LOGIN_BEFORE, NIGHTS[3]: N3}.get(night)

    snapshot(spark, lake, "identities", night, [
        (night, uid(e), e, e.split("@")[0].title(), "employee", dept, title, True,
         dt.date(2026, 11, 2) if e == "dave@example.com" else None, NIGHTS[0], prior_login(e))
        for e, (dept, title, _) in PEOPLE.items()],
        "date date, user_uid string, email string, display_name string, type string, department string, title string, "
        "in_directory boolean, termination_date date, first_seen_date date, prior_login_date date")
    devices = [(night, dev, True, True, uid(e), [dev.upper()], False, True, NIGHTS[0]) for e, (_, _, dev) in PEOPLE.items()]
    if night >= N3:
        devices.append((night, "dev-x", False, False, None, ["DESKTOP-X"], False, True, N3))
        devices.append((night, "dev-y", False, False, None, ["DESKTOP-Y"], False, True, N3))
    df = spark.createDataFrame(devices, "date date, device_uid string, managed boolean, compliant boolean, owner_user_uid string, "
                                        "hostnames array<string>, ghost boolean, seen_tonight boolean, first_seen_date date")
    delta_io.replace_where(spark, pad(df, DEVICES_DDL), silver("devices").path(lake), f"date = {delta_io.lit_date(night)}", ["date"])
    groups = {"Finance": ["finance-all", "bi-analysts"], "IT": ["it-all", "aws-prod-admin"], "HR": ["hr-all"]}
    ents = spark.createDataFrame(
        [(night, uid(e), e, f"group:{g}", "group", g == "aws-prod-admin", "direct") for e, (dept, _, _) in PEOPLE.items()
         for g in groups[dept]],
        "date date, user_uid string, email string, entitlement string, entitlement_type string, privileged boolean, via string")
    delta_io.replace_where(spark, pad(ents, ENTITLEMENTS_DDL), silver("entitlements").path(lake), f"date = {delta_io.lit_date(night)}",
                           ["date"])
    snapshot(spark, lake, "resources", night, [(night, r, s) for r, s in (("res-okta", "low"), ("res-bi", "high"),
                                                                          ("res-payroll", "critical"), ("res-aws-prod", "critical"))],
             "date date, resource_uid string, sensitivity string")
    snapshot(spark, lake, "threat_indicators", night, [(night, "indicator--bad", "ipv4-addr", BAD_IP, True),
                                                       (night, "indicator--expired", "ipv4-addr", EXPIRED_IP, False)],
             "date date, indicator_uid string, indicator_type string, value string, active boolean")


def pad(df: DataFrame, ddl: str) -> DataFrame:
    """The table's full declared schema, with the columns this org does not need left null."""
    given = set(df.columns)
    return conform(df.select("*", *[F.lit(None).cast(f.dataType).alias(f.name) for f in StructType.fromDDL(ddl).fields
                                    if f.name not in given]), ddl)


def snapshot(spark: SparkSession, lake: str, table: str, night: dt.date, rows: list[tuple[object, ...]], ddl: str) -> DataFrame:
    df = spark.createDataFrame(rows, ddl)
    delta_io.replace_where(spark, df, silver(table).path(lake), f"date = {delta_io.lit_date(night)}", ["date"])
    return df

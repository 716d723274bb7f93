"""Okta System Log `LogEvent` (https://developer.okta.com/docs/reference/api/system-log/) and the
Okta Users API's user object (https://developer.okta.com/docs/reference/api/users/)."""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)

from jobs.landing.spec import SourceSpec, struct


def _s(name: str) -> StructField:
    return StructField(name, StringType())


GEO = StructType(
    [
        _s("city"),
        _s("state"),
        _s("country"),
        _s("postalCode"),
        StructField("geolocation", StructType([StructField("lat", DoubleType()), StructField("lon", DoubleType())])),
    ]
)
ACTOR = StructType(
    [_s("id"), _s("type"), _s("alternateId"), _s("displayName"), StructField("detailEntry", MapType(StringType(), StringType()))]
)

LOG_EVENT = StructType(
    [
        _s("uuid"),
        _s("published"),
        _s("eventType"),
        _s("version"),
        _s("severity"),
        _s("legacyEventType"),
        _s("displayMessage"),
        StructField("actor", ACTOR),
        StructField(
            "client",
            StructType(
                [
                    StructField("userAgent", StructType([_s("rawUserAgent"), _s("os"), _s("browser")])),
                    _s("zone"),
                    _s("device"),
                    _s("id"),
                    _s("ipAddress"),
                    StructField("geographicalContext", GEO),
                ]
            ),
        ),
        StructField(
            "device",
            StructType(
                [
                    _s("id"),
                    _s("name"),
                    _s("os_platform"),
                    _s("os_version"),
                    StructField("managed", BooleanType()),
                    StructField("registered", BooleanType()),
                    _s("device_integrator"),
                    _s("disk_encryption_type"),
                    _s("screen_lock_type"),
                    StructField("jailbreak", BooleanType()),
                    StructField("secure_hardware_present", BooleanType()),
                ]
            ),
        ),
        StructField(
            "authenticationContext",
            StructType(
                [
                    _s("authenticationProvider"),
                    _s("credentialProvider"),
                    _s("credentialType"),
                    StructField("issuer", StructType([_s("id"), _s("type")])),
                    _s("interface"),
                    StructField("authenticationStep", IntegerType()),
                    _s("rootSessionId"),
                    _s("externalSessionId"),
                ]
            ),
        ),
        StructField("outcome", StructType([_s("result"), _s("reason")])),
        StructField(
            "securityContext",
            StructType(
                [
                    StructField("asNumber", LongType()),
                    _s("asOrg"),
                    _s("isp"),
                    _s("domain"),
                    StructField("isProxy", BooleanType()),
                ]
            ),
        ),
        StructField("debugContext", StructType([StructField("debugData", MapType(StringType(), StringType()))])),
        StructField("transaction", StructType([_s("type"), _s("id"), StructField("detail", MapType(StringType(), StringType()))])),
        StructField(
            "request",
            StructType(
                [
                    StructField(
                        "ipChain",
                        ArrayType(
                            StructType([_s("ip"), StructField("geographicalContext", GEO), _s("version"), _s("source")])
                        ),
                    )
                ]
            ),
        ),
        StructField("target", ArrayType(ACTOR)),
    ]
)

# `actor` is what every downstream join hangs on; `published` is the event time.
SPEC = SourceSpec(
    name="okta", schema=LOG_EVENT, id_fields=("uuid",), time_fields=("published",), required=("eventType", "actor.id")
)

# `GET /api/v1/users`, exported every night: who exists in Okta, their status, and `lastLogin`, the
# last successful sign-in as Okta recorded it. It is the only account of activity from before the
# lake began (a dormant account has no System Log events in the lake, but Okta knows it last signed
# in months ago). A snapshot, one user object per line.
USER = struct(
    "id", "status", "created", "activated", "statusChanged", "lastLogin", "lastUpdated", "passwordChanged",
    StructField("type", struct("id")),
    StructField("profile", struct("login", "email", "firstName", "lastName", "displayName", "department", "title",
                                  "employeeNumber", "userType", "secondEmail", "mobilePhone")),
    StructField("credentials", struct(StructField("provider", struct("type", "name")))),
)
USERS_SPEC = SourceSpec(name="okta_users", schema=USER, id_fields=("id",), required=("id",), snapshot=True)

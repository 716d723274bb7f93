"""The joinability gate's Great Expectations suites, written as code.

One suite per silver table. Each checks required keys, allowed values, event times inside the
night's partition (within the tolerated skew), `_event_id` uniqueness, and joinability: the share
of rows whose user, device, resource or principal resolves. Shares are columns of 0/1 (null where
the key does not apply) added by `validation_frame`, so Great Expectations reports the observed
share itself. Thresholds come from `expectations/thresholds.yaml` (versioned).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import great_expectations as gx
import yaml
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver.devices import DESKTOP_OS
from ztlake.tables import SILVER_EVENT_TABLES

THRESHOLDS = Path(__file__).with_name("thresholds.yaml")

STATUSES = ["Success", "Failure", "Other"]
CLASS_UIDS = {"authentication": [3002], "api_activity": [6003], "account_change": [3001], "entitlement_change": [3005],
              "dns_activity": [4003], "network_activity": [4001], "datastore_activity": [6005]}
IDENTITY_TYPES = ["employee", "contractor", "service", "workload"]
ENTITLEMENT_TYPES = ["group", "aws_permission_set", "aws_policy", "aws_group", "aws_role"]
SENSITIVITY = ["low", "medium", "high", "critical"]
INDICATOR_TYPES = ["ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr"]


@dataclass(frozen=True)
class Thresholds:
    version: str
    late_hours: int
    early_hours: int
    suites: dict[str, dict[str, Any]] = field(default_factory=dict)

    def blocking(self, suite: str) -> bool:
        return bool(self.suites.get(suite, {}).get("blocking", True))

    def get(self, suite: str, key: str, default: float) -> float:
        return float(self.suites.get(suite, {}).get(key, default))


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    p = Path(path) if path else THRESHOLDS
    raw = yaml.safe_load(p.read_text()) or {}
    if not raw.get("version"):
        raise ValueError(f"{p}: `version` is required")
    skew = raw.get("timestamp_skew") or {}
    return Thresholds(str(raw["version"]), int(skew.get("late_hours", 72)), int(skew.get("early_hours", 2)),
                      {str(k): dict(v or {}) for k, v in (raw.get("suites") or {}).items()})


def _share(applies: Column, ok: Column) -> Column:
    """1.0 when the key resolves, 0.0 when it does not, null when the key does not apply."""
    return F.when(applies, F.when(ok, 1.0).otherwise(0.0))


def validation_frame(table: str, df: DataFrame) -> DataFrame:
    """The table plus the 0/1 joinability columns its suite averages."""
    if table in SILVER_EVENT_TABLES:
        user_applies = F.col("user_resolution") != "not_applicable"
        df = df.withColumn("_user_resolved", _share(user_applies, F.col("user_uid").isNotNull()))
        # A device share counts rows that name a device: an MFA push or a logoff that carries no device
        # identifier at all is missing data, not a failed join (a burst of them, as in MFA fatigue on a
        # quiet weekend night, must not stop the night).
        device_applies = ~F.col("device_resolution").isin("not_applicable", "no_identifier")
        df = df.withColumn("_device_resolved", _share(device_applies, F.col("device_uid").isNotNull()))
        df = df.withColumn("_resource_resolved", _share(F.col("resource_resolution") != "not_applicable",
                                                        F.coalesce(F.col("resource_in_catalog"), F.lit(False))))
    elif table == "identities":
        people = F.col("active") & (F.col("type") != "workload")
        df = df.withColumn("_directory_fresh", _share(people, F.col("in_directory")))
    elif table == "devices":
        inventoried = (F.col("managed") | F.col("edr_present")) & F.lower(F.coalesce("os", F.lit(""))).isin(*DESKTOP_OS)
        df = df.withColumn("_mdm_and_edr", _share(inventoried & F.col("seen_tonight"), F.col("managed") & F.col("edr_present")))
    return df


def _e(cls: type, meta_id: str, **kwargs: Any) -> Any:
    return cls(meta={"id": meta_id}, **kwargs)


def suite_for(table: str, night: dt.date, t: Thresholds) -> gx.ExpectationSuite:
    X = gx.expectations
    ex: list[Any] = []
    if table in SILVER_EVENT_TABLES:
        for col in ("_event_id", "source", "time", "event_date", "class_uid", "activity_id", "status"):
            ex.append(_e(X.ExpectColumnValuesToNotBeNull, f"not_null.{col}", column=col))
        ex.append(_e(X.ExpectColumnValuesToBeInSet, "allowed.status", column="status", value_set=STATUSES))
        ex.append(_e(X.ExpectColumnValuesToBeInSet, "allowed.class_uid", column="class_uid", value_set=CLASS_UIDS[table]))
        ex.append(_e(X.ExpectCompoundColumnsToBeUnique, "unique._event_id", column_list=["source", "_event_id"]))
        start = dt.datetime.combine(night, dt.time()) - dt.timedelta(hours=t.late_hours)
        end = dt.datetime.combine(night + dt.timedelta(days=1), dt.time()) + dt.timedelta(hours=t.early_hours)
        ex.append(_e(X.ExpectColumnValuesToBeBetween, "time_in_partition", column="time", min_value=start, max_value=end))
        for key, col in (("min_user_resolved", "_user_resolved"), ("min_principal_resolved", "_user_resolved"),
                         ("min_device_resolved", "_device_resolved"), ("min_resource_resolved", "_resource_resolved")):
            if key in t.suites.get(table, {}):
                ex.append(_e(X.ExpectColumnMeanToBeBetween, f"joinability.{key[4:]}", column=col, min_value=t.get(table, key, 1.0)))
    elif table == "identities":
        ex += [
            _e(X.ExpectTableRowCountToBeBetween, "not_empty", min_value=1),
            _e(X.ExpectColumnValuesToNotBeNull, "not_null.user_uid", column="user_uid"),
            _e(X.ExpectColumnValuesToNotBeNull, "not_null.email", column="email"),
            _e(X.ExpectColumnValuesToBeUnique, "unique.user_uid", column="user_uid"),
            _e(X.ExpectColumnValuesToBeInSet, "allowed.type", column="type", value_set=IDENTITY_TYPES),
            _e(X.ExpectColumnMeanToBeBetween, "joinability.directory_fresh", column="_directory_fresh",
               min_value=t.get(table, "min_directory_fresh", 0.95)),
        ]
    elif table == "devices":
        ex += [
            _e(X.ExpectColumnValuesToNotBeNull, "not_null.device_uid", column="device_uid"),
            _e(X.ExpectColumnValuesToBeUnique, "unique.device_uid", column="device_uid"),
            _e(X.ExpectColumnValuesToNotBeNull, "not_null.ghost", column="ghost"),
            _e(X.ExpectColumnMeanToBeBetween, "joinability.mdm_and_edr", column="_mdm_and_edr",
               min_value=t.get(table, "min_mdm_and_edr", 0.85)),
        ]
    elif table == "entitlements":
        ex += [
            _e(X.ExpectColumnValuesToNotBeNull, "not_null.user_uid", column="user_uid"),
            _e(X.ExpectColumnValuesToNotBeNull, "not_null.entitlement", column="entitlement"),
            _e(X.ExpectColumnValuesToBeInSet, "allowed.entitlement_type", column="entitlement_type", value_set=ENTITLEMENT_TYPES),
            _e(X.ExpectCompoundColumnsToBeUnique, "unique.grant", column_list=["user_uid", "entitlement", "resource_uid"]),
        ]
    elif table == "resources":
        ex += [
            _e(X.ExpectColumnValuesToBeUnique, "unique.resource_uid", column="resource_uid"),
            _e(X.ExpectColumnValuesToBeInSet, "allowed.sensitivity", column="sensitivity", value_set=SENSITIVITY),
        ]
    elif table == "threat_indicators":
        ex += [
            _e(X.ExpectColumnValuesToNotBeNull, "not_null.value", column="value"),
            _e(X.ExpectColumnValuesToBeInSet, "allowed.indicator_type", column="indicator_type", value_set=INDICATOR_TYPES),
        ]
    else:
        raise KeyError(f"no suite for table {table!r}")
    return gx.ExpectationSuite(name=f"silver.{table}", expectations=ex)

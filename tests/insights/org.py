"""A hand-built two-night org for the people-facing tables, small enough to work out by hand.

- ann (Finance) was terminated on N1 and still holds finance-all and the file share: the leaver,
  one decision (disable the account) however many grants she holds.
- ben (Finance) holds aws-dev-admin, which none of his peers hold: the peer outlier. On N1 his
  device was unmanaged (managed device required); on N2 he is allowed again.
- cat moved from Finance to IT on N2 and still holds finance-all: the mover.
- dan (Finance) holds finance-all, a network-only file share and a just-in-time admin role.
- svc-report is an AWS IAM user on N1, deleted on N2: one long-lived credential eliminated.
"""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from expectations.gate import RESULTS_SCHEMA
from features.device import DEVICE_FEATURES_DDL
from features.identity import BASELINE_DDL, IDENTITY_FEATURES_DDL
from jobs.risk.incidents import INCIDENTS_DDL
from jobs.risk.score import RISK_DDL
from jobs.silver.build import conform
from jobs.silver.entitlements import ENTITLEMENTS_DDL
from jobs.silver.identities import IDENTITIES_SCHEMA
from jobs.silver.resources import RESOURCES_DDL
from models.peer_groups import PEER_GROUPS_DDL
from ztlake import delta_io
from ztlake.tables import (
    DEVICE_FEATURES_DAILY,
    IDENTITY_BASELINES,
    IDENTITY_FEATURES_DAILY,
    INCIDENTS,
    PEER_GROUPS,
    RISK_SCORES,
    VALIDATION_RESULTS,
    Table,
    silver,
)

N1, N2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
ANN, BEN, CAT, DAN = "ann@example.com", "ben@example.com", "cat@example.com", "dan@example.com"
SVC_ARN = "arn:aws:iam::111111111111:user/svc-report"
# A string a log could carry: it must show as text in the report, never run.
INJECTION = "<script>document.title='PWNED'</script><img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"


def uid(email: str) -> str:
    return "usr_" + email.split("@")[0]


def pad(df: DataFrame, schema: str | StructType) -> DataFrame:
    st = schema if isinstance(schema, StructType) else StructType.fromDDL(schema)
    given = set(df.columns)
    return conform(df.select("*", *[F.lit(None).cast(f.dataType).alias(f.name) for f in st.fields if f.name not in given]), st)


def put(spark: SparkSession, lake: str, table: Table, night: dt.date, rows: list[tuple], ddl: str, schema: str | StructType) -> None:
    df = pad(spark.createDataFrame(rows, ddl).withColumn("date", F.lit(night)), schema)
    delta_io.replace_where(spark, df, table.path(lake), f"date = {delta_io.lit_date(night)}", ["date"])


def write(spark: SparkSession, lake: str) -> None:
    for night in (N1, N2):
        ids = [
            (uid(ANN), ANN, "employee", False, "Finance", N1, N2 if night == N2 else None, True, N1, []),
            (uid(BEN), BEN, "employee", True, "Finance", None, None, True, N1, []),
            (uid(CAT), CAT, "employee", True, "Finance" if night == N1 else "IT", None, None, True, N1, []),
            (uid(DAN), DAN, "employee", True, "Finance", None, None, True, N1, []),
        ]
        if night == N1:
            ids.append(("usr_svc", "svc-report@example.com", "service", True, None, None, None, True, N1,
                        [("aws_principal_arn", SVC_ARN, "iam_user_service_account", "aws_iam")]))
        put(spark, lake, silver("identities"), night, ids,
            "user_uid string, email string, type string, active boolean, department string, termination_date date, "
            "deprovisioned_date date, in_directory boolean, first_seen_date date, "
            "aliases array<struct<alias_type:string,alias_value:string,rule:string,source:string>>", IDENTITIES_SCHEMA)
        used = N2 if night == N2 else N1
        g = (None, None, "group")
        put(spark, lake, silver("entitlements"), night, [
            (uid(ANN), ANN, "group:finance-all", "res-finance", False, True, False, N1, None, *g),
            (uid(ANN), ANN, "group:fileshare", "res-fs", False, True, False, N1, None, *g),
            (uid(BEN), BEN, "group:aws-dev-admin", "res-aws-dev", True, True, False, N1, None, *g),
            # What ben's group brings: the permission set it provisions, and a role that set's SSO
            # role reaches through a trust policy (two hops from the grant).
            (uid(BEN), BEN, "aws_permission_set:AdministratorAccess@res-aws-dev", "res-aws-dev", True, True, False, N1, None,
             "group:aws-dev-admin", "AWSReservedSSO_AdministratorAccess_", "aws_permission_set"),
            (uid(BEN), BEN, "aws_role:prod-deployer", "res-aws-dev", True, True, False, N1, None,
             "trust_policy:AWSReservedSSO_AdministratorAccess_0a1b2c3d", "prod-deployer", "aws_role"),
            (uid(BEN), BEN, "group:finance-all", "res-finance", False, True, False, N1, used, *g),
            (uid(CAT), CAT, "group:finance-all", "res-finance", False, True, False, N1, N1, *g),
            (uid(DAN), DAN, "group:finance-all", "res-finance", False, True, False, N1, used, *g),
            (uid(DAN), DAN, "group:fileshare", "res-fs", False, True, False, N1, used, *g),
            (uid(DAN), DAN, "group:dev-admin-jit", "res-aws-dev", True, False, True, N1, None, None, "AWSReservedSSO_DevAdmin_", "group"),
            # Silver marks a trust-chain role standing; it is reached only from dan's just-in-time group.
            (uid(DAN), DAN, "aws_role:dev-breakglass", "res-aws-dev", True, True, False, N1, None,
             "trust_policy:AWSReservedSSO_DevAdmin_77", "dev-breakglass", "aws_role"),
        ], "user_uid string, email string, entitlement string, resource_uid string, privileged boolean, standing boolean, "
           "just_in_time boolean, granted_at date, last_used date, via string, role_arn_prefix string, entitlement_type string",
            ENTITLEMENTS_DDL)
        put(spark, lake, silver("resources"), night, [
            ("res-aws-dev", "AWS dev", "platform-owner@example.com", "medium", "gateway", True),
            ("res-finance", "finance_dw", "finance-owner@example.com", "high", "ztna", True),
            ("res-fs", "fs01", "it-owner@example.com", "high", "network", True),
            ("res-payroll", "payroll", "finance-owner@example.com", "critical", "ztna", True),
        ], "resource_uid string, name string, owner_email string, sensitivity string, access_path string, in_catalog boolean", RESOURCES_DDL)
        put(spark, lake, PEER_GROUPS, night, [
            (uid(u), "group:" + e, r, c, 3) for u, e, r, c in (
                (BEN, "aws-dev-admin", "res-aws-dev", 0.0), (ANN, "finance-all", "res-finance", 1.0), (BEN, "finance-all", "res-finance", 1.0),
                (CAT, "finance-all", "res-finance", 1.0), (DAN, "finance-all", "res-finance", 1.0), (DAN, "fileshare", "res-fs", 0.5),
                (DAN, "dev-admin-jit", "res-aws-dev", 0.5))
        ], "user_uid string, entitlement string, resource_uid string, peer_coverage double, peers int", PEER_GROUPS_DDL)
        put(spark, lake, IDENTITY_BASELINES, night, [(uid(e), night) for e in (BEN, CAT, DAN)] + [(uid(ANN), N1)],
            "user_uid string, last_activity_date date", BASELINE_DDL)
        put(spark, lake, IDENTITY_FEATURES_DAILY, night, [(uid(BEN), BEN, 2, 0, 0, 0), (uid(DAN), DAN, 0, 3, 0, 0)],
            "user_uid string, email string, mfa_phishing_resistant long, mfa_push long, mfa_sms long, mfa_other long",
            IDENTITY_FEATURES_DDL)
        put(spark, lake, DEVICE_FEATURES_DAILY, night, [("dev-1", "LT-1", [uid(BEN), uid(DAN)])],
            "device_uid string, hostname string, users array<string>", DEVICE_FEATURES_DDL)
        factor = "array<struct<name:string,observed:double,severity:double,weight:double,contribution:double,detail:string>>"
        risk = ([(uid(BEN), BEN, "identity_day", 60.0, "managed_device_required", [("unmanaged_device", 1.0, 1.0, 25.0, 25.0, "x")])]
                if night == N1 else
                [(uid(BEN), BEN, "identity_day", 5.0, "allow", []), (uid(DAN), DAN, "identity_day", 30.0, "step_up", []),
                 (uid(ANN), ANN, "identity_day", 90.0, "deny", [("activity_after_termination", 1.0, 1.0, 70.0, 70.0, "active after leaving")])])
        put(spark, lake, RISK_SCORES, night, risk, f"user_uid string, email string, grain string, score double, decision string, factors {factor}",
            RISK_DDL)
        if night == N2:
            checks = spark.createDataFrame([(N2, t, f"joinability.{t}", True, True, dt.datetime(2026, 11, 3, 2)) for t in ("authentication", "identities")],
                                           "date date, table string, expectation string, passed boolean, blocking boolean, "
                                           "validated_at timestamp")
            delta_io.append(pad(checks, RESULTS_SCHEMA), VALIDATION_RESULTS.path(lake), ["date"])
            put(spark, lake, INCIDENTS, night, [
                ("inc_ann", uid(ANN), ANN, "open", "critical", 90.0, N2, N2, [("activity_after_termination", 70.0, INJECTION)],
                 ["disable the account"])],
                "incident_id string, user_uid string, email string, status string, severity string, max_score double, first_seen date, "
                "last_seen date, factors array<struct<name:string,contribution:double,detail:string>>, next_steps array<string>",
                INCIDENTS_DDL)


def _ms(night: dt.date, hh: int, mm: int = 0) -> int:
    return int(dt.datetime.combine(night, dt.time(hh, mm), dt.UTC).timestamp() * 1000)


def soc_case_lines() -> list[str]:
    """ann's case: created 10:00, acknowledged 10:30, resolved 14:00, a true positive. dan's:
    09:00, 10:00, 11:00, a false positive. And one record that is not an Incident Finding."""
    def update(case: str, who: str, k: int, t: int, act: int, status: int, verdict: int | None = None) -> str:
        u = {"class_uid": 2005, "category_uid": 2, "activity_id": act, "status_id": status, "time": t,
             "metadata": {"uid": f"{case}-{k}", "version": "1.3.0"}, "finding_info_list": [{"uid": case, "title": "case"}],
             "observables": [{"name": "user.email_addr", "type_id": 5, "value": who}]}
        if k:
            u["assignee"] = {"uid": "analyst-1"}
        if verdict:
            u["verdict_id"] = verdict
        return json.dumps(u)

    return [
        update("C-ANN", ANN, 0, _ms(N2, 10), 1, 1), update("C-ANN", ANN, 1, _ms(N2, 10, 30), 2, 2),
        update("C-ANN", ANN, 2, _ms(N2, 14), 3, 4, 2),
        update("C-DAN", DAN, 0, _ms(N2, 9), 1, 1), update("C-DAN", DAN, 1, _ms(N2, 10), 2, 2), update("C-DAN", DAN, 2, _ms(N2, 11), 3, 4, 1),
        json.dumps({"class_uid": 2004, "activity_id": 1, "time": _ms(N2, 12), "metadata": {"uid": "not-a-case"}}),
    ]

"""SOC case updates: OCSF 1.x Incident Finding (class 2005), one JSON object per create, update or
close of a case, as a SOAR or case-management tool exports them.

https://schema.ocsf.io/1.3.0/classes/incident_finding . The case is `finding_info_list[0].uid` (or
`metadata.correlation_uid`); its subject identities travel as `observables` (email addresses or user
names). Times are epoch milliseconds (`time`), or ISO strings (`time_dt`).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BooleanType, IntegerType, LongType, StructField

from jobs.landing.spec import SourceSpec, struct

INCIDENT_FINDING = struct(
    StructField("metadata", struct("uid", "version", "correlation_uid", StructField("product", struct("name", "vendor_name")))),
    "time", "time_dt", StructField("class_uid", IntegerType()), StructField("category_uid", IntegerType()),
    StructField("activity_id", IntegerType()), "activity_name", StructField("type_uid", LongType()),
    StructField("severity_id", IntegerType()), "severity", StructField("status_id", IntegerType()), "status",
    StructField("verdict_id", IntegerType()), "verdict", StructField("priority_id", IntegerType()), "priority",
    StructField("is_suspected_breach", BooleanType()), "desc",
    StructField("assignee", struct("uid", "name", "email_addr")),
    StructField("finding_info_list", ArrayType(struct("uid", "title", "created_time", "first_seen_time", "last_seen_time"))),
    StructField("observables", ArrayType(struct("name", StructField("type_id", IntegerType()), "type", "value"))),
    StructField("ticket", struct("uid", "src_url")),
)
# OCSF status_id: 1 New, 2 In Progress, 3 On Hold, 4 Resolved, 5 Closed. verdict_id: 1 False Positive,
# 2 True Positive, 3 Disregard, 4 Suspicious, 5 Benign, 6 Test, 7 Insufficient Data, 8 Security Risk,
# 9 Managed Externally, 10 Duplicate.
FALSE_POSITIVE_VERDICTS = (1, 5)
TRUE_POSITIVE_VERDICTS = (2, 8)


def _is_incident_finding(p: Column) -> Column:
    cls = p.getField("class_uid")
    case = F.coalesce(F.element_at(p.getField("finding_info_list"), 1).getField("uid"),
                      p.getField("metadata").getField("correlation_uid"))
    return (F.when(cls.isNotNull() & (cls != 2005), F.concat(F.lit("OCSF class_uid "), cls.cast("string"),
                                                           F.lit(" is not Incident Finding (2005)")))
            .when(case.isNull(), F.lit("no case id (finding_info_list[0].uid or metadata.correlation_uid)")))


SOC_CASES_SPEC = SourceSpec(
    name="soc_cases",
    schema=INCIDENT_FINDING,
    id_fields=("metadata.uid",),
    time_fields=("time", "time_dt"),
    required=("class_uid", "activity_id"),
    reject=_is_incident_finding,
)

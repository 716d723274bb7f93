"""Data access (OCSF 1.x Datastore Activity, class 6005), threat intel (STIX 2.1) and the
organization's resource catalog (CSV)."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BooleanType, IntegerType, LongType, StringType, StructField

from jobs.landing.spec import SourceSpec, struct

# https://schema.ocsf.io/1.1.0/classes/datastore_activity . Row and byte counts of a read or export
# travel in `query_info.bytes` and `unmapped.rows` (OCSF has no row-count attribute).
USER = struct("uid", "name", "email_addr", "type")
DATASTORE_ACTIVITY = struct(
    StructField("metadata", struct("uid", "version", StructField("product", struct("name", "vendor_name")))),
    "time", StructField("class_uid", IntegerType()), StructField("category_uid", IntegerType()),
    StructField("activity_id", IntegerType()), "activity_name", StructField("type_uid", LongType()),
    StructField("severity_id", IntegerType()), "status", StructField("status_id", IntegerType()),
    StructField("actor", struct(StructField("user", USER), StructField("session", struct("uid", "created_time")))),
    StructField("src_endpoint", struct("ip", "hostname", "uid", "name")),
    StructField("database", struct("name", "type", "uid")),
    StructField("databucket", struct("name", "type", "uid")),
    StructField("table", struct("name", "uid")),
    StructField("query_info", struct("query_string", StructField("bytes", LongType()), "uid")),
    StructField("unmapped", struct(StructField("rows", LongType()), "object_path", "tool")),
)


def _is_datastore_activity(p: Column) -> Column:
    cls = p.getField("class_uid")
    return F.when(cls.isNotNull() & (cls != 6005), F.concat(F.lit("OCSF class_uid "), cls.cast("string"),
                                                            F.lit(" is not Datastore Activity (6005)")))


DATA_ACCESS_SPEC = SourceSpec(
    name="data_access",
    schema=DATASTORE_ACTIVITY,
    id_fields=("metadata.uid",),
    time_fields=("time",),
    required=("class_uid", "actor.user.uid"),
    reject=_is_datastore_activity,
)

# STIX 2.1 (https://docs.oasis-open.org/cti/stix/v2.1/): bundles are split into objects; every object
# lands (identities and markings too), indicators carry the patterns.
STIX_OBJECT = struct(
    "type", "spec_version", "id", "created", "modified", "created_by_ref", "name", "description",
    "pattern", "pattern_type", "valid_from", "valid_until", StructField("confidence", IntegerType()),
    StructField("revoked", BooleanType()), StructField("labels", ArrayType(StringType())),
    StructField("indicator_types", ArrayType(StringType())),
)
THREAT_INTEL_SPEC = SourceSpec(
    name="threat_intel",
    schema=STIX_OBJECT,
    explode={"objects": None},
    id_fields=("id", "modified"),  # a STIX object version is its id plus `modified`
    time_fields=("modified", "created", "valid_from"),
    required=("type", "id"),
)

SENSITIVITY = ("low", "medium", "high", "critical")
ACCESS_PATHS = ("gateway", "ztna", "service_mesh", "network")
CATALOG = struct("resource_id", "name", "type", "owner_email", "sensitivity", "access_path", "data_classification")


def _catalog_values(p: Column) -> Column:
    sens, path = F.lower(F.trim(p.getField("sensitivity"))), F.lower(F.trim(p.getField("access_path")))
    return F.when(
        ~F.coalesce(sens, F.lit("")).isin(*SENSITIVITY),
        F.concat(F.lit("sensitivity '"), F.coalesce(p.getField("sensitivity"), F.lit("")),
                 F.lit(f"' is not one of {', '.join(SENSITIVITY)}")),
    ).when(
        ~F.coalesce(path, F.lit("")).isin(*ACCESS_PATHS),
        F.concat(F.lit("access_path '"), F.coalesce(p.getField("access_path"), F.lit("")),
                 F.lit(f"' is not one of {', '.join(ACCESS_PATHS)}")),
    )


CATALOG_SPEC = SourceSpec(
    name="resource_catalog",
    schema=CATALOG,
    id_fields=("resource_id",),
    required=("resource_id", "owner_email"),
    snapshot=True,
    reject=_catalog_values,
)

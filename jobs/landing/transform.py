"""Transform: raw records -> classified rows (land / duplicate / quarantine). Pure DataFrame code."""

from __future__ import annotations

import datetime as dt
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BooleanType, DataType, MapType, StringType, StructField, StructType

from jobs.landing.spec import SourceSpec, lenient_schema
from jobs.landing.timestamps import parse_timestamp

# Bronze metadata columns, appended after the vendor's typed columns.
META_COLUMNS = (
    "_event_id",
    "_event_time",
    "_event_date",
    "_raw",
    "_raw_sha256",
    "_parse_flags",
    "_source_file",
    "_line",
    "_landing_date",
    "_run_id",
    "_ingested_at",
)
QUARANTINE_COLUMNS = (
    "_quarantine_id",
    "source",
    "_source_file",
    "_line",
    "_raw",
    "reason",
    "_landing_date",
    "_run_id",
    "_ingested_at",
)

OUTCOME_LAND = "land"
OUTCOME_DUPLICATE = "duplicate"
OUTCOME_QUARANTINE = "quarantine"
EARLIEST_PLAUSIBLE = dt.datetime(2000, 1, 1)
CORRUPT = "_corrupt_record"


def _conflict() -> Column:
    return F.concat(F.lit("event id '"), F.col("_event_id"), F.lit("' is already used by a different record at "))


def _get(parsed: Column, dotted: str) -> Column:
    return reduce(lambda c, part: c.getField(part), dotted.split("."), parsed)


def parse(records: DataFrame, spec: SourceSpec) -> DataFrame:
    """Parse `_record` against the source's schema into a `p` struct, plus `_parse_flags`.

    One parse per record. Leaves are read as text, then the whole struct is cast to the documented
    types, so a stringified boolean or number (`"True"`, `"42"`) still lands typed; a value that
    cannot be converted becomes null (the record's text stays in `_raw`). Keys that an upstream
    pipeline lower-cased are restored to the documented casing first (flagged).
    """
    lenient = lenient_schema(spec.schema)
    assert isinstance(lenient, StructType)
    target = StructType([*spec.schema.fields, StructField(CORRUPT, StringType())])
    schema_ddl = StructType([*lenient.fields, StructField(CORRUPT, StringType())]).simpleString()
    record = F.col("_record")
    flags: list[Column] = []
    renames = _lowercased_keys(spec.schema)
    if spec.case_insensitive_keys and renames:
        lowered = record.rlike('"(' + "|".join(sorted(renames)) + r')"\s*:')
        restored = reduce(lambda c, kv: F.regexp_replace(c, f'"{kv[0]}"(\\s*:)', f'"{kv[1]}"$1'), sorted(renames.items()), record)
        records = records.withColumn("_lc", lowered).withColumn("_record", F.when(F.col("_lc"), restored).otherwise(record))
        flags.append(F.when(F.col("_lc"), F.lit("field names were lower-cased upstream; restored")))
    parsed = F.from_json("_record", schema_ddl, {"columnNameOfCorruptRecord": CORRUPT, "mode": "PERMISSIVE"})
    out = records.withColumn("p", parsed)
    # Valid JSON whose shape differs in some field (`"debugData": ""` where an object belongs):
    # parse field by field so only the misshapen fields become null, and name them.
    fields = F.from_json("_record", "map<string,string>")
    by_field = F.struct(
        *[
            (fields[f.name] if isinstance(f.dataType, StringType) else F.from_json(fields[f.name], f.dataType)).alias(
                f.name
            )
            for f in lenient.fields
        ],
        F.lit(None).cast("string").alias(CORRUPT),
    )
    misshapen = F.filter(
        F.array(
            *[
                F.when(
                    fields[f.name].isNotNull() & (F.lower(fields[f.name]) != "null") & F.col("p").getField(f.name).isNull(),
                    F.lit(f.name),
                )
                for f in lenient.fields
            ]
        ),
        lambda x: x.isNotNull(),
    )
    fallback = F.col("p").getField(CORRUPT).isNotNull() & F.ltrim(F.col("_record")).startswith("{") & fields.isNotNull()
    out = out.withColumn("_fb", fallback).withColumn("p", F.when(F.col("_fb"), by_field).otherwise(F.col("p")))
    out = out.withColumn("_misshapen", F.when(F.col("_fb"), misshapen))
    flags.append(
        F.when(
            F.size("_misshapen") > 0,
            F.concat(F.lit("fields with an unexpected shape were set to null: "), F.array_join("_misshapen", ", ")),
        )
    )
    out = out.withColumn("p", F.col("p").try_cast(target))
    out = out.withColumn("_time_text", _get(F.col("p"), spec.time_field).cast("string"))
    out = out.withColumn("_t", parse_timestamp(F.col("_time_text")))
    flags.append(F.when(F.col("_t.zone_assumed"), F.lit("timestamp had no zone; taken as UTC")))
    out = out.withColumn("_parse_flags", F.filter(F.array(*flags), lambda x: x.isNotNull()))
    return out.drop(*[c for c in ("_lc", "_fb", "_misshapen") if c in out.columns])


def _lowercased_keys(dtype: DataType) -> dict[str, str]:
    """{lower-cased name: documented name} for every field name, at any depth, that has capitals."""
    found: dict[str, str] = {}
    if isinstance(dtype, StructType):
        for f in dtype.fields:
            if f.name != f.name.lower():
                found[f.name.lower()] = f.name
            found.update(_lowercased_keys(f.dataType))
    elif isinstance(dtype, ArrayType):
        found.update(_lowercased_keys(dtype.elementType))
    elif isinstance(dtype, MapType):
        found.update(_lowercased_keys(dtype.valueType))
    return found


def _reason(spec: SourceSpec, landing_date: dt.date, max_future_days: int) -> Column:
    """The first reason a record cannot land, in words a person can act on; null if it can."""
    p = F.col("p")
    time_raw = F.col("_time_text")
    latest = dt.datetime.combine(landing_date + dt.timedelta(days=max_future_days), dt.time())
    reason = F.when(F.col("_file_error").isNotNull(), F.col("_file_error")).when(
        ~F.ltrim(F.col("_record")).startswith("{"),
        F.lit("record is not a JSON object"),
    )
    reason = reason.when(p.getField(CORRUPT).isNotNull(), F.lit("record is not valid JSON (malformed or truncated)"))
    for key in (*spec.required, spec.time_field):
        reason = reason.when(_get(p, key).isNull(), F.lit(f"missing required field `{key}`"))
    reason = reason.when(
        F.col("_t.ts").isNull(),
        F.concat(F.lit(f"unparseable timestamp in `{spec.time_field}`: '"), F.substring(time_raw, 1, 64), F.lit("'")),
    ).when(
        (F.col("_t.ts") < F.lit(EARLIEST_PLAUSIBLE)) | (F.col("_t.ts") >= F.lit(latest)),
        F.concat(
            F.lit(f"impossible timestamp in `{spec.time_field}`: "),
            F.col("_t.ts").cast("string"),
            F.lit(f" is before {EARLIEST_PLAUSIBLE.date()} or more than {max_future_days} day(s) after landing date {landing_date}"),
        ),
    )
    return reason


def classify(
    records: DataFrame,
    spec: SourceSpec,
    landing_date: dt.date,
    run_id: str,
    max_future_days: int = 2,
) -> DataFrame:
    """Decide, for every raw record of one batch, whether it lands, is a duplicate, or is
    quarantined (and why). Returns bronze columns plus `_outcome`, `reason`, `_quarantine_id`.

    Within the batch the first record (by file, line) for an event id lands; identical repeats are
    duplicates; different content under the same vendor id is quarantined as a conflict, never
    silently merged away.
    """
    parsed = parse(records, spec)
    vendor_id = _get(F.col("p"), spec.id_field).cast("string") if spec.id_field else F.lit(None).cast("string")
    rows = (
        parsed.withColumn("reason", _reason(spec, landing_date, max_future_days))
        .withColumn("_raw_sha256", F.sha2(F.col("_raw"), 256))
        .withColumn(
            "_event_id",
            F.coalesce(F.when(F.trim(vendor_id) != "", vendor_id), F.concat(F.lit("sha256:"), F.col("_raw_sha256"))),
        )
        .withColumn("_event_time", F.col("_t.ts"))
        .withColumn("_event_date", F.to_date("_event_time"))
    )
    valid = F.col("reason").isNull()
    first = Window.partitionBy(valid, "_event_id").orderBy("_source_file", "_line")
    rows = (
        rows.withColumn("_first_sha", F.first("_raw_sha256").over(first))
        .withColumn("_first_at", F.concat_ws(":", F.first("_source_file").over(first), F.first("_line").over(first)))
        .withColumn("_rank", F.row_number().over(first))
    )
    reason = F.when(~valid, F.col("reason")).when(
        (F.col("_rank") > 1) & (F.col("_first_sha") != F.col("_raw_sha256")),
        F.concat(_conflict(), F.col("_first_at"), F.lit(" (vendor ids must be unique)")),
    )
    outcome = (
        F.when(reason.isNotNull(), F.lit(OUTCOME_QUARANTINE))
        .when(F.col("_rank") > 1, F.lit(OUTCOME_DUPLICATE))
        .otherwise(F.lit(OUTCOME_LAND))
    )
    typed = [F.col("p").getField(c).alias(c) for c in spec.columns]
    return rows.select(
        *typed,
        "_event_id",
        "_event_time",
        "_event_date",
        "_raw",
        "_raw_sha256",
        "_parse_flags",
        "_source_file",
        "_line",
        F.lit(landing_date).alias("_landing_date"),
        F.lit(run_id).alias("_run_id"),
        F.current_timestamp().alias("_ingested_at"),
        outcome.alias("_outcome"),
        reason.alias("reason"),
        F.sha2(F.concat_ws("|", F.lit(spec.name), "_source_file", F.col("_line").cast("string"), "_raw"), 256).alias(
            "_quarantine_id"
        ),
    )


def against_bronze(classified: DataFrame, existing: DataFrame) -> DataFrame:
    """Re-classify rows that would land against what bronze already holds.

    `existing` has `_event_id`, `_raw_sha256` of landed rows (the caller prunes it to this batch's
    event dates). Same id and content: a duplicate (a re-delivery or a rerun). Same id, other
    content: quarantined as a conflict.
    """
    known = existing.select(F.col("_event_id").alias("_k_id"), F.col("_raw_sha256").alias("_k_sha")).dropDuplicates(
        ["_k_id"]
    )
    joined = classified.join(known, classified["_event_id"] == known["_k_id"], "left")
    landing = (F.col("_outcome") == OUTCOME_LAND) & F.col("_k_id").isNotNull()
    conflict = landing & (F.col("_k_sha") != F.col("_raw_sha256"))
    return (
        joined.withColumn(
            "reason",
            F.when(conflict, F.concat(_conflict(), F.lit("an earlier landing (vendor ids must be unique)"))).otherwise(
                F.col("reason")
            ),
        )
        .withColumn(
            "_outcome",
            F.when(conflict, F.lit(OUTCOME_QUARANTINE))
            .when(landing, F.lit(OUTCOME_DUPLICATE))
            .otherwise(F.col("_outcome")),
        )
        .drop("_k_id", "_k_sha")
    )


def bronze_rows(classified: DataFrame, spec: SourceSpec) -> DataFrame:
    """The rows that land, in bronze column order."""
    return classified.where(F.col("_outcome") == OUTCOME_LAND).select(*spec.columns, *META_COLUMNS)


def quarantine_rows(classified: DataFrame, spec: SourceSpec) -> DataFrame:
    return classified.where(F.col("_outcome") == OUTCOME_QUARANTINE).select(
        "_quarantine_id",
        F.lit(spec.name).alias("source"),
        "_source_file",
        "_line",
        "_raw",
        "reason",
        "_landing_date",
        "_run_id",
        "_ingested_at",
    )


def audit_rows(classified: DataFrame, spec: SourceSpec, files: DataFrame) -> DataFrame:
    """Per-file reconciliation: records_read = landed + duplicates + quarantined.

    `files` lists every file seen (`_source_file`, `bytes`), so an empty file still appears.
    """
    counts = classified.groupBy("_source_file").agg(
        F.count(F.lit(1)).alias("records_read"),
        F.sum((F.col("_outcome") == OUTCOME_LAND).cast("long")).alias("landed"),
        F.sum((F.col("_outcome") == OUTCOME_DUPLICATE).cast("long")).alias("duplicates"),
        F.sum((F.col("_outcome") == OUTCOME_QUARANTINE).cast("long")).alias("quarantined"),
    )
    joined = files.join(counts, "_source_file", "left")
    filled = joined.select(
        F.lit(spec.name).alias("source"),
        "_source_file",
        "bytes",
        *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in ("records_read", "landed", "duplicates", "quarantined")],
    )
    return filled.withColumn(
        "reconciled", F.col("records_read") == F.col("landed") + F.col("duplicates") + F.col("quarantined")
    )

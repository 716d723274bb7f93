"""Transform: raw records -> classified rows (land / duplicate / quarantine). Pure DataFrame code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from jobs.landing.spec import Path, SourceSpec, label, lenient_schema, parts
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


def _get(parsed: Column, path: Path) -> Column:
    return reduce(lambda c, part: c.getField(part), parts(path), parsed)


def _first(parsed: Column, paths: tuple[Path, ...]) -> Column:
    return F.coalesce(*[_get(parsed, p) for p in paths]) if len(paths) > 1 else _get(parsed, paths[0])


def _tag(kind: str | None) -> Callable[[Column], Column]:
    return lambda item: F.struct(F.lit(kind).cast("string").alias("kind"), item.alias("item"))


def explode_containers(records: DataFrame, spec: SourceSpec) -> DataFrame:
    """Split container documents (`{"Resources": [...]}`, STIX bundles, IAM authorization details)
    into one record per item, numbered in document order; other records pass through."""
    if not spec.explode:
        return records
    keys = list(spec.explode)
    containers = F.from_json("_record", StructType([StructField(k, ArrayType(StringType())) for k in keys]))
    items = F.flatten(
        F.array(
            *[
                F.coalesce(
                    F.transform(containers.getField(k), _tag(spec.explode[k])),
                    F.array().cast("array<struct<kind:string,item:string>>"),
                )
                for k in keys
            ]
        )
    )
    with_items = records.withColumn("_items", items)
    is_container = F.size("_items") > 0
    passthrough = with_items.where(~is_container | F.col("_items").isNull()).drop("_items")
    exploded = with_items.where(is_container).select(
        *[c for c in records.columns if c not in ("_line", "_raw", "_record")],
        F.posexplode("_items").alias("_pos", "_it"),
        "_line",
    )
    item = F.col("_it.item")
    record = (
        F.when(
            F.col("_it.kind").isNotNull() & F.ltrim(item).startswith("{"),
            F.concat(F.lit(f'{{"{spec.kind_field}":"'), F.col("_it.kind"), F.lit('",'), F.expr("substring(ltrim(_it.item), 2)")),
        ).otherwise(item)
        if spec.kind_field
        else item
    )
    exploded = exploded.select(
        *[c for c in records.columns if c not in ("_line", "_raw", "_record")],
        (F.col("_pos") + 1).cast("int").alias("_line"),
        item.alias("_raw"),
        record.alias("_record"),
    )
    return passthrough.unionByName(exploded)


# Parsing expressions depend only on a source's declared schema: they are built once per source
# (and JVM) and reused on every night a process runs, since building them is thousands of JVM calls.
_PARSE_STEPS: dict[tuple[int, int], tuple[SourceSpec, list[tuple[str, Column]]]] = {}


def parse(records: DataFrame, spec: SourceSpec) -> DataFrame:
    """Parse `_record` against the source's schema into a `p` struct, plus `_parse_flags`.

    One parse per record. Leaves are read as text, then the whole struct is cast to the documented
    types, so a stringified boolean or number (`"True"`, `"42"`) still lands typed; a value that
    cannot be converted becomes null (the record's text stays in `_raw`). Keys that an upstream
    pipeline lower-cased are restored to the documented casing first (flagged).
    """
    key = (id(spec), id(records.sparkSession._jvm))
    if key not in _PARSE_STEPS:
        _PARSE_STEPS[key] = (spec, _parse_steps(spec))
    out = records
    for name, column in _PARSE_STEPS[key][1]:
        out = out.withColumn(name, column)
    return out.drop(*[c for c in ("_lc", "_fb", "_misshapen") if c in out.columns])


def _parse_steps(spec: SourceSpec) -> list[tuple[str, Column]]:
    """The columns `parse` adds, in order (each may read the ones before it)."""
    lenient = lenient_schema(spec.schema)
    assert isinstance(lenient, StructType)
    target = StructType([*spec.schema.fields, StructField(CORRUPT, StringType())])
    parse_schema = StructType([*lenient.fields, StructField(CORRUPT, StringType())])
    record = F.col("_record")
    flags: list[Column] = []
    steps: list[tuple[str, Column]] = []
    # A lower-cased name that is itself documented somewhere (CloudTrail `arn` vs `resources[].ARN`)
    # is ambiguous: leave it alone rather than rename a valid key.
    renames = {k: v for k, v in _lowercased_keys(spec.schema).items() if k not in _all_names(spec.schema)}
    if spec.case_insensitive_keys and renames:
        lowered = record.rlike('"(' + "|".join(sorted(renames)) + r')"\s*:')
        restored = record
        for lowered_name, documented in sorted(renames.items()):
            restored = F.regexp_replace(restored, f'"{lowered_name}"(\\s*:)', f'"{documented}"$1')
        steps += [("_lc", lowered), ("_record", F.when(F.col("_lc"), restored).otherwise(record))]
        flags.append(F.when(F.col("_lc"), F.lit("field names were lower-cased upstream; restored")))
    steps.append(("p", F.from_json("_record", parse_schema, {"columnNameOfCorruptRecord": CORRUPT, "mode": "PERMISSIVE"})))
    # Valid JSON whose shape differs in some field (`"debugData": ""` where an object belongs):
    # parse field by field so only the misshapen fields become null, and name them.
    fields = F.from_json("_record", "map<string,string>")
    by_field = F.struct(
        *[
            (fields[f.name] if isinstance(f.dataType, StringType) else _from_json(fields[f.name], f.dataType)).alias(
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
    steps += [("_fb", fallback), ("p", F.when(F.col("_fb"), by_field).otherwise(F.col("p"))),
              ("_misshapen", F.when(F.col("_fb"), misshapen))]
    flags.append(
        F.when(
            F.size("_misshapen") > 0,
            F.concat(F.lit("fields with an unexpected shape were set to null: "), F.array_join("_misshapen", ", ")),
        )
    )
    steps.append(("p", F.col("p").try_cast(target)))
    # From here on `p` holds the bronze columns (vendor paths coalesced), so keys name columns.
    projected = [_first(F.col("p"), paths).alias(name) for name, paths in spec.column_paths().items()]
    steps.append(("p", F.struct(*projected, F.col("p").getField(CORRUPT).alias(CORRUPT))))
    time_text = _first(F.col("p"), spec.time_fields).cast("string") if spec.time_fields else F.lit(None).cast("string")
    steps += [("_time_text", time_text), ("_t", parse_timestamp(F.col("_time_text")))]
    flags.append(F.when(F.col("_t.zone_assumed"), F.lit("timestamp had no zone; taken as UTC")))
    steps.append(("_parse_flags", F.filter(F.array(*flags), lambda x: x.isNotNull())))
    return steps


def _from_json(text: Column, dtype: DataType) -> Column:
    return F.from_json(text, dtype)  # type: ignore[arg-type]  # any DataType works at runtime


def _all_names(dtype: DataType) -> set[str]:
    if isinstance(dtype, StructType):
        return {f.name for f in dtype.fields}.union(*[_all_names(f.dataType) for f in dtype.fields])
    if isinstance(dtype, ArrayType):
        return _all_names(dtype.elementType)
    if isinstance(dtype, MapType):
        return _all_names(dtype.valueType)
    return set()


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
    time_name = " / ".join(f"`{label(t)}`" for t in spec.time_fields)
    latest = dt.datetime.combine(landing_date + dt.timedelta(days=max_future_days), dt.time())
    reason = F.when(F.col("_file_error").isNotNull(), F.col("_file_error")).when(
        ~F.ltrim(F.col("_record")).startswith("{"),
        F.lit("record is not a JSON object"),
    )
    reason = reason.when(p.getField(CORRUPT).isNotNull(), F.lit("record is not valid JSON (malformed or truncated)"))
    if spec.reject is not None:
        rejected = spec.reject(p)
        reason = reason.when(rejected.isNotNull(), rejected)
    for key in spec.required:
        reason = reason.when(_get(p, key).isNull(), F.lit(f"missing required field `{label(key)}`"))
    if spec.snapshot:
        return reason
    reason = reason.when(time_raw.isNull(), F.lit(f"missing required field {time_name}"))
    reason = reason.when(
        F.col("_t.ts").isNull(),
        F.concat(F.lit(f"unparseable timestamp in {time_name}: '"), F.substring(time_raw, 1, 64), F.lit("'")),
    ).when(
        (F.col("_t.ts") < F.lit(EARLIEST_PLAUSIBLE)) | (F.col("_t.ts") >= F.lit(latest)),
        F.concat(
            F.lit(f"impossible timestamp in {time_name}: "),
            F.col("_t.ts").cast("string"),
            F.lit(f" is before {EARLIEST_PLAUSIBLE.date()} or more than {max_future_days} day(s) after landing date {landing_date}"),
        ),
    )
    return reason


TYPED = "_typed"


def prepare(records: DataFrame, spec: SourceSpec, landing_date: dt.date, run_id: str, max_future_days: int = 2) -> DataFrame:
    """Parse and check every raw record of one source's batch, before duplicates are decided.

    Returns the bronze metadata columns, `source`, the pre-duplicate `reason`, and `_typed`: a
    struct of the source's typed bronze columns (so sources with different schemas can share one
    plan, see `classify_sources`)."""
    parsed = parse(explode_containers(records, spec), spec)
    id_parts = [_get(F.col("p"), f).cast("string") for f in spec.id_fields]
    if spec.snapshot and id_parts:
        id_parts.append(F.lit(landing_date.isoformat()))
    vendor_id = (
        F.when(F.greatest(*[c.isNull() for c in id_parts]) == F.lit(False), F.concat_ws("|", *id_parts))
        if len(id_parts) > 1
        else (id_parts[0] if id_parts else F.lit(None).cast("string"))
    )
    if spec.snapshot:  # the state as of the landing night
        parsed = parsed.withColumn(
            "_t", F.struct(F.lit(dt.datetime.combine(landing_date, dt.time())).alias("ts"), F.lit(False).alias("zone_assumed"))
        )
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
    return rows.select(
        F.lit(spec.name).alias("source"),
        F.struct(*[F.col("p").getField(name).alias(name) for name in spec.bronze_columns]).alias(TYPED),
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
        "reason",
        F.sha2(F.concat_ws("|", F.lit(spec.name), "_source_file", F.col("_line").cast("string"), "_raw"), 256).alias(
            "_quarantine_id"
        ),
    )


def decide(prepared: DataFrame) -> DataFrame:
    """Within the batch, per source, the first record (by file, line) for an event id lands;
    identical repeats are duplicates; different content under the same vendor id is quarantined
    as a conflict, never silently merged away. Adds `_outcome` and the final `reason`."""
    valid = F.col("reason").isNull()
    first = Window.partitionBy("source", valid, "_event_id").orderBy("_source_file", "_line")
    rows = (
        prepared.withColumn("_first_sha", F.first("_raw_sha256").over(first))
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
    return rows.withColumn("_outcome", outcome).withColumn("reason", reason).drop("_first_sha", "_first_at", "_rank")


def classify_sources(batches: Sequence[tuple[SourceSpec, DataFrame]], landing_date: dt.date, run_id: str,
                     max_future_days: int = 2) -> DataFrame:
    """Classify several sources' batches in one plan (one shuffle, one materialization).

    Each source is parsed against its own schema; its typed columns go into its own field of one
    wide `_typed` struct (null for the other sources), so every source's rows share one shape.
    Read a source's bronze rows back with `bronze_rows(df, spec)`."""
    prepared = [(spec, prepare(records, spec, landing_date, run_id, max_future_days)) for spec, records in batches]
    types = {spec.name: df.schema[TYPED].dataType for spec, df in prepared}
    union: DataFrame | None = None
    for spec, df in prepared:
        wide = F.struct(*[(F.col(TYPED) if name == spec.name else F.lit(None).cast(t)).alias(name) for name, t in types.items()])
        branch = df.withColumn(TYPED, wide)
        union = branch if union is None else union.unionByName(branch)
    assert union is not None
    return decide(union)


def empty_classified(records: DataFrame, spec: SourceSpec, landing_date: dt.date) -> DataFrame:
    """No rows, with the shape `classify` gives `spec` (`records`: an empty `read_records` frame)."""
    return classify(records, spec, landing_date, "", 2)


def classify(
    records: DataFrame,
    spec: SourceSpec,
    landing_date: dt.date,
    run_id: str,
    max_future_days: int = 2,
) -> DataFrame:
    """Decide, for every raw record of one source's batch, whether it lands, is a duplicate, or is
    quarantined (and why). Returns `source`, `_typed`, the bronze metadata columns, `_outcome`,
    `reason` and `_quarantine_id`."""
    return classify_sources([(spec, records)], landing_date, run_id, max_future_days)


def against_bronze(classified: DataFrame, existing: DataFrame) -> DataFrame:
    """Re-classify rows that would land against what bronze already holds.

    `existing` has `source`, `_event_id`, `_raw_sha256` of landed rows (the caller prunes it to
    this batch's event dates). Same id and content: a duplicate (a re-delivery or a rerun). Same id, other
    content: quarantined as a conflict.
    """
    known = existing.select(
        F.col("source").alias("_k_source"), F.col("_event_id").alias("_k_id"), F.col("_raw_sha256").alias("_k_sha")
    ).dropDuplicates(["_k_source", "_k_id"])
    joined = classified.join(
        known, (classified["source"] == known["_k_source"]) & (classified["_event_id"] == known["_k_id"]), "left"
    )
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
        .drop("_k_source", "_k_id", "_k_sha")
    )


def bronze_rows(classified: DataFrame, spec: SourceSpec) -> DataFrame:
    """The rows of one source that land, in bronze column order."""
    typed = F.col(TYPED).getField(spec.name)
    return classified.where((F.col("source") == spec.name) & (F.col("_outcome") == OUTCOME_LAND)).select(
        *[typed.getField(c).alias(c) for c in spec.bronze_columns], *META_COLUMNS
    )


def quarantine_rows(classified: DataFrame) -> DataFrame:
    """Every quarantined record of the batch, whatever its source, with its reason."""
    return classified.where(F.col("_outcome") == OUTCOME_QUARANTINE).select(
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


AUDIT_SCHEMA = StructType([
    StructField("source", StringType()),
    StructField("_source_file", StringType()),
    StructField("bytes", LongType()),
    StructField("records_read", LongType()),
    StructField("landed", LongType()),
    StructField("duplicates", LongType()),
    StructField("quarantined", LongType()),
    StructField("reconciled", BooleanType()),
    StructField("_landing_date", DateType()),
    StructField("_run_id", StringType()),
    StructField("_ingested_at", TimestampType()),
])


def outcome_tally(classified: DataFrame) -> DataFrame:
    """Records per (source, file, outcome, reason kind): everything the per-file audit and the
    quarantine summary need, in one small aggregate. A reason's quoted values are masked so that
    reasons of one kind count together."""
    why = F.when(F.col("_outcome") == OUTCOME_QUARANTINE, F.regexp_replace("reason", r"'[^']*'", "'…'"))
    return classified.groupBy("source", "_source_file", "_outcome", why.alias("why")).agg(F.count(F.lit(1)).alias("n"))

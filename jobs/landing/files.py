"""Get: list a landing folder and read its files into one row per raw record. No parsing here.

Landing layout: `<landing>/<source>/<YYYY-MM-DD>/<files>`. A file is `.json` (a JSON array, one
object, or `{"Records": [...]}`), `.jsonl`/`.ndjson`, or `.csv` with a header, each optionally
`.gz`. Files are read whole, one task per file, so reads are distributed and nothing is
collected to the driver; line numbers are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

# One declared shape for what `read_records` returns.
RECORD_COLUMNS = ("_source_file", "_line", "_raw", "_record", "_file_error")

SIDECAR_SUFFIXES = ("labels.csv",)  # label sidecars next to logs are not logs
CSV_MAX_COLUMNS = 64


@dataclass(frozen=True)
class LandedFile:
    path: str
    size: int


def list_files(spark: SparkSession, directory: str) -> list[LandedFile]:
    """List data files below `directory` (any Hadoop-compatible URI); [] if it does not exist."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hconf = spark.sparkContext._jsc.hadoopConfiguration()
    root = jvm.org.apache.hadoop.fs.Path(directory)
    fs = root.getFileSystem(hconf)
    if not fs.exists(root):
        return []
    found: list[LandedFile] = []
    iterator = fs.listFiles(root, True)
    while iterator.hasNext():
        status = iterator.next()
        name = status.getPath().getName()
        if name.startswith((".", "_")) or name.lower().endswith(SIDECAR_SUFFIXES):
            continue
        found.append(LandedFile(status.getPath().toString(), int(status.getLen())))
    return sorted(found, key=lambda f: f.path)


def _format(path: Column) -> Column:
    ext = F.regexp_extract(F.lower(path), r"\.([a-z]+)(\.gz)?$", 1)
    return F.when(ext.isin("jsonl", "ndjson", "log", "txt"), F.lit("lines")).otherwise(ext)


def read_records(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Read files into rows of `RECORD_COLUMNS`.

    `_raw` is the record's original text (a line, a CSV row, or an array element); `_record` is
    the JSON text to parse (CSV rows become JSON objects keyed by the header); `_file_error` is
    set when the file as a whole cannot be split into records.
    """
    if not paths:
        return spark.createDataFrame(
            [], "_source_file string, _line int, _raw string, _record string, _file_error string"
        )
    files = (
        spark.read.text(paths, wholetext=True)
        .select(
            F.col("_metadata.file_path").alias("_source_file"),
            F.regexp_replace("value", "^\ufeff", "").alias("content"),
        )
        .withColumn("fmt", _format(F.col("_source_file")))
    )
    trimmed = F.ltrim(F.col("content"))
    # A `.json` file whose first line is already a whole object is JSON Lines under another name.
    first_line = F.regexp_extract("content", r"^\s*([^\r\n]*)", 1)
    jsonl_named_json = F.from_json(first_line, "map<string,string>").isNotNull() & (
        F.size(F.filter(F.split(F.trim(F.col("content")), r"\r?\n"), lambda x: F.trim(x) != "")) > 1
    )
    single_doc = F.from_json("content", "map<string,string>").isNotNull() & ~jsonl_named_json
    json_array = F.from_json("content", "array<string>")
    records_envelope = F.from_json("content", "struct<Records:array<string>>").getField("Records")
    is_json = F.col("fmt") == "json"
    kind = (
        F.when(is_json & trimmed.startswith("["), F.lit("array"))
        .when(is_json & trimmed.startswith("{") & single_doc, F.lit("object"))
        .when(F.col("fmt") == "csv", F.lit("csv"))
        .otherwise(F.lit("lines"))
    )
    lines = F.split(F.col("content"), r"\r?\n")
    split = (
        files.withColumn("kind", kind)
        .withColumn(
            "items",
            F.when(F.col("kind") == "array", json_array)
            .when(F.col("kind") == "object", F.coalesce(records_envelope, F.array(F.col("content"))))
            .otherwise(lines),
        )
        .withColumn(
            "_file_error",
            F.when(
                (F.col("kind") == "array") & F.col("items").isNull(),
                F.lit("file is not a valid JSON array (truncated or malformed); nothing in it could be read"),
            ),
        )
    )
    # Everything per file is computed before the explode and the file's text is dropped: an
    # expression over `content` next to the generator would run once per output line (quadratic).
    per_file = (
        split.withColumn("_header", F.regexp_extract("content", r"^([^\r\n]*)", 1))
        .withColumn("items", F.when(F.col("_file_error").isNull(), F.col("items")).otherwise(F.array("content")))
        .drop("content")
    )
    exploded = per_file.select(
        "_source_file", "kind", "_header", "_file_error", F.posexplode("items").alias("pos", "_raw")
    ).select("_source_file", "kind", "_header", (F.col("pos") + 1).cast("int").alias("_line"), "_raw", "_file_error")
    # Blank lines are layout, not records.
    exploded = exploded.where(F.col("_file_error").isNotNull() | (F.trim(F.col("_raw")) != ""))
    return _csv_to_json(exploded).select(*RECORD_COLUMNS)


def _csv_to_json(rows: DataFrame) -> DataFrame:
    """Turn CSV rows into JSON objects keyed by their file's header (line 1), all in the JVM."""
    positional = ", ".join(f"c{i} string" for i in range(CSV_MAX_COLUMNS))
    names = F.transform(F.split(F.col("_header"), ","), lambda c: F.trim(F.regexp_replace(c, '"', "")))
    values = F.from_csv(F.col("_raw"), positional, {"mode": "PERMISSIVE"})
    as_array = F.array(*[values.getField(f"c{i}") for i in range(CSV_MAX_COLUMNS)])
    as_json = F.to_json(F.map_from_arrays(names, F.slice(as_array, 1, F.size(names))))
    return (
        rows.where(~((F.col("kind") == "csv") & (F.col("_line") == 1)))
        .withColumn("_record", F.when(F.col("kind") == "csv", as_json).otherwise(F.col("_raw")))
    )

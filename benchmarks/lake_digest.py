"""Regression check: do two lakes hold the same rows in every silver, gold and quality table?

Used to prove a rebuild of the nightly execution changed how a night runs, not what it writes:
run the same generated enterprise (fixed seed) through the old code and the new one, then

    .venv/bin/python benchmarks/lake_digest.py --lake /tmp/old/lake --save /tmp/old.json
    .venv/bin/python benchmarks/lake_digest.py --lake /tmp/new/lake --compare /tmp/old.json

Each table is read with Spark, the columns that say *when* or *in which run* a row was written
(run ids, ingestion and validation times, MLflow run ids) are dropped, every remaining column is
rendered to canonical JSON (arrays as written; paths relative to the run's root;
doubles to 12 significant digits, since a mean summed in another order differs in its last bit), and the rows are hashed as a multiset. A table whose
digest differs is reported with its row counts and up to five rows found on one side only.
Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DoubleType, StringType

# Columns that record the run, not the data: they differ between any two runs of the same night.
# `_quarantine_id` hashes the file's absolute path, so it differs between two landing roots.
VOLATILE = re.compile(
    r"^(_quarantine_id|_?run_id|_ingested_at|validated_at|published_at|computed_at|created_at|mlflow_run_id|.*_run_id|"
    r"logged_at|trained_at|scored_at|accepted_at|rendered_at|data_docs|at)$"
)
LAYERS = ("bronze", "silver", "gold", "quality")


def tables(lake: Path) -> list[str]:
    return sorted(str(p.parent.relative_to(lake)) for p in lake.glob("*/*/_delta_log") if p.parent.parent.name in LAYERS)


def _stable_column(name: str, dtype: DataType) -> Column:
    col = F.col(f"`{name}`")
    if isinstance(dtype, StringType):
        # Paths name the folder a run used (`/tmp/a/landing/okta/...`): compare them from the root.
        return F.regexp_replace(col, r"^(file:)?/.*/(landing|lake|policies)/", "<root>/$2/").alias(name)
    if isinstance(dtype, DoubleType):
        # A mean summed in another order can differ in its last bit: compare 12 significant digits.
        return F.format_string("%.12g", col).alias(name)
    return col.alias(name)


def stable(df: DataFrame) -> DataFrame:
    keep = [f for f in df.schema.fields if not VOLATILE.match(f.name)]
    return df.select(F.to_json(F.struct(*[_stable_column(f.name, f.dataType) for f in keep])).alias("row"))


def digest(spark: SparkSession, lake: Path, table: str) -> dict[str, object]:
    rows = stable(spark.read.format("delta").load(str(lake / table)))
    agg = rows.select(F.xxhash64("row").alias("h")).agg(
        F.count("*").alias("n"),
        F.sum(F.col("h") % 1_000_000_007).alias("s1"),
        F.sum((F.col("h") / 7) % 998_244_353).alias("s2"),
    ).first()
    assert agg is not None
    return {"rows": agg["n"], "digest": f"{agg['s1'] or 0}:{int(agg['s2'] or 0)}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", required=True, type=Path)
    parser.add_argument("--save", type=Path, help="write the digests here (JSON)")
    parser.add_argument("--compare", type=Path, help="compare with digests saved from another lake")
    parser.add_argument("--other-lake", type=Path, help="with --compare: the lake the saved digests came from, to show rows")
    parser.add_argument("--skip", default="", help="comma-separated tables to leave out (listed intended differences)")
    args = parser.parse_args()

    from dagster_project.resources import SparkResource

    spark = SparkResource(master="local[2]").session()
    lake = args.lake.resolve()
    skip = {s for s in args.skip.split(",") if s}
    found = {t: digest(spark, lake, t) for t in tables(lake) if t not in skip}
    if args.save:
        args.save.write_text(json.dumps(found, indent=1, sort_keys=True))
        print(f"saved {len(found)} table digests to {args.save}")
    if not args.compare:
        for t, d in found.items():
            print(f"{t:45} {d['rows']:>9} rows  {d['digest']}")
        return 0
    before = {t: d for t, d in json.loads(args.compare.read_text()).items() if t not in skip}
    differ = 0
    for t in sorted(set(before) | set(found)):
        a, b = before.get(t), found.get(t)
        if a == b:
            print(f"same     {t:45} {b['rows'] if b else 0:>9} rows")  # type: ignore[index]
            continue
        differ += 1
        print(f"DIFFERS  {t:45} before {a['rows'] if a else 'missing'} rows, now {b['rows'] if b else 'missing'} rows")  # type: ignore[index]
        if a and b and args.other_lake:
            old = stable(spark.read.format("delta").load(str(args.other_lake.resolve() / t)))
            new = stable(spark.read.format("delta").load(str(lake / t)))
            for side, rows in (("only before", old.exceptAll(new)), ("only now", new.exceptAll(old))):
                for r in rows.limit(3).collect():
                    print(f"    {side}: {r['row'][:600]}")
    print(f"{len(found)} tables compared, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

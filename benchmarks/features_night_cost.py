"""Benchmark: does a feature night cost the same on night 30 as on night 3, and 10x identities within
10x the time? Writes a routine synthetic silver layer (every identity signs in, queries and, for
every fifth, calls the cloud API, each night), then times `build_identity_features` night by night in
one Spark session. Prints figures and the rows each night read; it is not a test.

    .venv/bin/python benchmarks/features_night_cost.py --identities 200 --nights 30 --scale 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time

from pyspark.sql import SparkSession

from dagster_project.resources import SparkResource
from features import build as FB
from features.config import load as load_features
from jobs.silver.build import EVENT_PARTITION, Night
from jobs.silver.config import load as load_silver
from ztlake import delta_io
from ztlake.tables import silver

START = dt.date(2026, 11, 1)


def write_night(spark: SparkSession, lake: str, night: dt.date, people: int) -> None:
    def ts(h: int, m: int) -> dt.datetime:
        return dt.datetime.combine(night, dt.time(h, m))
    auth, api, store = [], [], []
    for i in range(people):
        u = f"usr_{i}"
        for k in range(3):
            auth.append((u, ts(8 + k, i % 60), f"dev-{i}", "res-okta", f"81.2.69.{i % 250}", "GB", 51.5, -0.13, 1, "Success",
                         k == 0, "FIDO2", True, f"a-{night}-{i}-{k}", night, night))
        for k in range(2):
            store.append((u, ts(10 + k, i % 60), f"dev-{i}", f"res-{i % 7}", "10.0.0.1", "Query", "Success", 100 + i, 5000,
                          f"d-{night}-{i}-{k}", night, night))
        if i % 5 == 0:
            api.append((u, ts(12, i % 60), None, "res-aws", "81.2.69.1", "ListUsers", "iam.amazonaws.com", None, True, None, None,
                        ts(11, 0), False, f"c-{night}-{i}", night, night))
    from tests.gold.tiny_org import API, AUTH, STORE, pad, snapshot  # the tiny org's column sets and writers
    for table, rows, ddl in (("authentication", auth, AUTH), ("api_activity", api, API), ("datastore_activity", store, STORE)):
        delta_io.replace_where(spark, spark.createDataFrame(rows, ddl), silver(table).path(lake),
                               f"_landing_date = {delta_io.lit_date(night)}", [EVENT_PARTITION])
    snapshot(spark, lake, "identities", night, [(night, f"usr_{i}", f"u{i}@example.com", f"U {i}", "employee", f"D{i % 6}", "T", True,
                                                 None, START) for i in range(people)],
             "date date, user_uid string, email string, display_name string, type string, department string, title string, "
             "in_directory boolean, termination_date date, first_seen_date date")
    from jobs.silver.devices import DEVICES_DDL
    devs = spark.createDataFrame([(night, f"dev-{i}", True, True) for i in range(people)],
                                 "date date, device_uid string, managed boolean, compliant boolean")
    delta_io.replace_where(spark, pad(devs, DEVICES_DDL), silver("devices").path(lake), f"date = {delta_io.lit_date(night)}", ["date"])
    snapshot(spark, lake, "resources", night, [(night, f"res-{k}", "high" if k == 0 else "low") for k in range(7)],
             "date date, resource_uid string, sensitivity string")
    snapshot(spark, lake, "threat_indicators", night, [(night, "indicator--x", "ipv4-addr", "203.0.113.1", True)],
             "date date, indicator_uid string, indicator_type string, value string, active boolean")


def run(spark: SparkSession, people: int, nights: int) -> dict[int, tuple[float, dict[str, int]]]:
    out = {}
    with tempfile.TemporaryDirectory() as d:
        lake = f"{d}/lake"
        for k in range(nights):
            night = START + dt.timedelta(days=k)
            write_night(spark, lake, night, people)
            t = time.perf_counter()
            _, scanned = FB.build_identity_features(Night(spark, lake, night, load_silver()), load_features())
            out[k + 1] = (time.perf_counter() - t, scanned)
            print(f"{people} identities, night {k + 1}: {out[k + 1][0]:.1f} s, read {scanned}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--identities", type=int, default=200)
    ap.add_argument("--nights", type=int, default=30)
    ap.add_argument("--scale", type=int, default=10)
    args = ap.parse_args()
    spark = SparkResource(master="local[2]").session()
    base = run(spark, args.identities, args.nights)
    # Nights 1-2 warm the JVM; compare the median of nights 3-5 with the median of the last three.
    early = sorted(base[k][0] for k in (3, 4, 5))[1]
    late = sorted(base[k][0] for k in range(args.nights - 2, args.nights + 1))[1]
    print(f"\nnight {args.nights} vs night 3 (medians of 3): {late:.1f} s / {early:.1f} s = {late / early:.2f}x")
    big = run(spark, args.identities * args.scale, 5)
    big3 = sorted(big[k][0] for k in (3, 4, 5))[1]
    print(f"{args.scale}x identities ({args.identities * args.scale}), nights 3-5 median: {big3:.1f} s vs {early:.1f} s = "
          f"{big3 / early:.2f}x (target: within {args.scale}x)")


if __name__ == "__main__":
    main()

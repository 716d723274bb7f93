"""Benchmark: one nightly run through Dagster vs a bare Spark pass over the same raw files.

The bare pass reads each source's landing folder for the night as text and writes it to Delta;
it is the floor any landing pipeline pays. Both run in this process with one Spark session, so
the ratio is measured in the same conditions. Prints figures; it is not a test.

    .venv/bin/python benchmarks/nightly_vs_bare.py --identities 500 --days 4
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from dagster_project.resources import SparkResource
from jobs.landing.files import list_files
from jobs.sources import SOURCES
from ztlake.generator import generate
from ztlake.nightly import run_nights


def bare_pass(spark, landing: Path, night: dt.date, out: Path) -> float:
    start = time.perf_counter()
    for source in SOURCES:
        files = [f.path for f in list_files(spark, str(landing / source / night.isoformat()))]
        if files:
            spark.read.text(files).write.format("delta").mode("append").save(str(out / source))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--identities", type=int, default=500)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ztlake-bench-"))
    try:
        t = time.perf_counter()
        generate(root / "landing", args.identities, args.days, args.start, seed=7)
        print(f"generate: {args.identities} identities x {args.days} days in {time.perf_counter() - t:.1f}s")
        spark = SparkResource(master="local[2]").session()
        bare_pass(spark, root / "landing", args.start, root / "warmup")  # JIT and session warm-up
        nights = [args.start + dt.timedelta(days=i) for i in range(args.days)]
        for night in nights:
            bare = bare_pass(spark, root / "landing", night, root / "bare")
            t = time.perf_counter()
            (result,) = run_nights(str(root / "landing"), str(root / "lake"), [night], master="local[2]")
            nightly = time.perf_counter() - t
            assert result.success, result.message
            print(f"night {night}: bare Spark pass {bare:.1f}s, nightly run {nightly:.1f}s, ratio {nightly / bare:.2f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

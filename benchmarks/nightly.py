"""Benchmark: K nights of the real Dagster `nightly` job on a generated enterprise of N identities,
against a bare Spark pass over the same raw files, in one process and one Spark session.

    .venv/bin/python benchmarks/nightly.py --identities 200 --nights 4
    .venv/bin/python benchmarks/nightly.py --identities 10000 --nights 1 --density 100 --layers bronze,silver,gold,quality

Per night it prints:
- seconds per layer and per asset (Dagster step durations), and the night's wall time;
- Spark jobs per asset (from Spark's status store: each job is attributed to the step whose
  time window holds its submission) and the night's total;
- Delta commits per table written (new `_delta_log/*.json` files) and the night's total;
- the bare pass: each source's files for the night read as text and appended to a Delta table,
  and the ratio of the night to it.

Prints figures; it is not a test. Put results in BENCHMARKS.md with the command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance
from pyspark.sql import SparkSession

from dagster_project.resources import SparkResource
from jobs.landing.files import list_files
from jobs.sources import SOURCES
from ztlake.generator import generate
from ztlake.nightly import run_nights


def bare_pass(spark: SparkSession, landing: Path, night: dt.date, out: Path) -> float:
    """Read each source's files for the night as text and append them to a Delta table."""
    start = time.perf_counter()
    for source in SOURCES:
        files = [f.path for f in list_files(spark, str(landing / source / night.isoformat()))]
        if files:
            spark.read.text(files).write.format("delta").mode("append").save(str(out / source))
    return time.perf_counter() - start


def job_times(spark: SparkSession, after_id: int) -> list[tuple[int, float]]:
    """(job id, submission time in epoch seconds) of every Spark job with an id above `after_id`."""
    store = spark.sparkContext._jsc.sc().statusStore()  # type: ignore[union-attr]
    out = []
    jobs = store.jobsList(None)  # a Scala Seq
    for i in range(jobs.size()):
        jd = jobs.apply(i)
        jid = jd.jobId()
        if jid > after_id and jd.submissionTime().isDefined():
            out.append((jid, jd.submissionTime().get().getTime() / 1000.0))
    return sorted(out)


def delta_versions(lake: Path) -> Counter[str]:
    """Number of commits in each table's Delta log."""
    return Counter({str(log.parent.relative_to(lake)): len(list(log.glob("*.json"))) for log in lake.glob("*/*/_delta_log")})


def step_windows(instance: DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    starts: dict[str, float] = {}
    windows: dict[str, tuple[float, float]] = {}
    for rec in instance.all_logs(run_id):
        ev = rec.dagster_event
        if ev is None or ev.step_key is None:
            continue
        if ev.event_type == DagsterEventType.STEP_START:
            starts[ev.step_key] = rec.timestamp
        elif ev.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            windows[ev.step_key] = (starts.get(ev.step_key, rec.timestamp), rec.timestamp)
    return windows


def layer_of(step: str) -> str:
    return step.split("__", 1)[0] if "__" in step else step


def report(night: dt.date, wall: float, bare: float, windows: dict[str, tuple[float, float]], jobs: list[tuple[int, float]],
           commits: Counter[str]) -> dict[str, Any]:
    per_step: dict[str, int] = defaultdict(int)
    unattributed = 0
    for _, t in jobs:
        owner = next((s for s, (a, b) in windows.items() if a - 0.05 <= t <= b + 0.05), None)
        if owner is None:
            unattributed += 1
        else:
            per_step[owner] += 1
    by_layer: dict[str, float] = defaultdict(float)
    for step, (a, b) in windows.items():
        by_layer[layer_of(step)] += b - a
    print(f"\n=== night {night}: {wall:.1f}s wall; bare pass {bare:.1f}s; ratio {wall / bare:.2f}x; "
          f"{len(jobs)} Spark jobs; {sum(commits.values())} Delta commits over {len(commits)} tables")
    print("  seconds by layer: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(by_layer.items(), key=lambda kv: -kv[1])))
    print(f"  {'step':55} {'seconds':>8} {'jobs':>6}")
    for step, (a, b) in sorted(windows.items(), key=lambda kv: kv[1][0]):
        print(f"  {step:55} {b - a:8.1f} {per_step.get(step, 0):6d}")
    if unattributed:
        print(f"  {'(between steps: run start, checks, run end)':55} {'':>8} {unattributed:6d}")
    print("  commits: " + ", ".join(f"{t} {n}" for t, n in sorted(commits.items())))
    many = {t: n for t, n in commits.items() if n > 1}
    if many:
        print(f"  tables with more than one commit tonight: {many}")
    return {"night": str(night), "wall": wall, "bare": bare, "jobs": len(jobs), "commits": sum(commits.values()),
            "layers": dict(by_layer)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--identities", type=int, default=200)
    parser.add_argument("--nights", type=int, default=4)
    parser.add_argument("--density", type=int, default=None,
                        help="records per identity per night (default: the generator's own, about 15)")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--retrain-every-days", type=int, default=None)
    parser.add_argument("--only-nights", default="", help="comma-separated night numbers (1-based) to time; "
                        "the others still run but are not printed, e.g. 3,30")
    parser.add_argument("--keep", type=Path, default=None, help="use this folder and keep it (else a temporary one)")
    args = parser.parse_args()
    root = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="ztlake-bench-"))
    shown = {int(x) for x in args.only_nights.split(",") if x}
    try:
        t = time.perf_counter()
        kwargs = {"density": args.density} if args.density else {}
        summary = generate(root / "landing", args.identities, args.nights, args.start, seed=args.seed,
                           labels=root / "labels.jsonl", **kwargs)
        print(f"generate: {sum(summary.records.values())} records, {args.identities} identities x {args.nights} nights "
              f"in {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        spark = SparkResource(master=args.master, conf={"spark.ui.retainedJobs": "100000"}).session()
        print(f"spark session: {time.perf_counter() - t:.1f}s")
        bare_pass(spark, root / "landing", args.start, root / "warmup")  # JIT and session warm-up
        home = root / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").touch()
        lake = root / "lake"
        rows = []
        for i in range(args.nights):
            night = args.start + dt.timedelta(days=i)
            bare = bare_pass(spark, root / "landing", night, root / "bare")
            last_job = max((j for j, _ in job_times(spark, -1)), default=-1)
            before = delta_versions(lake) if lake.exists() else Counter()
            t = time.perf_counter()
            (result,) = run_nights(str(root / "landing"), str(lake), [night], master=args.master, dagster_home=str(home),
                                   labels=str(root / "labels.jsonl"), retrain_every_days=args.retrain_every_days)
            wall = time.perf_counter() - t
            if not result.success:
                raise SystemExit(f"night {night} failed in {result.failed_step}: {result.message}")
            commits = delta_versions(lake) - before
            if shown and i + 1 not in shown:
                print(f"night {i + 1} ({night}): {wall:.1f}s")
                continue
            with DagsterInstance.from_config(str(home)) as instance:
                windows = step_windows(instance, result.run_id)
            rows.append(report(night, wall, bare, windows, job_times(spark, last_job), commits))
        print("\nsummary: night, wall s, bare s, ratio, Spark jobs, Delta commits")
        for r in rows:
            print(f"  {r['night']}  {r['wall']:7.1f}  {r['bare']:6.1f}  {r['wall'] / r['bare']:6.2f}x  {r['jobs']:5d}  {r['commits']:4d}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

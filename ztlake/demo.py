"""`ztlake demo`: generate the demo enterprise, run every night through Dagster, say where to look."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from models.tracking import tracking_uri
from ztlake.generator import generate
from ztlake.nightly import run_nights
from ztlake.tables import report_path

DEMO_RETRAIN_EVERY_DAYS = 2


def run_demo(out: Path, identities: int, days: int, start: dt.date, seed: int, echo: Callable[[str], None]) -> int:
    out = out.resolve()
    landing, lake, home = out / "landing", out / "lake", out / "dagster_home"
    echo(f"generating the demo enterprise ({identities} identities x {days} days, seed {seed}) into {landing}")
    echo(str(generate(landing, identities, days, start, seed, labels=out / "labels.jsonl")))
    nights = [start + dt.timedelta(days=i) for i in range(days)]
    # The demo is short, so its models retrain every other night (weekly in production) to show a
    # bootstrap champion, then candidates backtested on held-out days and promoted or kept as challengers.
    results = run_nights(str(landing), str(lake), nights, dagster_home=str(home), echo=echo, labels=str(out / "labels.jsonl"),
                         retrain_every_days=DEMO_RETRAIN_EVERY_DAYS)
    if not all(r.success for r in results) or len(results) != len(nights):
        bad = next(r for r in results if not r.success)
        echo(f"error: night {bad.night} failed in {bad.failed_step}: {bad.message}")
        return 1
    echo(summary(lake, home, landing, nights[-1]))
    return 0


def summary(lake: Path, home: Path, landing: Path, last: dt.date) -> str:
    tables = sorted(p.parent.relative_to(lake) for p in lake.glob("*/*/_delta_log"))
    lines = ["", "The demo produced these Delta tables:"]
    lines += [f"  {lake / t}" for t in tables]
    lines += [
        "",
        "Look at them:",
        f"  quarantined records and why:   {lake / 'bronze/quarantine'}",
        f"  per-file reconciliation:       {lake / 'bronze/ingest_audit'}",
        f"  the joined model (OCSF):       {lake / 'silver'}  (see docs/silver.md)",
        f"  ghost devices:                 {lake / 'silver/devices'}  (ghost = true, with ghost_evidence)",
        f"  joinability gate results:      {lake / 'quality/validation_results'}",
        f"  Great Expectations Data Docs:  {lake / 'quality/gx/uncommitted/data_docs/local_site/index.html'}",
        f"  published (validated) nights:  {lake / 'gold/nightly_publication'}",
        f"  identity and device features:  {lake / 'gold/identity_features_daily'}, {lake / 'gold/device_features_daily'}"
        "  (see docs/features.md)",
        f"  peer-outlier entitlements:     {lake / 'gold/peer_outliers'}  (rank 1 = most unusual; see docs/models.md)",
        f"  behaviour anomaly scores:      {lake / 'gold/behaviour_scores'}  (with top_factors in words)",
        f"  model and policy backtests:    {lake / 'quality/backtest'}",
        f"  risk decisions and factors:    {lake / 'gold/risk_scores'}  (policy: policies/current.yaml; see docs/policy.md)",
        f"  incidents:                     {lake / 'gold/incidents'}",
        f"  each scenario, caught or not:  .venv/bin/python benchmarks/decision_catch.py --lake {lake} "
        f"--labels {lake.parent / 'labels.jsonl'}  (its rank on its night at a 1% alert budget; see docs/policy.md)",
        "",
        "For people (see docs/metrics.md):",
        f"  leadership report:             {report_path(str(lake), last.isoformat())}  (one per night under {lake / 'reports'})",
        f"  access reviews (IAM teams):    {lake / 'gold/access_review_priorities'}",
        f"    as CSV per resource owner:   .venv/bin/ztlake export access-reviews --lake {lake} --date {last} "
        "--out reviews.csv --per-owner --pseudonymize",
        f"  blast radius:                  {lake / 'gold/blast_radius'}",
        f"  outcome metrics:               {lake / 'gold/outcome_metrics'}",
        "",
        "Open the Dagster UI (runs, asset checks, partitions):",
        f"  DAGSTER_HOME={home} ZTLAKE_LAKE={lake} ZTLAKE_LANDING={landing} .venv/bin/dagster dev -h 127.0.0.1",
        "  (or: make dev)",
        "",
        "Open the MLflow UI (experiments, backtest metrics, registered models and their champion alias):",
        f"  .venv/bin/mlflow ui --backend-store-uri {tracking_uri(str(lake))} --host 127.0.0.1 --port 5000",
    ]
    return "\n".join(lines)

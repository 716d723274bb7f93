"""What each model catches and misses, by scenario, on a lake the nightly job has run.

For every labelled episode (the generator's labels file): the behaviour score's rank among that day's
identity-days and whether it falls inside each alert budget, the peer-outlier rank of the identity,
and which model version scored it (and whether that model was trained on that day: only scores from
a model trained before the day are out-of-sample). Then the backtests recorded in quality/backtest.

    .venv/bin/python benchmarks/model_catch.py --lake demo/lake --labels demo/labels.jsonl
"""

from __future__ import annotations

import argparse
import math

from pyspark.sql import functions as F
from pyspark.sql.window import Window

from models.backtest import label_days
from models.config import load as load_models
from ztlake import delta_io
from ztlake.spark import build_session
from ztlake.tables import BACKTEST, BEHAVIOUR_SCORES, PEER_OUTLIERS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", required=True)
    ap.add_argument("--labels", required=True)
    args = ap.parse_args()
    spark = build_session("local[2]", "model-catch", None, {})
    budgets = load_models().budgets
    labels = label_days(args.labels)
    w = Window.partitionBy("date").orderBy(F.desc("anomaly_score"))
    beh = delta_io.read(spark, BEHAVIOUR_SCORES.path(args.lake)).select(
        "date", "email", "anomaly_score", "percentile", "model_version", F.rank().over(w).alias("rank"),
        F.count("*").over(Window.partitionBy("date")).alias("n"), "top_factors").toPandas()
    peers = delta_io.read(spark, PEER_OUTLIERS.path(args.lake)).select("date", "email", F.col("rank").alias("peer_rank"),
                                                                      "outlier_score").toPandas()
    beh["email"] = beh["email"].str.lower()
    peers["email"] = peers["email"].str.lower()
    m = labels.merge(beh, on=["date", "email"], how="left").merge(peers, on=["date", "email"], how="left")
    print(f"{'scenario':36} {'kind':17} {'date':10} {'beh rank':>9} {'in 1%':>6} {'in 5%':>6} {'peer rank':>9}  top factors")
    for r in m.sort_values(["scenario", "kind"]).itertuples():
        if isinstance(r.n, float) and math.isnan(r.n):
            print(f"{r.scenario:36} {r.kind:17} {r.date!s:10}  (not scored)")
            continue
        inside = [r.rank <= max(1, math.ceil(b * r.n)) for b in budgets]
        factors = "; ".join(f["explanation"] for f in (list(r.top_factors) if r.top_factors is not None else []))[:90]
        print(f"{r.scenario:36} {r.kind:17} {r.date!s:10} {int(r.rank):>4}/{int(r.n):<4} {'yes' if inside[1] else 'no':>6} "
              f"{'yes' if inside[2] else 'no':>6} {int(r.peer_rank) if r.peer_rank == r.peer_rank else '-':>9}  {factors}")
    bt = delta_io.read(spark, BACKTEST.path(args.lake)).orderBy("date", "model", "role", "budget").toPandas()
    print("\nquality/backtest (held-out days):")
    for r in bt.itertuples():
        metrics = (f"budget {r.budget:.3f}: recall {r.recall:.2f} precision {r.precision:.2f} pr_auc {r.pr_auc:.2f} "
                   f"caught {list(r.caught)} missed {list(r.missed)} lookalikes {list(r.lookalikes_alerted)}"
                   if r.budget == r.budget and r.budget is not None else r.note)
        print(f"{r.date} {r.model:26} v{r.model_version:3} {r.role:10} {r.heldout_start}..{r.heldout_end} "
              f"days={r.identity_days} pos={r.positives} {metrics}")


if __name__ == "__main__":
    main()

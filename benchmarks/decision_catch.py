"""What the risk policy catches, by scenario, on a lake the nightly job has run (issue 6's target).

For every labelled episode (the generator's labels file), on its day: the identity-day risk score,
its rank among that day's identity-days, counted pessimistically (every identity-day with an equal or
higher score ranks ahead), whether it falls inside an alert budget of 1% of that day's identity-days,
and inside 1% of all the run's identity-days pooled, and the strictest decision the identity got
that day at either grain. Then, for the benign look-alikes: how many were denied, and how many were
held to more than step-up, judged by the rows of their own episode (the identity-day row and every
request row whose evidence names one of the label's event ids: `models.backtest.lookalike_decisions`).
A stricter decision that day on another request of the same person is shown beside it, and the
count by the day's strictest row is printed too.

A second reading counts new cases only: an identity-day whose identity already has an open incident
(a row of either grain scoring the policy's `incidents.min_score` on one of the previous
`incidents.window_days` nights) updates that case rather than raising a new alert, so it takes no
slot of the night's budget; such an attack counts as caught when it scores min_score itself. This
is the reading issue 6's budget is judged on: an alert is a case, and a case is updated, not raised
again, on later nights. The strict reading (every identity-day takes a slot) is printed as well.
Nights holding more attacks than their budget are named first: no ranking catches them all.

    .venv/bin/python benchmarks/decision_catch.py --lake demo/lake --labels demo/labels.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt

from pyspark.sql import functions as F
from pyspark.sql.window import Window

from jobs.risk.build import lookalike_rows
from jobs.risk.policy import DECISIONS, LOOKALIKE_OK, load
from models.backtest import label_days, lookalike_decisions
from ztlake import delta_io
from ztlake.generator.scenarios import alerts_per_night
from ztlake.spark import build_session
from ztlake.tables import RISK_SCORES


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--budget", type=float, default=0.01)
    ap.add_argument("--noise", type=int, default=0, help="also print each night's N highest unlabelled identity-days")
    args = ap.parse_args()
    spark = build_session("local[2]", "decision-catch", None, {})
    risk = delta_io.read(spark, RISK_SCORES.path(args.lake))
    strict = F.array_position(F.array(*[F.lit(d) for d in DECISIONS]), F.col("decision"))
    worst = risk.groupBy("date", F.lower("email").alias("email")).agg(F.max(strict).alias("worst"))
    days = risk.where(F.col("grain") == "identity_day").select("date", F.lower("email").alias("email"), "score", "factors")
    by_day = Window.partitionBy("date").orderBy(F.desc("score")).rangeBetween(Window.unboundedPreceding, Window.currentRow)
    pooled = Window.orderBy(F.desc("score")).rangeBetween(Window.unboundedPreceding, Window.currentRow)
    ranked = days.select("*", F.count("*").over(by_day).alias("rank"), F.count("*").over(Window.partitionBy("date")).alias("n"),
                         F.count("*").over(pooled).alias("pooled_rank")).join(worst, ["date", "email"], "left").toPandas()
    total = len(ranked)
    k_pooled = alerts_per_night(total, args.budget)
    # Open cases: nights on which an identity had a row scoring at least the incident threshold.
    policy = load()
    alerting = risk.groupBy("date", F.lower("email").alias("email")).agg(F.max("score").alias("top")).where(
        F.col("top") >= policy.incident_min_score).toPandas()
    hot = {(a.email, a.date) for a in alerting.itertuples()}
    window = int(policy.incident_window_days)
    ranked["open_case"] = [any((e, d - dt.timedelta(days=k)) in hot for k in range(1, window + 1))
                           for e, d in zip(ranked["email"], ranked["date"], strict=True)]
    new = ranked[~ranked["open_case"]]
    ranked["new_rank"] = [None if o else int(((new["date"] == d) & (new["score"] >= sc)).sum())
                          for o, d, sc in zip(ranked["open_case"], ranked["date"], ranked["score"], strict=True)]
    every_label = label_days(args.labels)
    # Incidental labels (an attack pattern nobody planted, such as a leaver still working while
    # deprovisioning lags) are no scenario: they are shown with the night's other top rows, tagged.
    incidental = {(x.date, x.email) for x in every_label[every_label["kind"] == "incidental"].itertuples()}
    labels = every_label[every_label["kind"] != "incidental"]
    m = labels.merge(ranked, on=["date", "email"], how="left")
    benign = labels[labels["kind"] == "benign_lookalike"]
    judged = lookalike_decisions(benign, lookalike_rows(risk, set(benign["email"])), DECISIONS)
    verdict = {(j.scenario, j.email, j.date): j for j in judged.itertuples()}
    print(f"{total} identity-days over {ranked['date'].nunique()} nights; budget {args.budget:.1%}: per day "
          f"{sorted({alerts_per_night(n, args.budget) for n in ranked['n']})} alert(s), pooled {k_pooled}")
    per_night = labels[labels["kind"] == "attack"].groupby("date").size()
    cap = ranked.groupby("date")["n"].first().map(lambda n: alerts_per_night(n, args.budget))
    crowded = [f"{d} ({int(k)} attacks, {int(cap[d])} slots)" for d, k in per_night.items() if d in cap and k > cap[d]]
    if crowded:
        print(f"nights with more attacks than their budget holds (no ranking catches them all): {', '.join(crowded)}")
    print(f"{'scenario':36} {'kind':17} {'date':10} {'score':>6} {'rank/day':>9} {'1%/day':>6} {'1% pooled':>9}  "
          f"{'new case':>9}  {'strictest decision':24} top factors")
    caught_day, caught_pooled, caught_case, denied, above, shared = set(), set(), set(), [], [], []
    denied_day, above_day = [], []
    attacked = {(a.date, a.email) for a in labels[labels["kind"] == "attack"].itertuples()}
    for r in m.sort_values(["scenario", "kind"]).itertuples():
        if r.n != r.n:  # not scored (NaN)
            print(f"{r.scenario:36} {r.kind:17} {r.date!s:10}  (no identity-day row)")
            continue
        k_day = alerts_per_night(r.n, args.budget)
        in_day = r.rank <= k_day
        in_pooled = r.pooled_rank <= k_pooled
        decision = DECISIONS[int(r.worst) - 1] if r.worst == r.worst and r.worst else "?"
        in_case = r.score >= policy.incident_min_score if r.open_case else r.new_rank <= k_day
        case = ("open " if r.open_case else f"{int(r.new_rank)} ") + ("yes" if in_case else "no")
        if r.kind == "attack":
            caught_day |= {r.scenario} if in_day else set()
            caught_pooled |= {r.scenario} if in_pooled else set()
            caught_case |= {r.scenario} if in_case else set()
        elif (r.date, r.email) in attacked:  # the same identity-day as an attack: its decision is the attack's
            shared.append(r.scenario)
        else:
            j = verdict[(r.scenario, r.email, r.date)]
            decision = j.episode_decision or "?"
            denied += [r.scenario] if decision == "deny" else []
            above += [r.scenario] if decision not in LOOKALIKE_OK else []
            denied_day += [r.scenario] if j.day_decision == "deny" else []
            above_day += [r.scenario] if j.day_decision not in LOOKALIKE_OK else []
            decision += f" (other rows that day: {', '.join(j.other)})" if j.other else ""
        factors = ", ".join(f["name"] for f in (list(r.factors) if r.factors is not None else [])[:4])
        print(f"{r.scenario:36} {r.kind:17} {r.date!s:10} {r.score:6.1f} {int(r.rank):>4}/{int(r.n):<4} {'yes' if in_day else 'no':>6} "
              f"{'yes' if in_pooled else 'no':>9} {case:>9}  {decision:24} {factors}")
    scenarios = sorted(set(labels[labels["kind"] == "attack"]["scenario"]))
    print(f"\nattack scenarios caught at {args.budget:.1%} of their day: {len(caught_day)}/{len(scenarios)}; "
          f"missed: {sorted(set(scenarios) - caught_day)}")
    print(f"attack scenarios caught at {args.budget:.1%} of all identity-days: {len(caught_pooled)}/{len(scenarios)}; "
          f"missed: {sorted(set(scenarios) - caught_pooled)}")
    print(f"attack scenarios caught as new cases at {args.budget:.1%} of their day (open cases updated, not counted): "
          f"{len(caught_case)}/{len(scenarios)}; missed: {sorted(set(scenarios) - caught_case)}")
    print(f"benign look-alikes denied: {len(denied)} {sorted(denied)}; held above step-up: {len(above)} {sorted(above)} "
          "(judged by the rows of their own episode)")
    print(f"  by the identity's strictest row of the day instead: denied {len(denied_day)} {sorted(denied_day)}; "
          f"above step-up {len(above_day)} {sorted(above_day)}")
    if shared:
        print(f"look-alikes on an attacked identity-day (not judged): {sorted(shared)}")
    if args.noise:
        labelled = {(x.date, x.email) for x in labels.itertuples()}
        print(f"\nper night, the {args.noise} highest identity-days of no planted episode ([incidental]: labelled so, "
              "an alert on it is right; [open]: its incident is open, so it takes no new-case slot):")
        for date, g in ranked.sort_values(["date", "rank"]).groupby("date"):
            rows = [x for x in g.itertuples() if (x.date, x.email) not in labelled][:args.noise]
            for x in rows:
                factors = ", ".join(f"{f['name']}={f['contribution']:.0f}" for f in (list(x.factors) if x.factors is not None else []))
                tags = ("[incidental] " if (x.date, x.email) in incidental else "") + ("[open] " if x.open_case else "")
                print(f"  {date!s:10} {int(x.rank):>4} {x.score:6.1f} {x.email:34} {tags}{factors}")


if __name__ == "__main__":
    main()

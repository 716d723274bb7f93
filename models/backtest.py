"""Backtest: how well a model's scores rank labelled scenario identity-days, on held-out days.

An identity-day is positive when a labelled attack episode (the generator's `--labels` file, or an
analyst's labels in the same format) starts for that identity on that day. At each alert budget (a
share of the held-out identity-days, e.g. the top 1%), recall is the share of positives inside the
budget and precision the share of the budget that is positive; PR-AUC is the average precision over
the whole ranking. Benign look-alikes are reported separately: they should stay outside the budget.

An `incidental` label marks an attack pattern nobody planted (the generator labels a leaver still
working while deprovisioning lags). An alert on it is correct, so it counts towards precision and is
left out of PR-AUC (neither positive nor negative); it is not a scenario, so recall ignores it.

A benign look-alike is judged by the decisions on its own episode (`lookalike_decisions`): the
identity-day row and every request row whose evidence names one of the label's `event_ids`. A
stricter decision on another request that day (the same person signing in from an unmanaged laptop,
say) is the policy's answer to that request, not to the look-alike; it is reported beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sklearn.metrics import average_precision_score

BACKTEST_DDL = (
    "date date, run_id string, model string, model_version string, role string, heldout_start date, heldout_end date, "
    "identity_days bigint, positives bigint, budget double, alerts bigint, recall double, precision double, pr_auc double, "
    "caught array<string>, missed array<string>, lookalikes_alerted array<string>, false_deny_rate double, note string, "
    "_models_version string"
)


def metric_key(kind: str, b: float) -> str:
    """`recall_at_1pct`, `precision_at_0.5pct` (MLflow metric names)."""
    return f"{kind}_at_{b * 100:g}pct"


def label_days(path: str | Path | None) -> pd.DataFrame:
    """(email, date, scenario, kind, event_ids) per labelled episode, dated by the landing night its
    events are in (`night`), or by its start (UTC) for labels that do not say. `event_ids` is a tuple,
    empty for labels that name no events."""
    cols = ["email", "date", "scenario", "kind", "event_ids"]
    if not path or not Path(path).exists():
        return pd.DataFrame(columns=cols)
    rows = []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            night = dt.date.fromisoformat(r["night"]) if r.get("night") else \
                dt.datetime.fromisoformat(r["start"].replace("Z", "+00:00")).date()
            rows.append((r["identity"].strip().lower(), night, r["scenario"], r["kind"], tuple(r.get("event_ids") or ())))
    return pd.DataFrame(rows, columns=cols)


@dataclass
class Result:
    identity_days: int
    positives: int
    metrics: dict[str, float] = field(default_factory=dict)
    caught: dict[float, list[str]] = field(default_factory=dict)
    missed: dict[float, list[str]] = field(default_factory=dict)
    lookalikes_alerted: dict[float, list[str]] = field(default_factory=dict)
    note: str = ""
    false_deny_rate: float | None = None  # risk decisions only: share of benign look-alikes denied on their episode
    above_step_up_rate: float | None = None  # risk decisions only: share held to more than step-up on their episode

    @property
    def measured(self) -> bool:
        return self.positives > 0


def evaluate(scored: pd.DataFrame, labels: pd.DataFrame, budgets: tuple[float, ...], open_cases: set[str] | None = None,
             case_min_score: float = 0.0) -> Result:
    """`scored`: one row per held-out identity-day (date, email, score; higher = more suspicious).

    With `open_cases` (emails with an incident open when the night starts), alerts are new cases: an
    identity-day of an open case takes no slot of the budget (it updates its case, and counts as
    caught when it scores at least `case_min_score`, the incident threshold). The budget is still the
    same share of all identity-days, and precision is that of the new alerts."""
    if scored.empty:
        return Result(0, 0, note="not measured: no held-out identity-days")
    s = scored.assign(email=scored["email"].fillna("").str.lower()).sort_values(["score", "date", "email"],
                                                                               ascending=[False, True, True]).reset_index(drop=True)
    days = set(s["date"])
    lab = labels[labels["date"].isin(days)]
    attacks = lab[lab["kind"] == "attack"]
    benign = lab[lab["kind"] == "benign_lookalike"]
    key = list(zip(s["date"], s["email"], strict=False))
    pos = set(zip(attacks["date"], attacks["email"], strict=False))
    unplanted = lab[lab["kind"] == "incidental"]
    incidental = set(zip(unplanted["date"], unplanted["email"], strict=False)) - pos
    y = [1 if k in pos else 0 for k in key]
    r = Result(len(s), int(sum(y)))
    if not r.measured:
        r.note = "not measured: no labelled attack identity-days in the held-out days"
        return r
    ranked = [(yy, sc) for k, yy, sc in zip(key, y, s["score"].astype(float), strict=True) if k not in incidental]
    r.metrics["pr_auc"] = float(average_precision_score([yy for yy, _ in ranked], [sc for _, sc in ranked]))
    updating = set() if open_cases is None else {
        kk for kk, sc in zip(key, s["score"], strict=True) if kk[1] in open_cases and float(sc) >= case_min_score}
    queue = key if open_cases is None else [kk for kk in key if kk[1] not in open_cases]
    for b in budgets:
        k = max(1, math.ceil(b * len(s)))
        alerts = set(queue[:k])
        top = alerts | updating
        hits = sum(1 for p in pos if p in top)
        r.metrics[metric_key("recall", b)] = hits / len(pos)
        r.metrics[metric_key("precision", b)] = sum(1 for a in alerts if a in pos or a in incidental) / k
        r.caught[b] = sorted({a.scenario for a in attacks.itertuples() if (a.date, a.email) in top})
        r.missed[b] = sorted({a.scenario for a in attacks.itertuples() if (a.date, a.email) not in top})
        r.lookalikes_alerted[b] = sorted({x.scenario for x in benign.itertuples() if (x.date, x.email) in top})
    return r


def lookalike_decisions(labels: pd.DataFrame, scored_rows: pd.DataFrame, order: tuple[str, ...]) -> pd.DataFrame:
    """The decision each benign look-alike got, judged by its own episode.

    `scored_rows`: risk rows of either grain (date, email, grain, decision, action, resource_uid, and
    event_ids: the `_event_id`s of the row's evidence). `order`: the decisions from mildest to
    strictest. One row per look-alike label: `episode_decision`, the strictest over its identity-day
    row and the request rows whose evidence names one of its `event_ids` (every row of its
    identity-day when the label names no events); `day_decision`, the strictest over every row of its identity-day; and `other`, the rows
    stricter than the episode's, as "decision action resource" strings, so nothing is hidden."""
    rank = {d: i for i, d in enumerate(order)}
    cols = ["scenario", "email", "date", "episode_decision", "day_decision", "episode_rows", "other"]
    out: list[tuple[object, ...]] = []
    rows = scored_rows.assign(email=scored_rows["email"].fillna("").str.lower())
    by_day = {k: g for k, g in rows.groupby(["date", "email"])}
    for b in labels[labels["kind"] == "benign_lookalike"].itertuples():
        day = by_day.get((b.date, b.email))
        if day is None:
            out.append((b.scenario, b.email, b.date, None, None, 0, []))
            continue
        ids = set(b.event_ids or ())
        mine = [r for r in day.itertuples() if not ids or r.grain == "identity_day" or ids & set(r.event_ids if r.event_ids is not None else ())]
        worst = max((r.decision for r in mine), key=rank.__getitem__, default=None)
        day_worst = max(day["decision"], key=rank.__getitem__)
        other = [f"{r.decision} {r.action or ''} {r.resource_uid or ''}".strip() for r in day.itertuples()
                 if worst is not None and rank[r.decision] > rank[worst]]
        out.append((b.scenario, b.email, b.date, worst, day_worst, len(mine), sorted(set(other))))
    return pd.DataFrame(out, columns=cols)


def rows(r: Result, night: dt.date, run_id: str, model: str, version: str, role: str, heldout: tuple[dt.date, dt.date],
         budgets: tuple[float, ...], models_version: str) -> list[tuple[object, ...]]:
    """quality/backtest rows: one per budget (a single 'not measured' row when there is nothing to measure)."""
    base = (night, run_id, model, version, role, heldout[0], heldout[1], r.identity_days, r.positives)
    if not r.measured:
        return [(*base, None, None, None, None, None, [], [], [], r.false_deny_rate, r.note, models_version)]
    return [(*base, b, max(1, math.ceil(b * r.identity_days)), r.metrics[metric_key("recall", b)],
             r.metrics[metric_key("precision", b)], r.metrics["pr_auc"], r.caught[b], r.missed[b], r.lookalikes_alerted[b],
             r.false_deny_rate, r.note, models_version) for b in budgets]

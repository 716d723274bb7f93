"""Risk IO: the policy in force, tonight's signals, `gold/risk_scores` and `gold/policy_canary`."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.config import load as load_features
from features.identity import IDENTITY_FEATURES_DDL
from jobs.risk import incidents as I
from jobs.risk import score as S
from jobs.risk.policy import CURRENT, DECISIONS, LOOKALIKE_OK, Policy, PolicyError, load, parse
from jobs.silver.build import Night, conform, materialize, tonight_events, with_schema, write_snapshot
from models import backtest as BT
from models import tracking as TR
from ztlake import delta_io
from ztlake.tables import (
    BACKTEST,
    BEHAVIOUR_SCORES,
    DEVICE_FEATURES_DAILY,
    IDENTITY_FEATURES_DAILY,
    INCIDENTS,
    PEER_OUTLIERS,
    POLICY_CANARY,
    POLICY_LOG,
    RISK_SCORES,
    SEQUENCE_STEPS,
    Table,
    silver,
)

POLICY_LOG_DDL = "at timestamp, event string, policy_name string, policy_version string, mode string, path string, actor string, " \
                 "detail string, text string"
CANARY_DDL = (
    "date date, grain string, key string, user_uid string, email string, resource_uid string, action string, "
    "current_score double, candidate_score double, score_delta double, current_decision string, candidate_decision string, "
    "change string, current_policy_version string, candidate_policy_version string"
)


@dataclass
class InForce:
    policy: Policy
    refused: str | None = None  # why the file on disk was refused, when an earlier policy stays in force


def _log(n_spark, lake: str, event: str, p: Policy, path: Path, detail: str = "") -> None:  # type: ignore[no-untyped-def]
    row = [(dt.datetime.now(dt.UTC).replace(tzinfo=None), event, p.name, p.version, p.mode, str(path), os.environ.get("USER", "unknown"),
            detail, p.text)]
    delta_io.append(n_spark.createDataFrame(row, POLICY_LOG_DDL), POLICY_LOG.path(lake))


def policy_in_force(n: Night, path: Path | None = None) -> InForce:
    """The policy file if it validates (recorded in quality/policy_log the first time it is used);
    else the last accepted policy stays in force, and the refusal is returned to be shown."""
    path = path or CURRENT
    try:  # read once per run, and again only if the file changes
        memo = f"policy_in_force:{path}:{hash(Path(path).read_bytes())}"
    except OSError:
        memo = f"policy_in_force:{path}:unreadable"
    if memo not in n.memo:
        n.memo[memo] = _policy_in_force(n, path)
    return n.memo[memo]


def _policy_in_force(n: Night, path: Path) -> InForce:
    log = POLICY_LOG.path(n.lake)
    try:
        p = load(path)
    except PolicyError as e:
        if not delta_io.exists(n.spark, log):
            raise PolicyError(f"{e}\n(no earlier accepted policy to keep in force)") from e
        last = delta_io.read(n.spark, log).where(F.col("event").isin("accepted", "promoted")).orderBy(F.desc("at")).first()
        if last is None:
            raise
        return InForce(parse(last["text"], Path(last["path"])), refused=str(e))
    seen = delta_io.exists(n.spark, log) and delta_io.read(n.spark, log).where(
        (F.col("policy_version") == p.version) & F.col("event").isin("accepted", "promoted")).limit(1).count() > 0
    if not seen:
        _log(n.spark, n.lake, "accepted", p, path)
    return InForce(p)


def promote(n_spark, lake: str, candidate: Path, current: Path = CURRENT) -> Policy:  # type: ignore[no-untyped-def]
    """Validate the candidate, make it the enforced policy file, and log the promotion."""
    p = load(candidate)
    text = p.text.replace("mode: monitor", "mode: enforce") if p.mode == "monitor" else p.text
    enforced = parse(text, current)
    current.write_text(text)
    _log(n_spark, lake, "promoted", enforced, current, f"promoted from {candidate}")
    return enforced


def _optional(n: Night, table: Table) -> DataFrame | None:
    """Tonight's rows of a model output, or None when the model has not scored tonight."""
    if table not in n.frames and not delta_io.exists(n.spark, table.path(n.lake)):
        return None
    df = n.silver(table)
    return df if df.limit(1).count() else None


def tonight_features(n: Night) -> DataFrame:
    """Tonight's identity features. A feature added to the definitions after the lake's features were
    written reads as null (so a policy can be scored on an older night before it is rebuilt)."""
    return with_schema(n.silver(IDENTITY_FEATURES_DAILY), IDENTITY_FEATURES_DDL)


def score_night(n: Night, p: Policy, steps: DataFrame | None = None) -> DataFrame:
    """Both grains of the night under policy `p` (not written). `steps`: tonight_steps(n), if at hand."""
    feats = tonight_features(n)
    devs = n.silver(DEVICE_FEATURES_DAILY)
    fcfg = load_features()
    auth, api, store = tonight_events(n, "authentication"), tonight_events(n, "api_activity"), tonight_events(n, "datastore_activity")
    steps = tonight_steps(n) if steps is None else steps
    carried = S.carried_steps(n.previous(SEQUENCE_STEPS, S.STEPS_DDL), steps, p)
    signals = S.identity_signals(feats, devs, _optional(n, PEER_OUTLIERS), _optional(n, BEHAVIOUR_SCORES),
                                 S.sequence_hits(carried, p), fcfg.edr_expected_os).localCheckpoint()
    reqs = S.sensitive_requests(auth, api, store, n.silver(silver("resources")), fcfg.sensitive_levels)
    both = S.identity_day(n.night, signals, p).unionByName(S.requests(n.night, reqs, signals, devs, p, fcfg.edr_expected_os))
    return conform(both, S.RISK_DDL)


def tonight_steps(n: Night) -> DataFrame:
    """Tonight's events that can be a step of a sequence (the same for every policy)."""
    feats = tonight_features(n)
    devs = n.silver(DEVICE_FEATURES_DAILY)
    fcfg = load_features()
    auth, api, store = tonight_events(n, "authentication"), tonight_events(n, "api_activity"), tonight_events(n, "datastore_activity")
    changes = None
    for t in ("account_change", "entitlement_change"):
        if delta_io.exists(n.spark, silver(t).path(n.lake)):
            part = tonight_events(n, t).select("user_uid", "time", "_event_id", "vendor_event_type", F.lit(t).alias("_table"))
            changes = part if changes is None else changes.unionByName(part)
    if changes is None:
        changes = n.spark.createDataFrame([], "user_uid string, time timestamp, _event_id string, vendor_event_type string, _table string")
    return S.sequence_steps(auth, api, store, changes, feats, devs, n.cfg.privileged_policies, fcfg.travel_max_kmh,
                            fcfg.travel_min_distance_km)


def build_risk(n: Night, path: Path | None = None) -> tuple[DataFrame, InForce]:
    inforce = policy_in_force(n, path)
    steps = tonight_steps(n).localCheckpoint()
    risk = materialize(score_night(n, inforce.policy, steps))
    write_snapshot(n, RISK_SCORES, risk)
    # Tonight's sequence steps, so tomorrow's chains can start tonight (one partition per night).
    write_snapshot(n, SEQUENCE_STEPS, conform(steps.withColumn("date", F.lit(n.night)), S.STEPS_DDL))
    return n.keep(RISK_SCORES, risk), inforce


RISK_MODEL = "ztlake-risk-policy"  # MLflow experiment and quality/backtest `model` of the policy's decisions


def open_case_emails(n: Night, window_days: int) -> set[str]:
    """Identities with an incident open when the night starts (yesterday's snapshot, inside the window)."""
    live = I.open_at(n.previous(INCIDENTS, I.INCIDENTS_DDL), n.night, window_days)
    return {(r["email"] or "").lower() for r in live.select("email").distinct().collect()}


def lookalike_rows(risk: DataFrame, emails: set[str]) -> pd.DataFrame:
    """The risk rows of a few identities, as `models.backtest.lookalike_decisions` reads them."""
    mine = risk.where(F.lower("email").isin(*sorted(emails))) if emails else risk.limit(0)
    return mine.select("date", F.lower("email").alias("email"), "grain", "decision", "action", "resource_uid",
                       F.transform(F.coalesce("evidence", F.array().cast(I.EVIDENCE)), lambda e: e["_event_id"]).alias("event_ids")
                       ).toPandas()


def backtest_night(n: Night, risk: DataFrame, labels: pd.DataFrame, budgets: tuple[float, ...], run_id: str,
                   models_version: str, policy: Policy | None = None) -> BT.Result:
    """The policy's identity-day scores of the night against the labels: recall and precision at each
    alert budget, PR-AUC, and the false-deny rate of benign look-alikes (denied on their own episode:
    the identity-day row or a request row naming one of the episode's events; see
    `models.backtest.lookalike_decisions`). MLflow also gets the share held above step-up.
    The policy is not trained, so every night is held out. Written to quality/backtest and MLflow.

    Two readings, two `role`s: `policy` ranks every identity-day against the budget; `policy_new_cases`
    counts alerts as the incidents table raises them, so an identity whose incident is already open
    updates its case (caught if it scores the incident threshold) and takes no slot of the budget."""
    p = policy or policy_in_force(n).policy
    days: pd.DataFrame = risk.where(F.col("grain") == "identity_day").select("date", "email", "score").toPandas()
    result = BT.evaluate(days, labels, budgets)
    new_cases = BT.evaluate(days, labels, budgets, open_case_emails(n, p.incident_window_days), p.incident_min_score)
    benign = labels[(labels["kind"] == "benign_lookalike") & (labels["date"] == n.night)]
    if len(benign):
        judged = BT.lookalike_decisions(benign, lookalike_rows(risk, set(benign["email"])), DECISIONS)
        result.false_deny_rate = new_cases.false_deny_rate = float((judged["episode_decision"] == "deny").sum()) / len(benign)
        held = judged["episode_decision"].notna() & ~judged["episode_decision"].isin(LOOKALIKE_OK)  # no row: nothing held
        result.above_step_up_rate = float(held.sum()) / len(benign)
    first = risk.select("policy_version").first()
    version = str(first[0]) if first is not None else ""
    rows = [*BT.rows(result, n.night, run_id, RISK_MODEL, version, "policy", (n.night, n.night), budgets, models_version),
            *BT.rows(new_cases, n.night, run_id, RISK_MODEL, version, "policy_new_cases", (n.night, n.night), budgets, models_version)]
    delta_io.replace_where(n.spark, n.spark.createDataFrame(rows, BT.BACKTEST_DDL), BACKTEST.path(n.lake),
                           f"date = {delta_io.lit_date(n.night)} AND model = '{RISK_MODEL}'", ["date"])
    if result.measured or result.false_deny_rate is not None:
        c = TR.client(n.lake)
        mlflow.set_experiment(experiment_id=TR.experiment_id(c, n.lake, RISK_MODEL))
        with mlflow.start_run(run_name=f"policy backtest {n.night}"):
            mlflow.log_params({"night": str(n.night), "policy_version": version, "budgets": str(list(budgets))})
            mlflow.log_metrics({**result.metrics, **{f"new_cases_{k}": v for k, v in new_cases.metrics.items() if k != "pr_auc"},
                                **{k: v for k, v in (("false_deny_rate", result.false_deny_rate),
                                                     ("lookalike_above_step_up_rate", result.above_step_up_rate)) if v is not None}})
            mlflow.set_tag("caught_at_1pct", ", ".join(result.caught.get(0.01, [])))
            mlflow.set_tag("missed_at_1pct", ", ".join(result.missed.get(0.01, [])))
            mlflow.set_tag("new_cases_missed_at_1pct", ", ".join(new_cases.missed.get(0.01, [])))
    return result


def build_incidents(n: Night, min_score: float | None = None, window_days: int | None = None) -> DataFrame:
    """Tonight's high-risk rows folded into the open incidents (gold/incidents snapshot). The score
    threshold and the window are the policy's `incidents` settings unless given."""
    if min_score is None or window_days is None:
        p = policy_in_force(n).policy
        min_score = p.incident_min_score if min_score is None else min_score
        window_days = p.incident_window_days if window_days is None else window_days
    cases = I.tonight_cases(n.night, n.silver(RISK_SCORES), min_score)
    previous = n.previous(INCIDENTS, I.INCIDENTS_DDL)
    rolled = materialize(conform(I.roll(n.night, cases, previous, window_days), I.INCIDENTS_DDL))
    write_snapshot(n, INCIDENTS, rolled)
    return n.keep(INCIDENTS, rolled)


def _key(df: DataFrame) -> DataFrame:
    return df.withColumn("key", F.coalesce("request_uid", F.concat(F.lit("identity_day:"), F.col("user_uid"))))


def canary(n: Night, candidate: Policy, current: Policy | None = None) -> tuple[DataFrame, dict[str, object]]:
    """Score the night with the candidate beside the current policy; write every decision that would
    change (or whose score moves) to gold/policy_canary, and summarize."""
    cur = current or policy_in_force(n).policy
    a = _key(score_night(n, cur)).select("key", "grain", "user_uid", "email", "resource_uid", "action",
                                         F.col("score").alias("current_score"), F.col("decision").alias("current_decision"))
    b = _key(score_night(n, candidate)).select("key", F.col("score").alias("candidate_score"), F.col("decision").alias("candidate_decision"))
    rank = F.create_map(*[x for i, d in enumerate(DECISIONS) for x in (F.lit(d), F.lit(i))])
    diff = a.join(b, "key").where((F.col("current_decision") != F.col("candidate_decision"))
                                  | (F.abs(F.col("current_score") - F.col("candidate_score")) > 1e-9))
    diff = diff.select(
        F.lit(n.night).alias("date"), "grain", "key", "user_uid", "email", "resource_uid", "action", "current_score", "candidate_score",
        (F.col("candidate_score") - F.col("current_score")).alias("score_delta"), "current_decision", "candidate_decision",
        F.when(F.col("current_decision") == F.col("candidate_decision"), F.lit("score only")).when(
            rank[F.col("candidate_decision")] > rank[F.col("current_decision")], F.lit("stricter")).otherwise(F.lit("looser")).alias("change"),
        F.lit(cur.version).alias("current_policy_version"), F.lit(candidate.version).alias("candidate_policy_version"))
    delta_io.replace_where(n.spark, conform(diff, CANARY_DDL), POLICY_CANARY.path(n.lake),
                           f"date = {delta_io.lit_date(n.night)} AND candidate_policy_version = '{candidate.version}'", ["date"])
    written = delta_io.read(n.spark, POLICY_CANARY.path(n.lake)).where(
        (F.col("date") == F.lit(n.night)) & (F.col("candidate_policy_version") == candidate.version)).cache()
    counts_a = {r["current_decision"]: r["count"] for r in a.groupBy("current_decision").count().collect()}
    counts_b = {r["candidate_decision"]: r["count"] for r in b.groupBy("candidate_decision").count().collect()}
    changed = written.where(F.col("change") != "score only")
    def moved(decision: str, into: bool) -> int:
        col = "candidate_decision" if into else "current_decision"
        return changed.where(F.col(col) == decision).count()
    summary: dict[str, object] = {
        "current": cur.version, "candidate": candidate.version,
        "decisions_current": {d: counts_a.get(d, 0) for d in DECISIONS}, "decisions_candidate": {d: counts_b.get(d, 0) for d in DECISIONS},
        "changed_decisions": changed.count(), "score_only_changes": written.count() - changed.count(),
        "step_ups_added": moved("step_up", True), "step_ups_removed": moved("step_up", False),
        "denies_added": moved("deny", True), "denies_removed": moved("deny", False),
        "users_affected": sorted({r["email"] or r["user_uid"] for r in changed.select("email", "user_uid").distinct().collect()}),
    }
    return written, summary

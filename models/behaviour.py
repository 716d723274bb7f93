"""Isolation forest on identity-day behaviour, with per-score explanations.

Training (driver): a bounded, seeded sample of identity-days -> log1p-compressed features (the
scaling: one unit is an e-fold, whatever the feature's magnitude) -> `AboveTypical` (how far above
the training median; at or below is 0) -> IsolationForest. Scoring (executors): `score_frame` runs `mapInPandas` over every
identity-day with the model broadcast; nothing is collected to the driver.

Explanations are occlusion attributions: for each feature, the score the row would get if that
one feature were at its training median. The drop in anomaly when a feature is "made normal" is its
contribution; the features with the largest positive contributions are the row's top factors, told
in words against the identity's own baseline where one exists ("exported bytes 40x own baseline").
This is model-agnostic, exact for the fitted model (no surrogate), and cheap: one extra scoring
pass per feature.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline

# (feature column, plain-language name). Ratio columns are "tonight / own baseline".
FEATURES: tuple[tuple[str, str], ...] = (
    ("signins", "sign-ins"),
    ("signin_failures", "failed sign-ins"),
    ("mfa_denials", "MFA denials"),
    ("mfa_sms", "SMS MFA approvals"),
    ("distinct_devices", "devices used"),
    ("new_devices", "new devices"),
    ("unmanaged_devices_used", "unmanaged devices used"),
    ("distinct_countries", "countries"),
    ("new_countries", "new countries"),
    ("new_networks", "new networks"),
    ("impossible_travel_pairs", "impossible-travel pairs"),
    ("off_hours_share", "off-hours share of activity"),
    ("new_resources", "resources never used before"),
    ("rare_resources", "resources rare among peers"),
    ("sensitive_accesses", "sensitive-resource accesses"),
    ("privileged_actions", "privileged actions"),
    ("role_assumptions", "role assumptions"),
    ("iam_actions", "IAM calls"),
    ("iam_actions_denied", "denied IAM calls"),
    ("max_token_age_hours", "token age (hours)"),
    ("long_lived_key_uses", "long-lived access key uses"),
    ("long_lived_key_new_network_uses", "long-lived key uses from a new network"),
    ("export_bytes_ratio", "exported bytes"),
    ("read_rows_ratio", "rows read"),
    ("threat_intel_hits", "threat-intel hits"),
    ("days_since_last_activity", "days idle before tonight"),
    ("active_after_termination", "activity after termination"),
)
RATIO_FEATURES = {"export_bytes_ratio": "export_bytes", "read_rows_ratio": "read_rows"}
BASELINE_COLUMNS = {"mfa_denials": "mfa_denials_baseline", "iam_actions": "iam_actions_baseline",
                    "privileged_actions": "privileged_actions_baseline", "off_hours_share": "off_hours_share_baseline"}

# A factor must sit this far above the training median in log1p units (about 1%), so that a ratio of
# 0.000001 over a zero median is not "above typical".
MIN_ABOVE = 0.01

SCORES_DDL = (
    "date date, user_uid string, email string, anomaly_score double, percentile double, "
    "top_factors array<struct<feature:string,value:double,reference:double,contribution:double,direction:string,explanation:string>>, "
    "model_name string, model_version string, _features_version string"
)


def feature_names() -> list[str]:
    return [f for f, _ in FEATURES]


def matrix(pdf: pd.DataFrame) -> np.ndarray:
    """Feature columns as a float matrix: booleans as 0/1, missing as 0, counts and ratios log1p-compressed
    (so that 10x matters, not the raw magnitude)."""
    cols = []
    for f in feature_names():
        v = pd.to_numeric(pdf[f].astype("float64") if pdf[f].dtype == bool else pdf[f], errors="coerce").astype("float64").fillna(0.0)
        v = v.clip(lower=0)
        cols.append(v.to_numpy() if f == "off_hours_share" else np.log1p(v.to_numpy()))
    return np.column_stack(cols) if cols else np.empty((len(pdf), 0))


@dataclass
class BehaviourModel:
    """The fitted pipeline with what explanations and percentiles need."""

    pipeline: Pipeline
    reference: np.ndarray  # per-feature training median (transformed space)
    train_quantiles: np.ndarray  # anomaly score at training percentiles 0..100
    features: list[str] = field(default_factory=feature_names)

    def anomaly(self, x: np.ndarray) -> np.ndarray:
        """Higher = more anomalous (the negated isolation-forest score)."""
        return -np.asarray(self.pipeline.score_samples(x))

    def predict(self, pdf: pd.DataFrame) -> np.ndarray:
        return self.anomaly(matrix(pdf))

    def percentile(self, scores: np.ndarray) -> np.ndarray:
        return np.asarray(np.interp(scores, self.train_quantiles, np.linspace(0, 100, len(self.train_quantiles))))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        base = self.anomaly(x)
        out = np.zeros_like(x)
        for j in range(x.shape[1]):
            xj = x.copy()
            xj[:, j] = self.reference[j]
            out[:, j] = base - self.anomaly(xj)
        return out


class AboveTypical(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """One-sided centring: how far above the training median each (log-compressed) feature is; at or
    below typical is 0. Security cares about more than usual (idle time is a feature that grows), and
    it keeps the forest from isolating rows by noise in the quiet half of each distribution."""

    def fit(self, x: np.ndarray, y: object = None) -> AboveTypical:
        self.median_ = np.median(x, axis=0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(np.asarray(x) - self.median_, 0.0)


def fit(pdf: pd.DataFrame, n_estimators: int, max_samples: int, seed: int) -> BehaviourModel:
    x = matrix(pdf)
    pipe = Pipeline([("above_typical", AboveTypical()),
                     ("iforest", IsolationForest(n_estimators=n_estimators, max_samples=min(max_samples, len(x)), random_state=seed))])
    pipe.fit(x)
    model = BehaviourModel(pipe, np.median(x, axis=0), np.zeros(101))
    model.train_quantiles = np.percentile(model.anomaly(x), np.linspace(0, 100, 101))
    return model


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2g}"


def _num(v: object) -> float | None:
    if v is None or isinstance(v, str):
        return None
    f = float(v)  # type: ignore[arg-type]
    return None if math.isnan(f) else f


def explain(feature: str, raw: pd.Series, reference: float) -> str:
    """One factor in words, from the row's raw values: against the identity's own baseline where
    the feature has one, else against the typical (median) identity-day the model was trained on."""
    label = dict(FEATURES)[feature]
    value = _num(raw.get(feature)) or 0.0
    if feature in RATIO_FEATURES:
        amount = _num(raw.get(RATIO_FEATURES[feature])) or 0.0
        return f"{label} {_fmt(value)}x own baseline ({_fmt(amount)} tonight)"
    own = _num(raw.get(BASELINE_COLUMNS.get(feature, "")))
    if own is not None:
        return f"{label} {_fmt(value)} vs own baseline {_fmt(own)}"
    if feature == "active_after_termination":
        return f"active {int(_num(raw.get('days_after_termination')) or 0)} day(s) after termination"
    return f"{label} {_fmt(value)} (typical identity-day: {_fmt(reference)})"


def explain_frame(model: BehaviourModel, pdf: pd.DataFrame, top: int) -> tuple[np.ndarray, np.ndarray, list[list[dict[str, object]]]]:
    x = matrix(pdf)
    scores = model.anomaly(x)
    if top <= 0:
        return scores, model.percentile(scores), [[] for _ in range(len(pdf))]
    contrib = model.contributions(x)
    names = model.features
    factors: list[list[dict[str, object]]] = []
    for i in range(len(pdf)):
        # A factor must raise the score and sit above typical (AboveTypical ignores the rest).
        order = [j for j in np.argsort(-contrib[i]) if contrib[i, j] > 0 and x[i, j] > model.reference[j] + MIN_ABOVE][:top]
        row = pdf.iloc[i]
        items = []
        for j in order:
            direction = "above" if x[i, j] >= model.reference[j] else "below"
            untransform = (lambda v: float(v)) if names[j] == "off_hours_share" else (lambda v: float(np.expm1(v)))
            ref = untransform(model.reference[j])
            items.append({"feature": names[j], "value": untransform(x[i, j]), "reference": ref,
                          "contribution": float(contrib[i, j]), "direction": direction,
                          "explanation": explain(names[j], row, ref)})
        factors.append(items)
    return scores, model.percentile(scores), factors


def score_frame(features: DataFrame, model: BehaviourModel, model_name: str, model_version: str, top: int) -> DataFrame:
    """Every identity-day scored on the executors (`mapInPandas`, model broadcast once)."""
    spark = features.sparkSession
    blob = spark.sparkContext.broadcast(pickle.dumps(model))
    extra = [c for c in (*RATIO_FEATURES.values(), *BASELINE_COLUMNS.values(), "days_after_termination") if c in features.columns]
    cols = list(dict.fromkeys(["date", "user_uid", "email", "_features_version", *feature_names(), *extra]))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        m: BehaviourModel = pickle.loads(blob.value)
        for pdf in batches:
            if pdf.empty:
                continue
            scores, pct, factors = explain_frame(m, pdf, top)
            yield pd.DataFrame({"date": pdf["date"], "user_uid": pdf["user_uid"], "email": pdf["email"], "anomaly_score": scores,
                                "percentile": pct, "top_factors": factors, "model_name": model_name,
                                "model_version": model_version, "_features_version": pdf["_features_version"]})

    return features.select(*cols).mapInPandas(run, SCORES_DDL)


def training_sample(window: DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """A seeded sample of at most `max_rows` identity-days (only the feature columns reach the driver)."""
    n = window.count()
    df = window.select("date", "user_uid", "email", *feature_names())
    if n > max_rows:
        df = df.sample(fraction=min(1.0, 1.2 * max_rows / n), seed=seed).orderBy(F.rand(seed)).limit(max_rows)
    return df.toPandas()

"""The isolation forest: a seeded fit, distributed scoring that matches the driver, and
explanations that name the feature that made a row anomalous, in words."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models import behaviour as BH

NIGHT = dt.date(2026, 11, 5)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    n = 400
    # Like real identity-days: a few everyday volumes vary, the rare signals are zero.
    pdf = pd.DataFrame({f: np.zeros(n) for f in BH.feature_names()})
    for f, lam in (("signins", 4), ("distinct_devices", 1), ("distinct_countries", 1), ("sensitive_accesses", 3),
                   ("role_assumptions", 0.3), ("mfa_denials", 0.1)):
        pdf[f] = rng.poisson(lam, n).astype(float)
    pdf["off_hours_share"] = rng.uniform(0, 0.1, n)
    pdf["export_bytes_ratio"] = rng.uniform(0.5, 2.0, n)
    pdf["read_rows_ratio"] = rng.uniform(0.5, 2.0, n)
    pdf["export_bytes"] = 1e6
    pdf["read_rows"] = 1e3
    pdf["active_after_termination"] = False
    # Row 0 is the unmanaged-device export: a new unmanaged device, in the evening, exporting 2,400x its baseline.
    pdf.loc[0, ["export_bytes_ratio", "export_bytes", "new_devices", "unmanaged_devices_used", "off_hours_share"]] = [
        2400.0, 2.4e9, 1, 1, 0.8]
    pdf.loc[0, ["signins", "distinct_devices", "distinct_countries", "sensitive_accesses", "role_assumptions", "mfa_denials",
                "read_rows_ratio"]] = [4, 1, 1, 3, 0, 0, 1.2]  # otherwise an ordinary day
    pdf["date"] = NIGHT
    pdf["user_uid"] = [f"usr_{i}" for i in range(n)]
    pdf["email"] = [f"u{i}@example.com" for i in range(n)]
    pdf["_features_version"] = "t"
    return pdf


def test_fit_is_seeded(frame):
    a, b = BH.fit(frame, 100, 128, seed=5), BH.fit(frame, 100, 128, seed=5)
    np.testing.assert_allclose(a.predict(frame), b.predict(frame))


def test_outlier_is_explained_by_what_made_it_unusual(frame):
    model = BH.fit(frame, 100, 128, seed=5)
    scores, pct, factors = BH.explain_frame(model, frame.head(5), top=4)
    # Unusual in four ways at once: in the top decile of training identity-days (an isolation forest
    # ranks combinations; single spikes are the policy's explicit factors).
    assert pct[0] > 90 and (model.predict(frame) > scores[0]).mean() < 0.10
    named = {f["feature"]: f for f in factors[0]}
    assert set(named) == {"export_bytes_ratio", "new_devices", "unmanaged_devices_used", "off_hours_share"}
    assert all(f["direction"] == "above" and f["contribution"] > 0 for f in factors[0])
    assert named["export_bytes_ratio"]["explanation"] == "exported bytes 2,400x own baseline (2,400,000,000 tonight)"
    assert named["export_bytes_ratio"]["value"] == pytest.approx(2400.0)
    assert named["new_devices"]["explanation"] == "new devices 1 (typical identity-day: 0)"
    assert factors[1] == [] or all(f["contribution"] > 0 for f in factors[1])


def test_distributed_scoring_matches_the_driver(spark, frame):
    model = BH.fit(frame, 100, 128, seed=5)
    df = spark.createDataFrame(frame).repartition(3)
    scored = BH.score_frame(df, model, "m", "1", top=2).toPandas().sort_values("user_uid")
    expected = pd.Series(model.predict(frame), index=frame["user_uid"]).sort_index()
    assert len(scored) == len(frame)
    np.testing.assert_allclose(scored["anomaly_score"].to_numpy(), expected.loc[scored["user_uid"]].to_numpy())
    row0 = scored[scored["email"] == "u0@example.com"].iloc[0]
    assert row0["model_version"] == "1" and row0["model_name"] == "m" and len(row0["top_factors"]) == 2
    assert {f["feature"] for f in row0["top_factors"]} <= {"export_bytes_ratio", "new_devices", "unmanaged_devices_used",
                                                          "off_hours_share"}

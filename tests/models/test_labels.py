"""Labels are dated by the landing night their events are in, which is what the nightly job scores."""

import datetime as dt
import json

from models.backtest import label_days


def test_an_evening_west_of_utc_is_labelled_on_its_landing_night_not_its_utc_date(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in (
        {"scenario": "unmanaged_device_export", "kind": "attack", "identity": "Kai@Example.com", "start": "2026-11-05T01:30:00Z",
         "end": "2026-11-05T01:43:00Z", "event_ids": [], "night": "2026-11-04"},
        {"scenario": "mfa_fatigue", "kind": "attack", "identity": "old@example.com", "start": "2026-11-05T01:30:00Z",
         "end": "2026-11-05T01:43:00Z", "event_ids": []},  # an older label file without `night`
    )) + "\n")
    got = {r.email: r.date for r in label_days(path).itertuples()}
    assert got == {"kai@example.com": dt.date(2026, 11, 4), "old@example.com": dt.date(2026, 11, 5)}

"""`ztlake generate`: a deterministic synthetic enterprise, written in vendors' own log formats.

Same seed, same bytes. Output streams day by day, source by source.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

from ztlake.generator import sources
from ztlake.generator.org import _rng, person


@dataclass
class GenerationSummary:
    out: Path
    identities: int
    days: int
    files: int = 0
    records: dict[str, int] = field(default_factory=dict)
    malformed: int = 0

    def __str__(self) -> str:
        total = sum(self.records.values())
        per = ", ".join(f"{k}={v}" for k, v in sorted(self.records.items()))
        return (
            f"generated {total} records in {self.files} files under {self.out} "
            f"({self.identities} identities x {self.days} days; {self.malformed} deliberately malformed): {per}"
        )


class _Writer:
    """One landing file; JSON lines, optionally gzip-compressed (mtime fixed: byte-identical)."""

    def __init__(self, path: Path, gz: bool = False):
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = path.open("wb")
        self._raw = raw
        self._fh = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") if gz else raw
        self.count = 0

    def record(self, obj: dict) -> None:
        self.line(json.dumps(obj, separators=(",", ":"), sort_keys=False))

    def line(self, text: str) -> None:
        self._fh.write(text.encode() + b"\n")
        self.count += 1

    def close(self) -> None:
        if self._fh is not self._raw:
            self._fh.close()
        self._raw.close()


def generate(
    out: Path, identities: int, days: int, start: dt.date, seed: int = 7, labels: Path | None = None
) -> GenerationSummary:
    """Write `<out>/<source>/<YYYY-MM-DD>/<file>` for every source and day."""
    if identities < 10:
        raise ValueError("--identities must be at least 10")
    if days < 1:
        raise ValueError("--days must be at least 1")
    summary = GenerationSummary(out=out, identities=identities, days=days)
    for d in range(days):
        day = start + dt.timedelta(days=d)
        writers: dict[str, _Writer] = {}

        def writer(source: str, name: str, gz: bool = False, _day: dt.date = day) -> _Writer:
            key = f"{source}/{name}"
            if key not in writers:
                writers[key] = _Writer(out / source / _day.isoformat() / name, gz)
            return writers[key]

        okta = writer("okta", "okta_system_log.jsonl")
        ct = writer("cloudtrail", "cloudtrail.jsonl.gz", gz=True)
        for i in range(identities):
            p = person(seed, i)
            r = _rng(seed, "day", d, i)
            for event in sources.okta_day(seed, p, day, r):
                okta.record(event)
            for event in sources.cloudtrail_day(seed, p, day, r):
                ct.record(event)
        # Real-world mess: one truncated line per source per night.
        r = _rng(seed, "mess", d)
        okta.line('{"uuid": "' + f"{r.getrandbits(64):016x}" + '", "published": "' + day.isoformat())
        summary.malformed += 1
        for w in writers.values():
            w.close()
            summary.files += 1
            source = next(k.split("/")[0] for k, v in writers.items() if v is w)
            summary.records[source] = summary.records.get(source, 0) + w.count
    if labels is not None:
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text("")
    return summary

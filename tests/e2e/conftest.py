"""One generated enterprise for the end-to-end modules: a night that first arrives without its
directory and Entra feeds (the CLI's `ztlake run` must stop it at the joinability gate), then the
late feeds and a rerun of the whole nightly job through Dagster. test_silver_gate checks the gate and
what the rerun published; test_generated_org checks what landed in bronze from every source."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from ztlake import delta_io
from ztlake.cli import main
from ztlake.generator import generate
from ztlake.nightly import NightResult, run_nights
from ztlake.tables import BEHAVIOUR_SCORES, IDENTITY_FEATURES_DAILY, NIGHTLY_PUBLICATION, silver

NIGHT = dt.date(2026, 11, 2)  # a one-night enterprise: every scenario happens on it
IDENTITY_FEEDS = ("scim_users", "scim_groups", "entra_signin", "entra_audit")


@dataclass
class Enterprise:
    root: Path
    lake: str
    malformed: int
    gated_exit: int
    gated_stderr: str
    published_while_gated: list[bool]
    rerun: list[NightResult]
    labels: list[dict]


@pytest.fixture(scope="session")
def enterprise(spark, tmp_path_factory) -> Enterprise:
    root = tmp_path_factory.mktemp("enterprise")
    summary = generate(root / "landing", identities=40, days=1, start=NIGHT, seed=5, labels=root / "labels.jsonl")
    lake, home = str(root / "lake"), str(root / "dagster_home")
    held = root / "held"
    held.mkdir()
    for feed in IDENTITY_FEEDS:
        shutil.move(root / "landing" / feed / NIGHT.isoformat(), held / feed)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["run", "--landing", str(root / "landing"), "--lake", lake, "--date", NIGHT.isoformat(),
                     "--master", "local[2]", "--dagster-home", home])
    published_while_gated = [delta_io.exists(spark, t.path(lake)) for t in (NIGHTLY_PUBLICATION, silver("authentication"),
                                                                           IDENTITY_FEATURES_DAILY, BEHAVIOUR_SCORES)]
    for feed in IDENTITY_FEEDS:  # the feeds arrive late; the night is rerun and now passes
        shutil.move(held / feed, root / "landing" / feed / NIGHT.isoformat())
    rerun = run_nights(str(root / "landing"), lake, [NIGHT], master="local[2]", dagster_home=home, labels=str(root / "labels.jsonl"))
    labels = [json.loads(line) for line in (root / "labels.jsonl").read_text().splitlines()]
    return Enterprise(root, lake, summary.malformed, code, err.getvalue(), published_while_gated, rerun, labels)

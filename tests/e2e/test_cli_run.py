"""`ztlake run` end to end, through Dagster, on a tiny generated landing tree (the CLI's gated
night is in tests/e2e/test_silver_gate.py)."""

import datetime as dt
import json
import shutil

import pytest

from ztlake import delta_io
from ztlake.cli import main
from ztlake.generator import generate
from ztlake.tables import INGEST_AUDIT, QUARANTINE, bronze

START = dt.date(2026, 11, 2)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    generate(root / "landing", identities=40, days=1, start=START, seed=3)
    # Keep two sources so the run through Dagster stays quick; tests/e2e/conftest.py lands all.
    for source in (root / "landing").iterdir():
        if source.name not in ("okta", "cloudtrail"):
            shutil.rmtree(source)
    return root


def _args(tree, lake="lake", through="2026-11-02", layers=("--layers", "bronze")):
    return ["run", "--landing", str(tree / "landing"), "--lake", str(tree / lake), "--date", "2026-11-02",
            "--through", through, "--master", "local[2]", "--dagster-home", str(tree / "dagster_home"), *layers]


@pytest.fixture(scope="module")
def first_run(tree):
    assert main(_args(tree)) == 0
    return str(tree / "lake")


def _counts(spark, lake):
    tables = [bronze("okta"), bronze("cloudtrail"), QUARANTINE, INGEST_AUDIT]
    return {t.name: delta_io.read(spark, t.path(lake)).count() for t in tables}


def test_run_twice_through_dagster_leaves_identical_counts(spark, tree, first_run, capsys):
    lake = first_run
    first = _counts(spark, lake)
    assert first["okta"] > 0 and first["cloudtrail"] > 0
    assert main(_args(tree)) == 0
    out = capsys.readouterr().out
    assert "night 2026-11-02: ok" in out
    assert _counts(spark, lake) == first

    # The generator's malformed Okta line is quarantined once with its reason; every file reconciles.
    q = delta_io.read(spark, QUARANTINE.path(lake)).collect()
    assert len(q) == 1 and {r.reason for r in q} == {"record is not valid JSON (malformed or truncated)"}
    audit = delta_io.read(spark, INGEST_AUDIT.path(lake)).collect()
    assert audit and all(r.reconciled for r in audit)
    assert sum(r.records_read for r in audit) == sum(r.landed + r.duplicates + r.quarantined for r in audit)
    # Delta commits, not plain Parquet.
    history = spark.sql(f"DESCRIBE HISTORY delta.`{bronze('okta').path(lake)}`").collect()
    assert [h.operation for h in history] == ["WRITE"]  # the rerun found nothing new to commit
    # The runs are recorded in the Dagster instance, so the UI shows them.
    assert list((tree / "dagster_home").glob("history/runs*"))


def test_unknown_layer_is_a_readable_error(tree, capsys):
    assert main(_args(tree, layers=("--layers", "bronze,platinum"))) == 2
    assert "unknown layer(s) platinum" in capsys.readouterr().err


def test_delta_rs_reads_the_tables_without_a_jvm(spark, first_run):
    import deltalake

    for table in (bronze("okta"), bronze("cloudtrail"), QUARANTINE, INGEST_AUDIT):
        rows = deltalake.DeltaTable(table.path(first_run)).to_pyarrow_table().num_rows
        assert rows == delta_io.read(spark, table.path(first_run)).count(), table.name


def test_generator_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, identities=40, days=1, start=START, seed=11)
    generate(b, identities=40, days=1, start=START, seed=11)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    first = json.loads((a / "okta" / START.isoformat() / "okta_system_log.jsonl").read_text().splitlines()[0])
    assert first["actor"]["alternateId"].endswith("@example.com")


def test_cli_errors_are_readable_and_non_zero(tmp_path, capsys):
    code = main(["run", "--landing", str(tmp_path / "nope"), "--lake", str(tmp_path / "lake"), "--date", "2026-11-02"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: landing folder not found") and "Traceback" not in err
    code = main(["run", "--landing", str(tmp_path), "--lake", str(tmp_path), "--date", "2026-11-05", "--through", "2026-11-01"])
    assert code == 2 and "before --date" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["run", "--landing", "x", "--lake", "y", "--date", "11/02/2026"])
    assert exc.value.code == 2 and "not a date" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["run"], ["demo"], ["generate"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0 and "usage: ztlake" in capsys.readouterr().out

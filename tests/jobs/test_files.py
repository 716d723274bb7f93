"""The reader splits every container format into records with exact positions."""

import gzip
import json

from jobs.landing.files import list_files, read_records
from tests.conftest import NIGHT, write_landing


def _rows(spark, paths):
    return sorted(
        (r._source_file.rsplit("/", 1)[-1], r._line, r._record, r._file_error)
        for r in read_records(spark, [str(p) for p in paths]).collect()
    )


def test_json_array_object_and_records_envelope(spark, tmp_path):
    a = write_landing(tmp_path, "s", NIGHT, "a.json", json.dumps([{"x": 1}, {"x": 2, "y": {"z": [1]}}]))
    b = write_landing(tmp_path, "s", NIGHT, "b.json", json.dumps({"Records": [{"x": 3}, {"x": 4}]}, indent=2))
    c = write_landing(tmp_path, "s", NIGHT, "c.json", json.dumps({"x": 5}, indent=2))
    rows = _rows(spark, [a, b, c])
    assert [(f, line) for f, line, _, _ in rows] == [("a.json", 1), ("a.json", 2), ("b.json", 1), ("b.json", 2), ("c.json", 1)]
    assert json.loads(rows[1][2]) == {"x": 2, "y": {"z": [1]}}
    assert json.loads(rows[4][2]) == {"x": 5}


def test_jsonl_gz_keeps_line_numbers_and_skips_blank_lines(spark, tmp_path):
    body = '{"x":1}\n\n{"x":2}\nnot json\n'
    p = write_landing(tmp_path, "s", NIGHT, "d.jsonl.gz", gzip.compress(body.encode()))
    rows = _rows(spark, [p])
    assert [(line, rec) for _, line, rec, _ in rows] == [(1, '{"x":1}'), (3, '{"x":2}'), (4, "not json")]


def test_json_named_file_holding_json_lines_is_read_as_lines(spark, tmp_path):
    p = write_landing(tmp_path, "s", NIGHT, "e.json", '{"x":1}\n{"x":2}\n')
    assert [line for _, line, _, _ in _rows(spark, [p])] == [1, 2]


def test_truncated_json_array_is_one_file_level_error(spark, tmp_path):
    p = write_landing(tmp_path, "s", NIGHT, "f.json", '[{"x":1}, {"x":')
    rows = _rows(spark, [p])
    assert len(rows) == 1 and "not a valid JSON array" in rows[0][3]


def test_csv_rows_become_json_keyed_by_header(spark, tmp_path):
    p = write_landing(tmp_path, "s", NIGHT, "g.csv", 'id,name,note\n1,alpha,"a, quoted"\n2,beta,\n')
    rows = _rows(spark, [p])
    assert [(line, json.loads(rec)) for _, line, rec, _ in rows] == [
        (2, {"id": "1", "name": "alpha", "note": "a, quoted"}),
        (3, {"id": "2", "name": "beta", "note": None}),
    ]


def test_list_files_skips_label_sidecars_hidden_files_and_missing_dirs(spark, tmp_path):
    write_landing(tmp_path, "s", NIGHT, "a.jsonl", "{}\n")
    write_landing(tmp_path, "s", NIGHT, "x.LABELS.csv", "a,b\n")
    write_landing(tmp_path, "s", NIGHT, ".hidden.jsonl", "{}\n")
    found = list_files(spark, str(tmp_path / "s" / NIGHT.isoformat()))
    assert [f.path.rsplit("/", 1)[-1] for f in found] == ["a.jsonl"]
    assert list_files(spark, str(tmp_path / "missing")) == []

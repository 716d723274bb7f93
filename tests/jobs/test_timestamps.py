import datetime as dt

import pytest
from pyspark.sql import functions as F

from jobs.landing.timestamps import parse_timestamp

CASES = [
    # text, expected UTC, zone assumed
    ("2025-07-21T14:48:24.597Z", dt.datetime(2025, 7, 21, 14, 48, 24, 597000), False),
    ("2024-07-30T21:31:21Z", dt.datetime(2024, 7, 30, 21, 31, 21), False),
    ("2022-03-22T14:21:53.225+02:00", dt.datetime(2022, 3, 22, 12, 21, 53, 225000), False),
    ("2022-03-22T14:21:53+0200", dt.datetime(2022, 3, 22, 12, 21, 53), False),
    ("2022-09-25T16:16:37", dt.datetime(2022, 9, 25, 16, 16, 37), True),
    ("2022-03-22 14:21:53.225", dt.datetime(2022, 3, 22, 14, 21, 53, 225000), True),
    ("2022-09-30 15:11:25.000000000", dt.datetime(2022, 9, 30, 15, 11, 25), True),
    ("2019-01-01 00:20:04.000Z", dt.datetime(2019, 1, 1, 0, 20, 4), False),
    ("2020-11-05 21:21:46Z", dt.datetime(2020, 11, 5, 21, 21, 46), False),
    ("2024-01-15 10:30:00 UTC", dt.datetime(2024, 1, 15, 10, 30), False),
    ("1700000000", dt.datetime(2023, 11, 14, 22, 13, 20), False),
    ("1700000000.5", dt.datetime(2023, 11, 14, 22, 13, 20, 500000), False),
    ("1700000000123", dt.datetime(2023, 11, 14, 22, 13, 20, 123000), False),
    ("1700000000123456", dt.datetime(2023, 11, 14, 22, 13, 20, 123456), False),
]


@pytest.mark.parametrize("text,expected,assumed", CASES)
def test_every_vendor_convention_parses_to_utc(spark, text, expected, assumed):
    row = spark.createDataFrame([(text,)], "t string").select(parse_timestamp(F.col("t")).alias("r")).first()
    assert row.r.ts == expected
    assert row.r.zone_assumed is assumed


@pytest.mark.parametrize("text", ["redacted", "...", "", "2024-13-45T99:00:00Z", "yesterday", "12345"])
def test_unparseable_is_null_not_an_error(spark, text):
    row = spark.createDataFrame([(text,)], "t string").select(parse_timestamp(F.col("t")).alias("r")).first()
    assert row.r.ts is None


def test_numbers_as_json_numbers_parse(spark):
    df = spark.createDataFrame([('{"ts": 1700000000.25}',), ('{"ts": 1700000000123}',)], "j string")
    out = df.select(parse_timestamp(F.from_json("j", "ts string").getField("ts")).alias("r")).collect()
    assert [r.r.ts for r in out] == [dt.datetime(2023, 11, 14, 22, 13, 20, 250000), dt.datetime(2023, 11, 14, 22, 13, 20, 123000)]

"""Timestamp parsing for every convention vendors actually ship, as pure Spark Column expressions.

Handled: ISO 8601 with `Z` or an offset; ISO without a zone (taken as UTC and flagged);
`YYYY-MM-DD HH:MM:SS[.fff…]` with up to nanoseconds; epoch seconds (with or without a
fraction), epoch milliseconds and microseconds, as JSON numbers or strings.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

_ISO = r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2})?)(\.\d+)?\s*(Z|z|UTC|[+-]\d{2}:?\d{2})?$"
# Epoch numbers, including the scientific notation a JSON float turns into as text.
_NUMERIC = r"^\d+(\.\d+)?([eE][+-]?\d+)?$"


def parse_timestamp(value: Column) -> Column:
    """Return struct<ts: timestamp, zone_assumed: boolean>; `ts` is null when unparseable."""
    s = F.trim(value.cast("string"))
    iso = s.rlike(_ISO)
    zone = F.regexp_extract(s, _ISO, 5)
    normalized = F.regexp_replace(s, r"^(\d{4}-\d{2}-\d{2}) ", "$1T")
    normalized = F.regexp_replace(normalized, r"(\.\d{1,6})\d*", "$1")  # Spark keeps microseconds
    normalized = F.regexp_replace(normalized, r"\s*UTC$", "Z")
    normalized = F.regexp_replace(normalized, r"\s+([+-])", "$1")
    normalized = F.regexp_replace(normalized, r"([+-]\d{2})(\d{2})$", "$1:$2")
    number = s.try_cast("double")
    # Unit by magnitude: seconds until year ~5138, then milliseconds, then microseconds.
    seconds = (
        F.when(number < 1e8, F.lit(None))  # too small to be a real epoch time (e.g. "12345")
        .when(number < 1e11, number)
        .when(number < 1e14, number / 1e3)
        .when(number < 1e17, number / 1e6)
    )
    ts = F.when(s.rlike(_NUMERIC), F.timestamp_micros(F.round(seconds * 1e6).cast("bigint"))).when(
        iso, normalized.try_cast("timestamp")
    )
    return F.struct(ts.alias("ts"), (iso & (zone == "")).alias("zone_assumed"))

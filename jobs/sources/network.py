"""Zeek JSON logs (dns.log, conn.log): `ts` as ISO or epoch, and both `id.orig_h` (Zeek's own
JSON writer) and `id_orig_h` (many shippers) spellings."""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from jobs.landing.spec import Path, SourceSpec, s

ENDPOINTS = ("orig_h", "orig_p", "resp_h", "resp_p")


def _ids() -> list[StructField]:
    fields = []
    for name in ENDPOINTS:
        dtype = IntegerType() if name.endswith("_p") else StringType()
        fields += [StructField(f"id.{name}", dtype), StructField(f"id_{name}", dtype)]
    return fields


def _columns(schema: StructType) -> dict[str, tuple[Path, ...]]:
    """`ts`, `uid`, the four endpoint columns (either spelling), then the log's own fields."""
    own = {f.name: (f.name,) for f in schema.fields if not f.name.startswith("id") and f.name not in ("ts", "uid")}
    return {"ts": ("ts",), "uid": ("uid",), **{f"id_{n}": ((f"id.{n}",), f"id_{n}") for n in ENDPOINTS}, **own}


DNS = StructType(
    [
        s("ts"), s("uid"), *_ids(), s("proto"), StructField("trans_id", IntegerType()), StructField("rtt", DoubleType()),
        s("query"), StructField("qclass", IntegerType()), s("qclass_name"), StructField("qtype", IntegerType()),
        s("qtype_name"), StructField("rcode", IntegerType()), s("rcode_name"), StructField("AA", BooleanType()),
        StructField("TC", BooleanType()), StructField("RD", BooleanType()), StructField("RA", BooleanType()),
        StructField("answers", ArrayType(StringType())), StructField("TTLs", ArrayType(DoubleType())),
        StructField("rejected", BooleanType()),
    ]
)
# A dns.log line has no unique id of its own (one connection may carry several queries): the
# content hash identifies it.
DNS_SPEC = SourceSpec(name="zeek_dns", schema=DNS, columns=_columns(DNS), time_fields=("ts",), required=("id_orig_h",))

CONN = StructType(
    [
        s("ts"), s("uid"), *_ids(), s("proto"), s("service"), StructField("duration", DoubleType()),
        StructField("orig_bytes", LongType()), StructField("resp_bytes", LongType()), s("conn_state"),
        StructField("local_orig", BooleanType()), StructField("local_resp", BooleanType()),
        StructField("missed_bytes", LongType()), s("history"), StructField("orig_pkts", LongType()),
        StructField("orig_ip_bytes", LongType()), StructField("resp_pkts", LongType()),
        StructField("resp_ip_bytes", LongType()),
    ]
)
CONN_SPEC = SourceSpec(
    name="zeek_conn", schema=CONN, columns=_columns(CONN), id_fields=("uid",), time_fields=("ts",), required=("id_orig_h",)
)

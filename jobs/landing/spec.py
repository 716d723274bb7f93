"""What a source declares to the landing framework: its vendor schema, its keys, and its shapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pyspark.sql import Column
from pyspark.sql.types import ArrayType, DataType, MapType, StringType, StructField, StructType

# A path into the parsed record: "actor.id", or a tuple of parts for names that contain dots
# (Zeek's "id.orig_h").
Path = str | tuple[str, ...]


def parts(path: Path) -> tuple[str, ...]:
    return path if isinstance(path, tuple) else tuple(path.split("."))


def label(path: Path) -> str:
    return ".".join(parts(path)) if isinstance(path, str) else "`" + ".".join(path) + "`"


@dataclass(frozen=True)
class SourceSpec:
    """One vendor source.

    Attributes:
        name: the source (and bronze table) name, e.g. `okta`.
        schema: the vendor's documented record schema, declared once in the source's module.
        time_fields: bronze-column paths to the event time; the first present one wins.
        id_fields: bronze-column paths joined (with `|`) into the vendor's unique id; a content
            hash of the raw record when absent.
        required: bronze-column paths that must be present; a record lacking one is quarantined.
        columns: bronze column -> vendor paths coalesced in order (for vendors that ship the same
            field under several names or envelopes). Default: the schema's top-level fields.
        explode: container keys whose array items are the real records (`{"Resources": [...]}`),
            mapped to a record kind written into `kind_field` (or None to keep items as they are).
        kind_field: with `explode`, the field that receives each item's kind.
        snapshot: an inventory or directory: rows are the state as of the landing night, so the
            event time is the landing date and the id is the entity id plus the landing date.
        reject: given the parsed record `p`, a reason (string Column) to quarantine it, or null.
        case_insensitive_keys: accept field names that an upstream pipeline lower-cased.
    """

    name: str
    schema: StructType
    time_fields: tuple[Path, ...] = ()
    id_fields: tuple[Path, ...] = ()
    required: tuple[Path, ...] = ()
    columns: Mapping[str, tuple[Path, ...]] | None = None
    explode: Mapping[str, str | None] = field(default_factory=dict)
    kind_field: str | None = None
    snapshot: bool = False
    reject: Callable[[Column], Column] | None = None
    case_insensitive_keys: bool = True

    def __post_init__(self) -> None:
        if not self.snapshot and not self.time_fields:
            raise ValueError(f"source {self.name}: an event source needs time_fields")

    def column_paths(self) -> dict[str, tuple[Path, ...]]:
        if self.columns is not None:
            return dict(self.columns)
        return {f.name: (f.name,) for f in self.schema.fields}

    @property
    def bronze_columns(self) -> list[str]:
        return list(self.column_paths())


def lenient_schema(dtype: DataType) -> DataType:
    """The same schema with every non-string leaf read as text, so `"True"` or `"42"` from a
    loose producer parses; the caller casts back to the documented types."""
    if isinstance(dtype, StructType):
        return StructType([StructField(f.name, lenient_schema(f.dataType), True) for f in dtype.fields])
    if isinstance(dtype, ArrayType):
        return ArrayType(lenient_schema(dtype.elementType), True)
    if isinstance(dtype, MapType):
        return MapType(dtype.keyType, lenient_schema(dtype.valueType), True)
    return StringType()


def s(name: str) -> StructField:
    """A string field (most vendor fields are text)."""
    return StructField(name, StringType())


def struct(*fields: StructField | str) -> StructType:
    """A struct from fields, where a bare name is a string field."""
    return StructType([f if isinstance(f, StructField) else s(f) for f in fields])


def envelope(inner: StructType, envelope_fields: StructType, key: str = "properties") -> tuple[StructType, dict[str, tuple[Path, ...]]]:
    """Schema and column mapping for a vendor that ships the same record bare, or wrapped in an
    envelope that nests it under `key` (Azure diagnostic settings: `time`, `category`, `properties`).

    Bronze gets the inner record's fields (taken from `key.<field>` first, then the bare field) plus
    the envelope's own fields prefixed `diagnostic_`.
    """
    inner_names = {f.name for f in inner.fields}
    schema = StructType(
        [*inner.fields, *[f for f in envelope_fields.fields if f.name not in inner_names], StructField(key, inner)]
    )
    columns: dict[str, tuple[Path, ...]] = {f.name: (f"{key}.{f.name}", f.name) for f in inner.fields}
    columns.update({f"diagnostic_{f.name}": ((f.name,),) for f in envelope_fields.fields})
    return schema, columns

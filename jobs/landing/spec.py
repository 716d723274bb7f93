"""What a source declares to the landing framework: its vendor schema and its keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql.types import ArrayType, DataType, MapType, StringType, StructField, StructType


@dataclass(frozen=True)
class SourceSpec:
    """One vendor source.

    Attributes:
        name: the source (and bronze table) name, e.g. `okta`.
        schema: the vendor's documented record schema, declared once in the source's module.
        id_field: dotted path to the vendor's unique event id, or None to use a content hash.
        time_field: dotted path to the event time.
        required: dotted paths that must be present; a record lacking one is quarantined.
        case_insensitive_keys: accept field names that an upstream pipeline lower-cased.
    """

    name: str
    schema: StructType
    time_field: str
    id_field: str | None = None
    required: tuple[str, ...] = field(default_factory=tuple)
    case_insensitive_keys: bool = True

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.schema.fields]


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

"""One module per vendor source: its documented schema (declared once) and its landing spec."""

from __future__ import annotations

from jobs.landing.spec import SourceSpec
from jobs.sources import cloudtrail, okta

SOURCES: dict[str, SourceSpec] = {spec.name: spec for spec in (okta.SPEC, cloudtrail.SPEC)}

"""Daily partitions (UTC): a nightly run processes one landing date."""

from dagster import DailyPartitionsDefinition

DAILY = DailyPartitionsDefinition(start_date="2020-01-01", timezone="UTC")

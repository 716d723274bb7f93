"""The landing framework: read raw files, parse against declared vendor schemas, land or quarantine."""

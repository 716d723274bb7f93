#!/usr/bin/env bash
# Fetch the Delta Lake runtime jars from Maven Central into .cache/jars (git-ignored).
# Explicit and cached: Spark never downloads anything at session start.
set -euo pipefail
cd "$(dirname "$0")/.."
JAR_DIR=.cache/jars
STAMP="$JAR_DIR/.complete-$(sha256sum setup/delta-jars.pom.xml | cut -c1-16)"
if [ -f "$STAMP" ]; then
  echo "delta jars: cached in $JAR_DIR"
  exit 0
fi
command -v mvn >/dev/null || { echo "error: Maven (mvn) is required to fetch the Delta Lake jars; install it (apt-get install maven)" >&2; exit 1; }
rm -rf "$JAR_DIR" && mkdir -p "$JAR_DIR"
mvn -q -B -f setup/delta-jars.pom.xml dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$PWD/$JAR_DIR"
ls "$JAR_DIR"/delta-spark_*.jar >/dev/null
touch "$STAMP"
echo "delta jars: fetched into $JAR_DIR: $(ls "$JAR_DIR" | grep -c '\.jar$') jars"

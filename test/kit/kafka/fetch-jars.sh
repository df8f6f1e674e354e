#!/bin/sh
# Fetches the Apache Kafka broker jars named in pom.xml (beside this script) from Maven Central
# into a cache folder reused by every test run, and prints that folder's libs/ path.
#
#   sh test/kit/kafka/fetch-jars.sh      # CI may call it up front; the test kit calls it when needed
#
# Cache: $SLUICE_KAFKA_CACHE, else ~/.cache/sluice-kafka; one folder per Kafka version and pom
# content, so editing the pom fetches again. flock(1) serialises concurrent test processes (a
# kernel lock: a killed fetch never leaves a stale lock), and the jars appear under libs/ only
# once complete, so a half-finished fetch is never used.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pom="$here/pom.xml"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
digest=$(sha256sum "$pom" | cut -c1-12)
cache="${SLUICE_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice-kafka}/$version-$digest"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 900 9
if [ ! -f "$cache/libs/.complete" ]; then
  rm -rf "$cache/libs.partial"
  # Maven's own output goes to stderr: stdout carries only the path.
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$cache/libs.partial" 1>&2
  touch "$cache/libs.partial/.complete"
  rm -rf "$cache/libs"
  mv "$cache/libs.partial" "$cache/libs"
fi
echo "$cache/libs"

#!/bin/sh
# Records which classes a Kafka broker loads while it starts, into a CDS archive that later
# broker JVMs map instead of loading those classes again (-XX:SharedArchiveFile): a broker then
# starts in about 60 % of the time. Run once per jar cache by test/kit/kafkaClassArchive.ts,
# under the cache's lock:
#
#   sh make-class-archive.sh <archive> <log> java -XX:ArchiveClassesAtExit=<archive>.partial <flags> \
#     -cp 'libs/*' kafka.Kafka server.properties
#
# Java 17 writes the archive when the JVM exits normally, so the broker is started, given a
# SIGTERM once it says it started, and left to shut down.
set -u
archive=$1
log=$2
shift 2
[ -f "$archive" ] && exit 0
rm -f "$archive.partial"
"$@" </dev/null >"$log" 2>&1 &
jvm=$!
i=0
until grep -q 'Kafka Server started' "$log" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt 1200 ] || ! kill -0 "$jvm" 2>/dev/null; then
    kill -KILL "$jvm" 2>/dev/null
    echo "the broker did not start; see $log" >&2
    exit 1
  fi
  sleep 0.1
done
kill -TERM "$jvm"
wait "$jvm"
[ -s "$archive.partial" ] || { echo "the JVM wrote no class archive; see $log" >&2; exit 1; }
mv "$archive.partial" "$archive"

#!/bin/sh
# Runs one Kafka node (the java command in "$@") and ties its life to the test process that
# started it: the test kit spawns this script in a process group of its own with a pipe as
# stdin, and keeps that pipe open while it wants the node. When the pipe closes (the test
# process exited, crashed or was SIGKILLed, so no exit hook ran), the JVM is SIGKILLed and
# $1, the cluster's temp folder, is removed. The kit's own stop/kill signal the whole group.
#
#   sh run-node.sh /tmp/sluice-kafka-XXXX java -cp 'libs/*' kafka.Kafka server.properties
set -u
root=$1
shift
exec 3<&0
"$@" </dev/null &
jvm=$!
# Explicit <&3: a background job's stdin would otherwise be /dev/null.
(
  while read -r _; do :; done
  touch "$root/.orphaned"
  kill -KILL "$jvm" 2>/dev/null
) <&3 &
watcher=$!
exec 3<&-
# SIGTERM to the group asks for Kafka's controlled shutdown: pass it on and keep waiting, so
# this process (the one the kit watches) exits only after the JVM has.
trap 'kill -TERM "$jvm" 2>/dev/null' TERM
wait "$jvm"
code=$?
while kill -0 "$jvm" 2>/dev/null; do
  wait "$jvm"
  code=$?
done
kill "$watcher" 2>/dev/null
if [ -e "$root/.orphaned" ]; then rm -rf "$root"; fi
exit "$code"

#!/bin/sh
# Builds the librdkafka mock-cluster helper used by Sluice's Kafka tests:
#   test/kit/mock-broker.c -> test/kafka/build/mock-broker (git-ignored).
# Rebuilds only when the binary is missing or older than the source.
# Needs gcc and Debian's librdkafka-dev (header librdkafka/rdkafka_mock.h).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/test/kit/mock-broker.c"
out_dir="$root/test/kafka/build"
out="$out_dir/mock-broker"

if [ -x "$out" ] && [ ! "$src" -nt "$out" ]; then
  exit 0
fi

if ! command -v gcc >/dev/null 2>&1; then
  echo "build-mock-broker: gcc not found (apt-get install gcc)" >&2
  exit 1
fi

# Locate the header the way the compiler will, so a non-default prefix works.
if ! printf '#include <librdkafka/rdkafka.h>\n#include <librdkafka/rdkafka_mock.h>\n' |
  gcc -E -x c - -o /dev/null 2>/dev/null; then
  echo "build-mock-broker: librdkafka/rdkafka_mock.h not found;" \
    "install it with: apt-get install librdkafka-dev" >&2
  exit 1
fi

mkdir -p "$out_dir"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
gcc -O2 -Wall -Wextra -o "$tmp" "$src" -lrdkafka
mv -f "$tmp" "$out"
echo "build-mock-broker: built $out" >&2

#!/bin/sh
# Builds Jaeger v2 (the `jaeger` binary of github.com/jaegertracing/jaeger/cmd/jaeger, module
# tag v1.76.0 = Jaeger v2 of that release) from source through the Go module proxy, for
# test/runtime/telemetry/jaeger.test.ts. Cached: does nothing when the binary is there.
#
#   sh test/kit/jaeger/build-jaeger.sh        # prints the binary's path
#
# `go install <module>/cmd/jaeger@v1.76.0` is refused ("the go.mod file ... contains one or more
# replace directives"), so the module's source is downloaded and built as the main module.
# Measured on the 2-core machine (GOFLAGS=-p=1, nice 19, other work running): 35 s and 254 MB
# of module zips (1.3 GB unpacked), then 515 s of compiling (a 1.6 GB build cache); the binary
# is 122 MB. Too slow for every CI run on a fresh machine: see docs/observability.md.
set -eu
VERSION=v1.76.0
CACHE="${SLUICE_JAEGER_CACHE:-$HOME/.cache/sluice-jaeger}/$VERSION"
if [ -x "$CACHE/jaeger" ]; then echo "$CACHE/jaeger"; exit 0; fi
command -v go >/dev/null 2>&1 || { echo "build-jaeger: needs Go (https://go.dev/dl) on PATH" >&2; exit 1; }
mkdir -p "$CACHE"
dir=$(go mod download -json "github.com/jaegertracing/jaeger@$VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
(cd "$work/src" && go build -o "$CACHE/jaeger.partial" ./cmd/jaeger)
mv "$CACHE/jaeger.partial" "$CACHE/jaeger"
echo "$CACHE/jaeger"

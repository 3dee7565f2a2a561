#!/bin/sh
# Runs every libFuzzer target of a fuzz build for SECONDS each, starting
# from a scratch copy of its seed corpus (the checked-in seeds are not
# modified). Usage: fuzz/run.sh BUILD_DIR [SECONDS]
set -eu
build=${1:?usage: fuzz/run.sh BUILD_DIR [SECONDS]}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "$build"/fuzz/fuzz_*; do
	name=$(basename "$f" | sed 's/^fuzz_//')
	mkdir -p "$work/$name"
	cp "$here/corpus/$name"/* "$work/$name/"
	echo "fuzz: $name for ${secs}s"
	"$f" -max_total_time="$secs" -print_final_stats=1 "$work/$name" \
		2>&1 | tail -n 5
done

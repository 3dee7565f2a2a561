#!/bin/sh
# Every symbol libota.so exports must be part of its public API, which is
# named ota_* (house-style §2.3): the library is built with
# -fvisibility=hidden and OTA_API marks what is public. Lists offenders
# and fails if there are any; prints the exports otherwise.
#
# usage: check-symbols.sh LIBOTA.SO
set -eu

lib=$1
if [ ! -f "$lib" ]; then
	echo "check-symbols: no '$lib'" >&2
	exit 1
fi
exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDRBVW]$/ { print $3 }' |
    grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$' | sort)
bad=$(echo "$exports" | grep -v '^ota_' || true)
if [ -n "$bad" ]; then
	echo "check-symbols: $lib exports symbols outside the API:" >&2
	echo "$bad" | sed 's/^/  /' >&2
	exit 1
fi
echo "$lib exports $(echo "$exports" | wc -l) symbols, all ota_*:"
echo "$exports" | sed 's/^/  /'

#!/bin/sh
# Cross-compiles libota's portable core (the engine, feed parsing, version
# policy, verification, manifests, JSON) for a Cortex-M4 microcontroller
# with arm-none-eabi-gcc -Os against newlib, and reports its size.
#
# It proves what include/ota/updater.h promises: the core needs no libcurl,
# no OpenSSL and no POSIX. It fails if a source does not build, or if the
# objects need any symbol outside the C library functions listed below
# (everything else must come through the transport, storage and crypto ops).
# A small program that drives ota_update is then linked with newlib-nano
# and --gc-sections, to report what a device image pays.
#
# usage: core-cross.sh SOURCE_DIR FILE.c...   (paths relative to SOURCE_DIR)
set -eu

src=$1
shift
CC=${OTA_CROSS_CC:-arm-none-eabi-gcc}
prefix=${CC%gcc}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "core-cross: $CC not found: run scripts/install-deps.sh" >&2
	exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM

cflags="-Os -std=c11 -mcpu=cortex-m4 -mthumb -ffunction-sections
-fdata-sections -Wall -Wextra -Wshadow -Wstrict-prototypes
-Wmissing-prototypes -Wformat=2 -Wpointer-arith -Wvla -Wundef
-Wno-unused-parameter -Werror -I$src/include -I$src/src"

# newlib-nano's printf has neither long long nor size_t conversions: in
# the core, such a directive would print garbage and misread the rest.
if grep -n '%[-+ #0-9.]*\(ll\|z\|j\)[diouxX]' $(for f in "$@"; do
    echo "$src/$f"; done) >"$out/fmt" 2>/dev/null; then
	echo "core-cross: %ll, %z or %j in the core (newlib-nano lacks them):" >&2
	sed 's/^/  /' "$out/fmt" >&2
	exit 1
fi

for f in "$@"; do
	o="$out/$(echo "$f" | tr / _ | sed 's/\.c$/.o/')"
	# shellcheck disable=SC2086
	$CC $cflags -c "$src/$f" -o "$o"
done
"${prefix}ar" rcs "$out/libotacore.a" "$out"/*.o

# What the objects need from outside themselves.
"${prefix}nm" -g --defined-only "$out"/*.o | awk 'NF == 3 { print $3 }' |
    sort -u >"$out/defined"
"${prefix}nm" -u "$out"/*.o | awk 'NF == 2 { print $2 }' | sort -u |
    comm -23 - "$out/defined" >"$out/needed"
allowed='^(malloc|calloc|realloc|free|memcpy|memmove|memset|memcmp|memchr|strlen|strcmp|strncmp|strchr|strrchr|strcspn|strspn|strstr|snprintf|vsnprintf|qsort|bsearch|__errno|__aeabi_[a-z0-9_]+)$'
if grep -Ev "$allowed" "$out/needed" >"$out/foreign"; then
	echo "core-cross: the core needs symbols outside the C library:" >&2
	sed 's/^/  /' "$out/foreign" >&2
	exit 1
fi

echo "libota core, arm-none-eabi-gcc -Os -mcpu=cortex-m4 -mthumb:"
"${prefix}size" -t "$out/libotacore.a" | awk '
	NR == 1 { printf "  %-28s %8s %6s %6s\n", "object", "text", "data", "bss"; next }
	{ name = $6; sub(/ \(ex .*/, "", name)
	  if ($6 == "(TOTALS)") name = "total"
	  printf "  %-28s %8d %6d %6d\n", name, $1, $2, $3 }'
echo "  C library symbols used: $(tr '\n' ' ' <"$out/needed")"

# A device image: ota_update over ops that do nothing, so the linker
# keeps every path of the engine; the C library is newlib-nano.
cat >"$out/image.c" <<'EOC'
#include <stddef.h>
#include <ota/updater.h>

int main(void);

int
main(void)
{
	static const struct ota_transport t;
	static const struct ota_storage s;
	static const struct ota_crypto c;
	struct ota_config cfg = { .transport = &t, .storage = &s,
	    .crypto = &c };
	struct ota_updater *u;
	struct ota_report rep;
	struct ota_state st;
	char err[128];
	bool rolled;

	if (ota_updater_new(&u, &cfg) != OTA_OK)
		return 1;
	(void)!ota_update(u, "app", false, 0, &rep, err, sizeof(err));
	(void)!ota_confirm(u, "app", err, sizeof(err));
	(void)!ota_rollback(u, "app", err, sizeof(err));
	(void)!ota_started(u, "app", 3, 0, &rolled, err, sizeof(err));
	(void)!ota_state_get(u, "app", &st, err, sizeof(err));
	ota_updater_free(u);
	return 0;
}
EOC
# shellcheck disable=SC2086
$CC $cflags -c "$out/image.c" -o "$out/image.o"
$CC -mcpu=cortex-m4 -mthumb --specs=nano.specs --specs=nosys.specs \
    -Wl,--gc-sections -o "$out/image.elf" "$out/image.o" \
    "$out/libotacore.a" 2>"$out/link.log" || {
	cat "$out/link.log" >&2
	exit 1
}
"${prefix}size" "$out/image.elf" | awk 'NR == 2 {
	printf "  linked image with newlib-nano (--gc-sections): text %d, data %d, bss %d\n", $1, $2, $3 }'
